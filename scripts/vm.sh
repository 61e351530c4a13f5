#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the built kernel under virtme-ng in the failover topology and run a
# command in the guest; exit with the command's real exit status.
#
#   vm.sh [--flavour debug|bench] [--module rust|c] [--timeout SECONDS]
#         [--memory SIZE] [--results DIR] [--ko-dir DIR] [--dry-run]
#         [--cpus N] [--possible-cpus N] [--icount] -- COMMAND [ARGS...]
#
# --cpus is the guest's vCPU count (default 2). --possible-cpus N gives the
# guest N possible CPUs, --cpus of them online (QEMU -smp N, kernel
# maxcpus=CPUS: the others stay offline): what sizes per-CPU resources such
# as the master's queues (the test lanes use 24, so that a master sized on
# possible CPUs differs from the C driver's fixed 16). --icount runs QEMU with
# "-icount shift=0,sleep=off": guest time advances 1 ns per guest
# instruction while the vCPU runs, so a guest clock interval in which it never
# idles counts the instructions the guest executed in it (bench.sh
# --same-boot, with --cpus 1). While it idles, guest time follows the host's
# clock (sleep=off; sleep=on would jump to the next timer instead).
#
# --memory is the guest's memory (vng --memory, default 3G). SR-IOV needs 1G
# with QEMU 10.0.2: it drops the upper 32 bits of igbvf VF BAR addresses, and
# with more memory the firmware puts the igb PF's 64-bit window above 4 GiB
# (run-tests.sh boots sriov.sh apart, with 1G).
# --dry-run prepares the run directory and topology.env, prints the
# directory and stops before the network namespace and QEMU
# (tests/scripts/first-run.sh).
#
# --module c loads the net_failover.ko of <build>-cref (the C reference), or
# of --ko-dir DIR (e.g. an out-of-tree build of a modified driver) instead of
# the one the kernel build installed.
#
# Topology (q35, TCG): virtio-net-pci sb0 (failover=on, host_mtu=4000 so
# that the standby refuses MTUs the primary takes, speed=10000 so that its
# ethtool link settings differ from the e1000e's 1000 Mb/s) and e1000e pf0
# (failover_pair_id=sb0, same MAC, hot-plugged by QEMU once the guest
# negotiates STANDBY), each on its own pcie-root-port, plus an igb PF igb0 for
# SR-IOV VFs. All three on taps bridged inside a network namespace made for
# this run; the bridge holds the peer addresses 192.0.2.1/24 and 2001:db8::1/64
# (documentation ranges; nothing leaves the machine). The guest asks the host
# for actions (QMP device_del/device_add/set_link, tap up/down, peer commands) through
# files in the shared results dir: ctl/req.N -> ctl/ack.N.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
# The whole script is one block, which bash reads before running any of it:
# an edit of this file while it runs (a long guest run) cannot derail it.
{

flavour=debug module=rust timeout=3600 results= kodir= memory=3G dry=0 cpus=2 icount=0
possible_cpus= boot_cpus=
while [ $# -gt 0 ]; do
	case "$1" in
	--flavour) flavour=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--ko-dir) kodir=$2; shift 2 ;;
	--memory) memory=$2; shift 2 ;;
	--dry-run) dry=1; shift ;;
	--cpus) cpus=$2; shift 2 ;;
	--possible-cpus) possible_cpus=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || die "usage: vm.sh [options] -- COMMAND..."

# NF_BUILD_DIR: boot another build directory (a developer's scratch build).
B=${NF_BUILD_DIR:-$(build_dir "$flavour")}
[ -f "$B/arch/x86/boot/bzImage" ] || die "no kernel in $B (run scripts/build-kernel.sh $flavour)"
CREF=${kodir:-$B-cref}
[ "$module" = rust ] || [ -f "$CREF/net_failover.ko" ] || die "no C reference module in $CREF"

MAC=52:54:00:12:34:56
NS=nfvm$$
nf_prune_runs
RUN=${results:-$(nf_new_run_dir)}
mkdir -p "$RUN/ctl"
# A results directory booted again (mutants.sh retries a lane in the same
# one): the host loop below starts at req.1 and the guest's counter at 1,
# so an earlier boot's requests and answers must not be there to be
# replayed or read as this boot's.
rm -f "$RUN"/ctl/req.* "$RUN"/ctl/ack.* "$RUN"/ctl/bg-*.pid
QMP=$RUN/qmp.sock
PF_PROPS=(e1000e "netdev=npf" "id=pf0" "mac=$MAC" "failover_pair_id=sb0" "bus=rp2")

cat >"$RUN/topology.env" <<ENV
NF_MAC=$MAC
NF_ADDR4=192.0.2.2
NF_PREFIX4=24
NF_PEER4=192.0.2.1
NF_ADDR6=2001:db8::2
NF_PEER6=2001:db8::1
NF_MODULE=$module
NF_CREF_DIR=$CREF
NF_PRIMARY_QDEV=pf0
NF_STANDBY_QDEV=sb0
NF_IGB_QDEV=igb0
NF_HOST_CTL=1
NF_HOST_RESULTS=$RUN
NF_PEER_DEV=nfbr0
NF_GUEST_MEMORY=$memory
NF_POSSIBLE_CPUS=$possible_cpus
ENV
if [ "$dry" = 1 ]; then
	echo "$RUN"
	exit 0
fi

ctl_pid= qemu_ok=0
cleanup() {
	[ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null
	nf_peer_del "$NS"
}
trap cleanup EXIT

# The peer: a learning bridge with three taps in a fresh netns.
nf_peer_add "$NS" tap-sb tap-pf tap-igb
ip netns exec "$NS" setsid iperf3 -s -B 192.0.2.1 >"$RUN/peer-iperf3.log" 2>&1 </dev/null &

# Host side of the guest's action requests.
host_action() {
	local verb=$1
	shift
	case "$verb" in
	device_del)
		python3 "$REPO/scripts/qmp.py" "$QMP" device_del "$1" --wait-event DEVICE_DELETED --timeout 60 ;;
	device_add_standby)
		# a second failover standby with no primary and no backend, on the
		# spare root port: device_add_standby ID MAC HOST_MTU
		[ $# = 3 ] || { echo "usage: device_add_standby ID MAC HOST_MTU"; return 2; }
		python3 "$REPO/scripts/qmp.py" "$QMP" device_add virtio-net-pci "id=$1" "mac=$2" \
			failover=on "host_mtu=$3" bus=rp4 ;;
	device_add)
		[ "$1" = pf0 ] || { echo "only pf0 can be re-added"; return 2; }
		python3 "$REPO/scripts/qmp.py" "$QMP" device_add "${PF_PROPS[@]}" ;;
	tap) ip -n "$NS" link set dev "$1" "$2" ;;
	set_link)
		# the link state QEMU shows the guest for a NIC (carrier loss while
		# the guest keeps the device admin-up): set_link ID on|off
		case "${1:-}:${2:-}" in
		pf0:on | pf0:off | sb0:on | sb0:off | igb0:on | igb0:off) ;;
		*) echo "usage: set_link pf0|sb0|igb0 on|off"; return 2 ;;
		esac
		python3 "$REPO/scripts/qmp.py" "$QMP" raw \
			"{\"execute\": \"set_link\", \"arguments\": {\"name\": \"$1\", \"up\": $([ "$2" = on ] && echo true || echo false)}}" ;;
	peer) ip netns exec "$NS" timeout 600 bash -c "$*" ;;
	peer_bg)
		local name=$1
		shift
		ip netns exec "$NS" setsid bash -c "$*" >"$RUN/peer-$name.log" 2>&1 </dev/null &
		echo $! >"$RUN/ctl/bg-$name.pid" ;;
	device_add_impostor)
		# a device with the standby's MAC on the spare root port rp4, no
		# backend (impostors.sh); removed with "device_del imp0"
		case "$1" in
		e1000e) python3 "$REPO/scripts/qmp.py" "$QMP" device_add e1000e id=imp0 "mac=$MAC" bus=rp4 ;;
		virtio) python3 "$REPO/scripts/qmp.py" "$QMP" device_add virtio-net-pci id=imp0 "mac=$MAC" bus=rp4 ;;
		*) echo "impostor kinds: e1000e virtio"; return 2 ;;
		esac ;;
	peer_kill)
		[ -f "$RUN/ctl/bg-$1.pid" ] && kill -- -"$(cat "$RUN/ctl/bg-$1.pid")" 2>/dev/null
		rm -f "$RUN/ctl/bg-$1.pid" ;;
	*) echo "unknown verb $verb"; return 2 ;;
	esac
}
ctl_loop() {
	local n=1 line st out
	while :; do
		if [ -f "$RUN/ctl/req.$n" ]; then
			line=$(cat "$RUN/ctl/req.$n")
			echo "[host] req.$n: $line" >>"$RUN/ctl/log"
			# shellcheck disable=SC2086
			out=$(host_action $line 2>&1) && st=0 || st=$?
			printf '%s\n%s\n' "$st" "$out" >"$RUN/ctl/ack.$n.tmp"
			mv "$RUN/ctl/ack.$n.tmp" "$RUN/ctl/ack.$n"
			echo "[host] ack.$n: $st" >>"$RUN/ctl/log"
			n=$((n + 1))
		else
			sleep 0.1
		fi
	done
}
ctl_loop &
ctl_pid=$!

qemu_opts=(
	-device pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10
	-device pcie-root-port,id=rp2,chassis=2,slot=2,bus=pcie.0,addr=0x11
	-device "pcie-root-port,id=rp3,chassis=3,slot=3,bus=pcie.0,addr=0x12${NF_IGB_PORT_OPTS:+,$NF_IGB_PORT_OPTS}"
	-device pcie-root-port,id=rp4,chassis=4,slot=4,bus=pcie.0,addr=0x13
	-netdev tap,id=nsb,ifname=tap-sb,script=no,downscript=no
	-device "virtio-net-pci,netdev=nsb,id=sb0,mac=$MAC,failover=on,host_mtu=4000,speed=10000,duplex=full,bus=rp1"
	-netdev tap,id=npf,ifname=tap-pf,script=no,downscript=no
	-device "$(IFS=,; echo "${PF_PROPS[*]}")"
	-netdev tap,id=nigb,ifname=tap-igb,script=no,downscript=no
	-device igb,netdev=nigb,id=igb0,mac=52:54:00:aa:bb:01,bus=rp3
	-qmp "unix:$QMP,server=on,wait=off"
)
if [ -n "$possible_cpus" ]; then
	[[ "$possible_cpus" =~ ^[0-9]+$ ]] && [ "$possible_cpus" -ge "$cpus" ] ||
		die "--possible-cpus must be a number >= --cpus ($cpus)"
	# All N present, and the kernel brings up only --cpus of them (maxcpus=,
	# below): a 6.12 x86 guest ignores QEMU's hot-pluggable slots
	# (-smp maxcpus=), as its FADT is older than ACPI 6.3 and TCG is no
	# hypervisor it knows (acpi_is_processor_usable()). QEMU merges this
	# -smp with virtme-ng's own (later keys win).
	qemu_opts+=(-smp "$possible_cpus")
	boot_cpus="maxcpus=$cpus"
fi
# Extra QEMU options for diagnosis, e.g.
# NF_QEMU_EXTRA="-trace igb_* -D \$RUN/qemu.log" (RUN is this run's directory).
if [ -n "${NF_QEMU_EXTRA:-}" ]; then
	set -f # split on blanks, but no globbing of "igb_*"
	# shellcheck disable=SC2206
	qemu_opts+=(${NF_QEMU_EXTRA//\$RUN/$RUN})
	set +f
fi
# The host's root is shared read-only over 9p; cache=loose lets the guest keep
# binaries in its page cache (without it every exec re-reads them from the
# host: about 1 s per command under TCG with the debug kernel).
rootflags=rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose
kvm=--disable-kvm
[ "${NF_KVM:-0}" = 1 ] && kvm=
# Host-side stalls under TCG (Documentation: "Toolchain"). Three were seen
# in otherwise healthy guests with multi-threaded TCG, each with one vCPU's
# APIC state inconsistent: an expired one-shot timer that never interrupted
# (RCU: "0 ticks this GP"; sleeps on that CPU hung), a 10-minute freeze of all
# guest writes that a VM stop/cont ended, and a timer vector left in the ISR
# of a halted vCPU. Hence: both vCPUs on one host thread (serial work ~10%
# slower; NF_TCG_THREAD=multi restores QEMU's default), ...
if [ -n "$kvm" ] && [ "${NF_TCG_THREAD:-single}" = single ]; then
	qemu_opts+=(-accel tcg,thread=single)
fi
[ "$icount" = 1 ] && qemu_opts+=(-icount shift=0,sleep=off)
guest_cmd=$(printf '%q ' bash "$REPO/scripts/guest-run.sh" "$RUN" "$@")
# ... a periodic tick, which QEMU re-arms itself, so that a lost timer
# interrupt costs one tick (NF_TICK=oneshot restores the default), ...
tick="nohz=off highres=off"
[ "${NF_TICK:-periodic}" = oneshot ] && tick=
# ... and a watchdog: the guest copies its kernel log live to kmsg.txt and
# writes a heartbeat; on a new RCU stall report, or when nothing the guest
# writes has changed for 90 s, save each vCPU's local APIC and registers to
# lapic.txt and "stop"/"cont" the VM (logged in kicks.txt). A guest stuck on
# its own does not recover that way: after 5 kicks QEMU is stopped and the run
# fails with the reason.
stall_watch() {
	set +e
	local kicks=0 quiet=0 rcu=0 n sig last= reason i
	while sleep 10; do
		sig=$(stat -c '%s %Y' "$RUN/kmsg.txt" "$RUN/output.txt" "$RUN/heartbeat" 2>/dev/null | tr '\n' ' ')
		if [ "$sig" = "$last" ]; then quiet=$((quiet + 10)); else quiet=0 last=$sig; fi
		n=$(grep -cE "$RCU_STALL_RE" "$RUN/kmsg.txt" 2>/dev/null)
		reason=
		[ "${n:-0}" -gt "$rcu" ] && reason="RCU stall report in the guest"
		[ "$quiet" -ge 90 ] && reason="nothing written by the guest for ${quiet} s"
		[ -n "$reason" ] || continue
		rcu=${n:-0} quiet=0 kicks=$((kicks + 1))
		{
			echo "== kick $kicks ($(date +%T)): $reason"
			for i in 0 1; do
				python3 "$REPO/scripts/qmp.py" "$QMP" hmp "cpu $i" "info lapic $i" "info registers"
			done
		} >>"$RUN/lapic.txt" 2>&1
		if [ "$kicks" -gt 5 ]; then
			echo "$reason; 5 stop/cont kicks did not revive it" >"$RUN/stalled"
			python3 "$REPO/scripts/qmp.py" "$QMP" quit >/dev/null 2>&1
			return
		fi
		# rcu_reports: stall reports in kmsg.txt so far (check-dmesg.sh
		# excuses a report only if a kick followed it)
		echo "$(date +%T) $reason: QEMU stop/cont #$kicks rcu_reports=$rcu" >>"$RUN/kicks.txt"
		python3 "$REPO/scripts/qmp.py" "$QMP" stop >/dev/null 2>&1
		sleep 1
		python3 "$REPO/scripts/qmp.py" "$QMP" cont >/dev/null 2>&1
	done
}
stall_watch &
stall_pid=$!
log "booting $flavour kernel ($module module, $memory, $cpus vCPU$([ "$icount" = 1 ] && echo ", icount"))," \
	"results in $RUN"
: >"$RUN/output.txt"
tail -n +1 -F "$RUN/output.txt" 2>/dev/null &
tail_pid=$!
set +e
# shellcheck disable=SC2086
timeout --foreground -k 10 "$timeout" ip netns exec "$NS" \
	"$VENV/bin/vng" --run "$B" --disable-microvm $kvm --append "no5lvl $tick $rootflags $boot_cpus ${NF_APPEND:-}" \
	--cpus "$cpus" --memory "$memory" --rwdir "$RUN" --cwd "$REPO" \
	--qemu-opts="${qemu_opts[*]}" --exec "$guest_cmd" \
	</dev/null >"$RUN/console.log" 2>&1
vng_rc=$?
set -e
sleep 1
kill "$tail_pid" "$stall_pid" 2>/dev/null
if [ -f "$RUN/kicks.txt" ]; then
	log "host-side guest stalls resumed by QEMU stop/cont: $(wc -l <"$RUN/kicks.txt") (see $RUN/kicks.txt, lapic.txt)"
	sed 's/^/  /' "$RUN/kicks.txt" >&2
fi
if [ -f "$RUN/stalled" ]; then
	grep -E 'detected stall|ticks this GP|NMI backtrace for cpu' "$RUN/kmsg.txt" | head -6 >&2
	die "guest stalled: $(cat "$RUN/stalled"): see $RUN/kmsg.txt and $RUN/lapic.txt"
fi
if [ ! -f "$RUN/rc" ]; then
	tail -40 "$RUN/console.log" >&2
	die "guest did not finish (vng exit $vng_rc); console: $RUN/console.log"
fi
rc=$(cat "$RUN/rc")
# Any kernel splat fails the run, whatever the command said.
if "$REPO/scripts/check-dmesg.sh" "$RUN"; then :; else
	rc=1
fi
log "guest command exit status $rc (results: $RUN)"
exit "$rc"
}
