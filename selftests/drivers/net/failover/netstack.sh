#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest's own network stack (issue 28): Debian 12's systemd-udevd,
# systemd-networkd, NetworkManager, ifupdown with dhclient and cloud-init, run
# inside the guest as a cloud image runs them, on a failover guest. A DHCP
# server (dnsmasq) on the peer's bridge hands out 192.0.2.100-199.
#
#   stack_boot          the packages mounted over the guest's /etc, /usr and
#                       /var (the host has none of them: NF_NETSTACK_ROOT,
#                       made by scripts/netstack-root.sh), our udev rules
#                       installed (NF_NETSTACK_FIX=1, the default),
#                       systemd-udevd started, then the drivers loaded by
#                       udev's coldplug as at boot: the master, the standby
#                       and the e1000e primary get udev's names
#   cloudinit_detect    cloud-init's own functions tell the three apart
#                       (is_netfail_master/standby/primary), list one device
#                       for the MAC (no "duplicate mac found!") and render a
#                       fallback config that matches the master by name
# then stacks (networkd: a match-all DHCP .network; cloudinit: the networkd
# config cloud-init renders; nm: NetworkManager's default config; ifupdown:
# a stanza with inet dhcp written for every interface that appears, as
# Debian's cloud images do) at moments:
#   STACK_boot          the stack started on the booted guest
#   STACK_vf_replug     the e1000e unplugged and plugged back (QMP) under a
#                       ping from the master's address
#   STACK_rename        the primary renamed while UP (to nfpriN)
# make test runs the cases below (about 10 minutes); NF_NETSTACK_FULL=1 (make
# netstack) every stack at every moment. Each moment is checked the same
# way: exactly one DHCP lease on the server, an IPv4 address from it on the
# master, no address (not even link-local) on either slave, no DHCP, router
# solicitation or duplicate-address probe sent by a slave on its own
# (pktorigin.py), pings from the master's address answered through the
# master, and the primary enslaved. One "figure: netstack:" line per moment
# gives the matrix.
#
# NF_NETSTACK_FIX=0 runs the stacks without our udev rules, networkd file and
# ifupdown guard (Documentation/networking/net_failover_rust-*, "The guest's
# network stack" in net_failover_rust.rst): what a stock image does; the
# checks then report what goes wrong instead of passing.

ALL_TESTS="
	stack_boot
	cloudinit_detect
	networkd_boot
	ifupdown_boot
	ifupdown_vf_replug
	nm_boot
	nm_vf_replug
	nm_rename
"
if [ "${NF_NETSTACK_FULL:-0}" = 1 ]; then
	ALL_TESTS="stack_boot cloudinit_detect"
	for st in networkd cloudinit nm ifupdown; do
		ALL_TESTS="$ALL_TESTS ${st}_boot ${st}_vf_replug ${st}_rename"
	done
fi
NF_BRINGUP=0

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

FIX=${NF_NETSTACK_FIX:-1}
# our files: beside this script (installed), else in the tree
for DOC in "$lib_dir" "$lib_dir/../../../../Documentation/networking" \
	"$lib_dir/../../../../../../Documentation/networking"; do
	[ -f "$DOC/net_failover_rust-slaves.rules" ] && break
done
# seconds a moment is watched after the master has its address: long
# enough for every client started on a slave to send (they all send at once)
SETTLE=${NF_NETSTACK_SETTLE:-12}
STACK=            # the stack running now
SNIFF_PID=
SNIFF_OUT=/tmp/nf-netstack-origin.txt
OWN_BEFORE=0      # the slaves' own frames when the moment began
STACK_OK=0        # stack_boot: 1 passed, skip skipped, 0 failed
IFUP_LOOP=        # ifupdown: the loop that runs ifup for queued interfaces

# --- the userspace --------------------------------------------------------

# the packages over /etc, /usr and /var (overlays on the guest's own, with
# a tmpfs for what changes); our files; systemd-udevd with its coldplug
stack_install()
{
	local d m i t up=/run/nf-netstack
	local -a subs=()
	mkdir -p "$up" && mount -t tmpfs nf-netstack "$up" || return 1
	# virtme-ng's mounts below them (the kernel's modules on /usr/lib/modules,
	# files bound over /etc, tmpfs on /var/*): an overlay of the directory
	# hides them, so they are bound again on top of it (not its overlays:
	# the one on /usr/lib lies under the one on /usr already)
	while read -r _ m t _; do
		[ "$t" != overlay ] || continue
		case $m in /etc/* | /usr/* | /var/*) subs+=("$m") ;; esac
	done < /proc/self/mounts
	mkdir -p "$up/hold"
	for i in "${!subs[@]}"; do
		if [ -d "${subs[i]}" ]; then mkdir "$up/hold/$i"; else : > "$up/hold/$i"; fi
		mount --bind "${subs[i]}" "$up/hold/$i" || return 1
	done
	for d in etc usr var; do
		# (none: the host has the packages, the guest sees them)
		[ -d "$NF_NETSTACK_ROOT/$d" ] || continue
		mkdir -p "$up/$d" "$up/$d.work" &&
			mount -t overlay "nf-netstack-$d" \
				-o "lowerdir=$NF_NETSTACK_ROOT/$d:/$d,upperdir=$up/$d,workdir=$up/$d.work" "/$d" ||
			return 1
	done
	for i in "${!subs[@]}"; do
		mount --bind "$up/hold/$i" "${subs[i]}" || nf_diag "cannot bind ${subs[i]} again"
	done
	for m in /lib/systemd/systemd-udevd /usr/sbin/NetworkManager /sbin/ifup; do
		[ -x "$m" ] || { nf_diag "$m missing after mounting $NF_NETSTACK_ROOT"; return 1; }
	done
	if [ "$FIX" = 1 ]; then
		[ -f "$DOC/net_failover_rust-slaves.rules" ] || {
			nf_diag "our udev rules (Documentation/networking/net_failover_rust-*) not found"
			return 1
		}
		install -m 644 "$DOC/net_failover_rust-slaves.rules" /etc/udev/rules.d/75-net-failover-slaves.rules &&
			install -m 644 "$DOC/net_failover_rust-slaves.network" \
				/etc/systemd/network/05-net-failover-slaves.network || return 1
	fi
	# ifupdown-hotplug waits for lo; dhclient-script and NM want these
	ip link set lo up
	mkdir -p /run/network/interfaces.d /var/lib/dhcp /run/systemd/network /run/NetworkManager
	# (not --daemon: its wait for the daemon's reply times out in a loaded
	# guest while the daemon itself starts fine)
	/lib/systemd/systemd-udevd > /dev/null 2>&1 &
	nf_wait 120 eval 'udevadm control --ping 2> /dev/null' ||
		{ nf_diag "systemd-udevd did not answer"; return 1; }
	udevadm trigger --type=subsystems --action=add
	udevadm trigger --type=devices --action=add
	udevadm settle --timeout=120
}

# the DHCP server on the peer's bridge, a new one (and lease file) per stack
# (read on the host: a file the host rewrites may be read back stale
# through the guest's 9p cache)
dhcp_start()
{
	local try
	host_do peer_kill dnsmasq > /dev/null 2>&1
	host_do peer "rm -f $(printf %q "$(lease_file "$1")") $(printf %q "$(nf_host_path peer-dnsmasq.log)")" \
		> /dev/null 2>&1
	# (again if the old server still held the port: the new one exits)
	for try in 1 2 3; do
		nf_sleep 1
		host_do peer_bg dnsmasq dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
			--interface=nfbr0 --bind-interfaces \
			--dhcp-range=192.0.2.100,192.0.2.199,255.255.255.0,1h \
			--dhcp-leasefile="$(lease_file "$1")" --log-dhcp --log-facility=- \
			--user=root > /dev/null || return 1
		nf_wait 10 nf_peer_log_has dnsmasq "DHCP, IP range" && return 0
		host_do peer_kill dnsmasq > /dev/null 2>&1
	done
	return 1
}
# lease_file STACK: the server's lease file for STACK, as the host sees it
lease_file() { nf_host_path "netstack-$1.leases"; }
# the server's leases for our MAC (a lease per client identifier)
leases()
{
	local n
	n=$(host_do peer "grep -ci ' $NF_MAC ' $(printf %q "$(lease_file "$STACK")")" 2> /dev/null)
	echo "${n:-0}"
}

sniff_start()
{
	rm -f "$SNIFF_OUT"
	[ -e "/sys/class/net/$NF_M/ifindex" ] || return 1
	python3 "$NF_LIB_DIR/pktorigin.py" "$(cat "/sys/class/net/$NF_M/ifindex")" "$NF_MAC" "$SNIFF_OUT" \
		> /dev/null 2> /tmp/nf-netstack-origin.err &
	SNIFF_PID=$!
	nf_wait 20 test -s "$SNIFF_OUT"
}
# bg_stop PID: ends a background job of this script (none if PID is empty)
bg_stop()
{
	[ -n "$1" ] || return 0
	kill "$1" 2> /dev/null
	wait "$1" 2> /dev/null
}
sniff_stop() { bg_stop "$SNIFF_PID"; SNIFF_PID=; }
# the sniffer runs and rewrote its counts in the last 5 s
sniff_alive()
{
	local t
	t=$(stat -c %Y "$SNIFF_OUT" 2> /dev/null) || return 1
	[ -n "$SNIFF_PID" ] && kill -0 "$SNIFF_PID" 2> /dev/null && [ $(($(date +%s) - t)) -le 5 ]
}
# the slaves' own address-configuration frames so far: own_now prints how
# many, own_devs each slave's ("NAME:KIND=N,KIND=N" per device)
own_now() { local k n; while read -r k n _; do [ "$k" = own ] && echo "$n"; done < "$SNIFF_OUT"; }
own_devs()
{
	local k i name kinds out=
	while read -r k i name kinds; do
		[ "$k" = dev ] && out="$out $name:${kinds// /,}"
	done < "$SNIFF_OUT"
	echo "${out# }"
}

# addresses on DEV (IPv4 and IPv6, link-local too), one per line
addrs_of() { ip -o addr show dev "$1" 2> /dev/null | awk '{print $4}'; }
master_v4() { ip -4 -o addr show dev "$NF_M" 2> /dev/null | awk '{print $4}' | grep '^192\.0\.2\.1[0-9][0-9]/' | head -n1; }
master_leased() { nf_discover && [ -n "$(master_v4)" ]; }

# --- the stacks -------------------------------------------------------------

stack_stop()
{
	local d
	sniff_stop
	bg_stop "$IFUP_LOOP"
	IFUP_LOOP=
	pkill -x systemd-network 2> /dev/null # (the comm of systemd-networkd)
	pkill -x NetworkManager 2> /dev/null
	pkill -x dhclient 2> /dev/null
	pkill -f ifupdown-hotplug 2> /dev/null
	nf_sleep 1
	for d in /sys/class/net/*; do
		d=${d##*/}
		[ "$d" = lo ] || ip addr flush dev "$d" 2> /dev/null
	done
	rm -rf /run/systemd/netif /run/systemd/network/* /var/lib/NetworkManager/* \
		/run/NetworkManager/* /run/network/interfaces.d/* /run/network/ifstate* \
		/var/lib/dhcp/* /etc/network/interfaces
	if [ -e /etc/udev/rules.d/75-nf-cloud-ifupdown.rules ]; then
		rm -f /etc/udev/rules.d/75-nf-cloud-ifupdown.rules
		udevadm control --reload
	fi
	STACK=
}

start_networkd()
{
	[ "$1" = networkd ] && printf '[Match]\nType=ether\n\n[Network]\nDHCP=yes\n' \
		> /run/systemd/network/90-dhcp.network
	/lib/systemd/systemd-networkd > /tmp/nf-networkd.log 2>&1 &
}

# cloud-init's fallback config for this guest, rendered for networkd (as a
# cloud image with cloud-init and networkd boots)
start_cloudinit()
{
	python3 - > /tmp/nf-cloudinit.log 2>&1 << 'PY' || return 1
from cloudinit import net
from cloudinit.net import networkd, network_state
cfg = net.generate_fallback_config()
print(cfg)
ns = network_state.parse_net_config_data(cfg)
r = networkd.Renderer({"network_conf_dir": "/run/systemd/network/"})
r.render_network_state(ns, target="/")
PY
	start_networkd cloudinit
}

start_nm()
{
	[ -S /run/dbus/system_bus_socket ] || dbus-daemon --system --fork || return 1
	mkdir -p /etc/NetworkManager/conf.d
	# no polkit in the guest: root's requests are allowed as they are
	printf '[main]\nauth-polkit=false\n' > /etc/NetworkManager/conf.d/90-nf-test.conf
	/usr/sbin/NetworkManager --no-daemon > /tmp/nf-nm.log 2>&1 &
}

start_ifupdown()
{
	local tpl=/etc/network/cloud-interfaces-template
	printf 'auto lo\niface lo inet loopback\n\nsource /run/network/interfaces.d/*\n' \
		> /etc/network/interfaces
	# our template, without its pre-up guard unless NF_NETSTACK_FIX=1
	if [ "$FIX" = 1 ]; then
		cp "$DOC/net_failover_rust-cloud-interfaces-template" "$tpl"
	else
		sed '/pre-up/d' "$DOC/net_failover_rust-cloud-interfaces-template" > "$tpl"
	fi
	# what Debian's cloud images (debian-cloud-images, cloud-ifupdown-helper)
	# do on every "add": a stanza from the template for the interface; then
	# ifupdown's own rule (80-ifupdown.rules) has systemd start
	# ifup@IFACE.service, "ifup --allow=hotplug IFACE". The guest has no
	# systemd, and udev kills what its programs leave running (ifupdown's
	# helper forks ifup without systemd): the helper queues the interface
	# and a loop of ours, outside udev, runs that ifup instead.
	mkdir -p /run/nf-netstack/ifup-queue
	cat > /run/nf-netstack/cloud-ifupdown-helper << 'SH'
#!/bin/sh
[ "$ACTION" = add ] || exit 0
sed "s/\$INTERFACE/$INTERFACE/g" /etc/network/cloud-interfaces-template \
	> "/run/network/interfaces.d/$INTERFACE"
: > "/run/nf-netstack/ifup-queue/$INTERFACE"
SH
	chmod +x /run/nf-netstack/cloud-ifupdown-helper
	printf 'SUBSYSTEM=="net", ACTION=="add", KERNEL=="en*|eth*", RUN+="/run/nf-netstack/cloud-ifupdown-helper"\n' \
		> /etc/udev/rules.d/75-nf-cloud-ifupdown.rules
	udevadm control --reload
	(
		while :; do
			for f in /run/nf-netstack/ifup-queue/*; do
				[ -e "$f" ] || continue
				rm -f "$f"
				ifup --allow=hotplug "${f##*/}" >> /tmp/nf-ifup.log 2>&1 &
			done
			sleep 0.5
		done
	) > /dev/null 2>&1 &
	IFUP_LOOP=$!
	# what udev's coldplug does at boot for every interface present
	udevadm trigger --subsystem-match=net --action=add
}

# stack_start STACK: the DHCP server, the sniffer, then the stack
stack_start()
{
	STACK=$1
	dhcp_start "$1" || return 1
	sniff_start || return 1
	OWN_BEFORE=0
	"start_$1" "$1"
}

# --- the checks -------------------------------------------------------------

# check_moment MOMENT: waits for the master's lease, watches SETTLE
# seconds, then checks and prints the figure line
check_moment()
{
	local moment=$1 v4 n own d a sa= ping=ok route
	nf_wait 120 master_leased
	nf_check_err $? "the master got no address from DHCP within 120 s"
	nf_sleep "$SETTLE"
	nf_wait 60 nf_e1000e_enslaved
	nf_check_err $? "the e1000e primary is not enslaved: $(nf_roles)"
	sniff_alive
	nf_check_err $? "the frame counter (pktorigin.py) stopped"
	nf_discover
	v4=$(master_v4)
	n=$(leases)
	own=$(($(own_now) - OWN_BEFORE))
	for d in "$NF_SBY" "$NF_PRI"; do
		[ -n "$d" ] || continue
		a=$(addrs_of "$d" | tr '\n' ' ')
		[ -z "$a" ] || sa="$sa $d:${a% }"
	done
	route=$(ip -4 route get "$NF_PEER4" 2> /dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')
	if [ -z "$v4" ] || ! ping -q -c 3 -W 3 -I "${v4%/*}" "$NF_PEER4" > /dev/null 2>&1; then
		ping=lost
	fi
	nf_figure "netstack: module=$NF_MODULE fix=$FIX stack=$STACK moment=$moment leases=$n" \
		"master=${v4:-none} slave_addrs=$(echo "$sa" | wc -w) slave_own=$own ping=$ping route=${route:-none}"
	[ -z "$sa" ] || nf_diag "addresses on slaves:$sa"
	[ "$own" = 0 ] || nf_diag "frames the slaves sent on their own: $own (since the stack started: $(own_devs))"
	nf_check_eq "DHCP leases on the server" "$n" 1
	[ -z "$sa" ]
	nf_check_err $? "addresses on slaves:$sa"
	[ "$own" = 0 ]
	nf_check_err $? "slaves sent $own address-configuration frames on their own: $(own_devs)"
	[ "$ping" = ok ] && [ "$route" = "$NF_M" ]
	nf_check_err $? "pings from the master's address: $ping, route to the peer via ${route:-none}"
	OWN_BEFORE=$(own_now)
	stack_diag
}
# what the stack thinks of each device (for a failure)
stack_diag()
{
	[ "$RET" = 0 ] && return 0
	case $STACK in
	networkd | cloudinit) nf_diag "$(networkctl list --no-pager 2>&1)" ;;
	nm) nf_diag "$(nmcli -t -f DEVICE,TYPE,STATE,CONNECTION dev 2>&1)" ;;
	ifupdown)
		nf_diag "ifstate: $(cat /run/network/ifstate* 2> /dev/null | tr '\n' ' ')"
		nf_diag "stanzas: $(ls /run/network/interfaces.d 2>&1 | tr '\n' ' ')"
		nf_diag "dhclient: $(pgrep -a dhclient 2>&1 | tr '\n' '|')"
		nf_diag "ifup: $(tail -n 12 /tmp/nf-ifup.log 2> /dev/null)"
		;;
	esac
	nf_diag "DHCP server: $(host_do peer "tail -n 4 $(printf %q "$(lease_file "$STACK")")" 2> /dev/null | tr '\n' '|')"
}

# --- the moments --------------------------------------------------------------

moment_boot()
{
	if [ "$STACK_OK" = skip ]; then
		nf_log_test_skip "$NF_CUR_TEST" "no stack (stack_boot skipped)"
		return
	elif [ "$STACK_OK" != 1 ]; then
		nf_check_err 1 "no stack to start: stack_boot failed"
		nf_log_test
		return
	fi
	# (the stack before, if its rename case did not stop it: the first stack
	# sees the slaves as the boot left them)
	[ -z "$STACK" ] || stack_stop
	stack_start "$1"
	nf_check_err $? "$1 did not start"
	check_moment boot
	nf_log_test
}

moment_vf_replug()
{
	local v4 pid out=/tmp/nf-netstack-ping.txt sent recv
	[ "$STACK" = "$1" ] || { nf_log_test_skip "$NF_CUR_TEST" "$1 not running"; return; }
	v4=$(master_v4)
	ping -i 0.2 -W 1 -I "${v4%/*}" "$NF_PEER4" > "$out" 2>&1 &
	pid=$!
	host_do device_del "$NF_PRIMARY_QDEV" > /dev/null
	nf_check_err $? "QMP device_del $NF_PRIMARY_QDEV failed"
	nf_wait 60 nf_no_primary
	nf_check_err $? "the primary did not leave"
	host_do device_add "$NF_PRIMARY_QDEV" > /dev/null
	nf_check_err $? "QMP device_add $NF_PRIMARY_QDEV failed"
	nf_wait 120 nf_e1000e_enslaved
	nf_check_err $? "the plugged primary was not enslaved: $(nf_roles)"
	udevadm settle --timeout=60
	check_moment vf_replug
	kill -INT "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
	nf_figure "netstack: stack=$1 replug pings: ${recv:-?} of ${sent:-?} answered"
	nf_log_test
}

# (a new name each time: udev gives the renamed device its old name as an
# alternative name, which a rename back then collides with)
RENAMES=0
moment_rename()
{
	local old new
	[ "$STACK" = "$1" ] || { nf_log_test_skip "$NF_CUR_TEST" "$1 not running"; return; }
	nf_discover
	old=$NF_PRI
	RENAMES=$((RENAMES + 1))
	new=nfpri$RENAMES
	nf_run ip link set dev "$old" name "$new"
	nf_check_err $? "renaming the primary $old to $new while UP failed"
	nf_check_eq "master of $new" "$(nf_master_of "$new")" "$NF_M"
	udevadm settle --timeout=60
	check_moment rename
	stack_stop
	nf_log_test
}

# --- the cases ----------------------------------------------------------------

stack_boot()
{
	local t0=$SECONDS b
	STACK_OK=skip
	if [ ! -d "${NF_NETSTACK_ROOT:-/nonexistent}" ]; then
		nf_log_test_skip stack_boot "no guest packages (NF_NETSTACK_ROOT, scripts/netstack-root.sh)"
		return
	fi
	if [ -e /sys/module/net_failover ] || [ -e /sys/module/virtio_net ]; then
		nf_log_test_skip stack_boot "the drivers are loaded already: needs a guest of its own"
		return
	fi
	STACK_OK=0
	# what the bring-up's nf_modules_load does before virtio_net: the C
	# reference or a mutant instead of the installed module
	if [ "$NF_MODULE" = c ]; then
		modprobe failover && insmod "$NF_CREF_DIR/net_failover.ko"
	elif [ -n "${NF_KO:-}" ]; then
		insmod "$NF_KO"
	fi
	nf_check_err $? "loading the failover module failed"
	# the igb PF is not part of a failover guest: it would take a lease
	# and the default route of its own
	b=$(nf_igb_pf_bdf)
	[ -z "$b" ] || echo 1 > "/sys/bus/pci/devices/$b/remove"
	stack_install
	nf_check_err $? "mounting the packages or starting systemd-udevd failed"
	nf_wait 120 nf_e1000e_enslaved
	nf_check_err $? "no e1000e primary enslaved after udev's coldplug: $(nf_roles)"
	udevadm settle --timeout=60
	nf_discover
	nf_figure "netstack: module=$NF_MODULE fix=$FIX names: $(nf_roles), $((SECONDS - t0)) s"
	# udev gave them its names (ID_NET_NAME_*), not the kernel's ethN
	case "$NF_M $NF_SBY $NF_PRI" in
	*eth[0-9]*) nf_check_err 1 "udev did not rename: $(nf_roles)" ;;
	esac
	[ "$RET" = 0 ] && STACK_OK=1
	nf_log_test
}

cloudinit_detect()
{
	local out
	if [ "$STACK_OK" != 1 ]; then
		nf_log_test_skip cloudinit_detect "no stack (stack_boot did not pass)"
		return
	fi
	out=$(python3 - "$NF_M" "$NF_SBY" "$NF_PRI" "$NF_MAC" 2>&1 << 'PY'
import sys
from cloudinit import net
m, s, p, mac = sys.argv[1:5]
print("master", net.is_netfail_master(m), "standby", net.is_netfail_standby(s),
      "primary", net.is_netfail_primary(p))
by_mac = net.get_interfaces_by_mac()
print("by_mac", by_mac.get(mac))
cfg = net.generate_fallback_config()
eth = list(cfg["ethernets"].items())
print("fallback", eth[0][0], eth[0][1].get("match"))
PY
)
	nf_diag "$out"
	echo "$out" | grep -qx "master True standby True primary True"
	nf_check_err $? "cloud-init does not tell master, standby and primary apart"
	echo "$out" | grep -qx "by_mac $NF_M"
	nf_check_err $? "cloud-init's interfaces by MAC: not the master alone"
	echo "$out" | grep -qx "fallback $NF_M {'name': '$NF_M'}"
	nf_check_err $? "cloud-init's fallback config does not match the master by name"
	nf_log_test
}

networkd_boot() { moment_boot networkd; }
networkd_vf_replug() { moment_vf_replug networkd; }
networkd_rename() { moment_rename networkd; }
cloudinit_boot() { moment_boot cloudinit; }
cloudinit_vf_replug() { moment_vf_replug cloudinit; }
cloudinit_rename() { moment_rename cloudinit; }
nm_boot() { moment_boot nm; }
nm_vf_replug() { moment_vf_replug nm; }
nm_rename() { moment_rename nm; }
ifupdown_boot() { moment_boot ifupdown; }
ifupdown_vf_replug() { moment_vf_replug ifupdown; }
ifupdown_rename() { moment_rename ifupdown; }

netstack_exit()
{
	sniff_stop
	stack_stop
	host_do peer_kill dnsmasq > /dev/null 2>&1
}
nf_defer_exit netstack_exit

nf_main
