#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# net_failover benchmarks, guest side (issue 6). scripts/bench.sh starts this
# through scripts/vm.sh once per module (NF_MODULE=rust|c) on the bench kernel:
#   1. datapath: pktgen on the master vs on the primary VF directly, 64 B and
#      1500 B, NF_BENCH_REPS runs of a fixed packet count; iperf3 TCP to the
#      peer through the master, and through the VF alone (virtio device
#      unbound from virtio_net, so the failover master is gone);
#   2. per-packet CPU: perf stat cycles/instructions around each pktgen run
#      when the guest has a PMU, else the reason; always /proc/stat CPU time;
#   3. switch-over: a 10 kpps udpseq stream to the peer across QMP device_del
#      of the primary, ip link set VF down, device_add, VF up (and a steady
#      stream as the baseline): lost packets, longest gap;
#   4. re-plug: device_add request -> VF netdev registered -> enslaved ->
#      carrier -> first packet sent through the VF (a watcher polling sysfs on
#      CLOCK_REALTIME, plus the kernel log's timestamps of the driver's lines);
#   5. "sameboot" (bench.sh --same-boot, alone): both modules in this one boot,
#      reloaded in turn (A B, B A, ...) for NF_BENCH_SB_ROUNDS rounds; in each,
#      the pktgen runs of 1. on the VF directly and on the master. Meant for a
#      1-vCPU guest under QEMU -icount shift=0: pktgen's elapsed guest time per
#      packet is then guest instructions per packet. Records also the pktgen
#      thread's own run time (schedstat). The guest's periodic work (the
#      heartbeat loop of guest-run.sh, kmemleak's scan thread) is paused while
#      it runs.
#      With NF_BENCH_SB_EXTRA="tcp rx", also per module load: iperf3 -n
#      through the master (guest instructions per MB sent) and a host flood of
#      64 B frames into the VF and into the standby (instructions per frame
#      received), and the same through the VF alone at each round's start.
# Writes every raw sample to $NF_RESULTS/bench.json (schema "nf-bench/1",
# see scripts/bench.sh) and prints a summary. Benchmarks print figures, they
# assert nothing: exit 1 only when a measurement could not be taken at all,
# 4 outside the runner's topology. Every step is bounded in time.
#
# Knobs (environment):
#   NF_BENCH_REPS            runs of each pktgen / iperf3 figure (5)
#   NF_BENCH_PKTGEN_COUNT    packets per pktgen run (100000)
#   NF_BENCH_PKTGEN_MODE     queue_xmit (default: through the qdisc layer, what a
#                            socket sees) or start_xmit (driver's xmit directly)
#   NF_BENCH_PKTGEN_TIMEOUT  seconds before a pktgen run is stopped (120)
#   NF_BENCH_CPU_PPS         rate of the paced 64 B pktgen runs that measure CPU
#   NF_BENCH_CPU_SECONDS     per packet (2000 pps for 5 s; 0 pps: skip them)
#   NF_BENCH_IPERF_SECONDS   length of one iperf3 run (10)
#   NF_BENCH_SWITCH_REPS     switch-over / re-plug cycles (3)
#   NF_BENCH_UDP_RATE        stream rate, packets/s (10000)
#   NF_BENCH_SETTLE          seconds the stream keeps running after an event (2)
#   NF_BENCH_POLL_US         sleep per iteration of the re-plug watcher (200; 0 = spin)
#   NF_BENCH_REG_RE          kernel-log regex of the primary's registration (primary)
#   NF_BENCH_TXVIA_RE        kernel-log regex of the tx switch line (tx via)
#   NF_BENCH_PHASES          subset of "pktgen iperf3 switchover" (all three),
#                            or "sameboot"
#   NF_BENCH_SB_ROUNDS       sameboot: rounds, each loads every module once (5)
#   NF_BENCH_SB_WARMUP       sameboot: warm-up rounds before them, recorded as
#                            round 0 and left out of the figures (1). On the
#                            debug kernel the C module's first load turns lockdep
#                            off (its stats_lock is never initialised): runs
#                            before it cost ~35 % more instructions per packet
#   NF_BENCH_SB_MODULES      sameboot: the modules, in the order of a round ("rust c")
#   NF_BENCH_SB_PATHS        sameboot: "vf master" (the order alternates per round)
#   NF_BENCH_SB_SIZES        sameboot: "64 1500"
#   NF_BENCH_SB_MODES        sameboot: pktgen xmit modes ($NF_BENCH_PKTGEN_MODE)
#   (NF_BENCH_REPS is the pktgen runs per path, size and mode in each round
#   of sameboot; bench.sh --same-boot sets it to 1)
#   NF_BENCH_SB_EXTRA        sameboot: more figures per module load, a subset of
#                            "tcp rx" (none): guest busy instructions per MB
#                            sent by iperf3 -n through the master, and per frame
#                            received from a host flood through the VF and
#                            through the standby; both also with the VF alone
#                            (no failover module loaded) at the start of every
#                            round; and the time in NET_RX softirqs per frame
#                            (trace events: see 5b below)
#   NF_BENCH_SB_TCP_BYTES    sameboot tcp: bytes per iperf3 run (256M)
#   NF_BENCH_SB_RX_PPS       sameboot rx: the host's flood rate (60000 frames/s
#                            of host time; the guest takes what it can)
#   NF_BENCH_SB_RX_SECONDS   sameboot rx: measured window, guest seconds (2)
#   NF_BENCH_SB_RX_POLL_US   sameboot rx: the receiving NIC's NAPI is polled from
#                            a timer this often, its interrupt off (20000)
#   NF_BENCH_SB_RX_PATHS     sameboot rx: "vf standby" (the NIC the flood enters)
#   NF_BENCH_SB_VFALONE      sameboot extras: also with the VF alone (1)

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

: "${NF_BENCH_REPS:=5}"
: "${NF_BENCH_PKTGEN_COUNT:=100000}"
: "${NF_BENCH_PKTGEN_MODE:=queue_xmit}"
: "${NF_BENCH_PKTGEN_TIMEOUT:=120}"
: "${NF_BENCH_CPU_PPS:=2000}"
: "${NF_BENCH_CPU_SECONDS:=5}"
: "${NF_BENCH_IPERF_SECONDS:=10}"
: "${NF_BENCH_SWITCH_REPS:=3}"
: "${NF_BENCH_UDP_RATE:=10000}"
: "${NF_BENCH_SETTLE:=2}"
: "${NF_BENCH_POLL_US:=200}"
: "${NF_BENCH_REG_RE:=primary}"
: "${NF_BENCH_TXVIA_RE:=tx via}"
: "${NF_BENCH_PHASES:=pktgen iperf3 switchover}"
: "${NF_BENCH_SB_ROUNDS:=5}"
: "${NF_BENCH_SB_WARMUP:=1}"
: "${NF_BENCH_SB_MODULES:=rust c}"
: "${NF_BENCH_SB_PATHS:=vf master}"
: "${NF_BENCH_SB_SIZES:=64 1500}"
: "${NF_BENCH_SB_MODES:=$NF_BENCH_PKTGEN_MODE}"
: "${NF_BENCH_SB_EXTRA:=}"
: "${NF_BENCH_SB_TCP_BYTES:=256M}"
: "${NF_BENCH_SB_RX_PPS:=60000}"
: "${NF_BENCH_SB_RX_SECONDS:=2}"
: "${NF_BENCH_SB_RX_POLL_US:=20000}"
: "${NF_BENCH_SB_RX_PATHS:=vf standby}"
: "${NF_BENCH_SB_VFALONE:=1}"
# EPOCHREALTIME and the numbers we parse with a "." decimal point
export LC_ALL=C

PG=/proc/net/pktgen
# pktgen's destination: the peer bridge's MAC (delivered to the peer's stack,
# not flooded back into the guest) and an address the peer does not own, so
# the peer drops it silently (no forwarding, no ICMP back into the guest).
PG_DST=192.0.2.254

# ---------------------------------------------------------------------------
# raw samples: one JSON object per line, assembled into bench.json at the end

bench_rec() {
	local kind=$1 kv k v line
	shift
	line="{\"kind\":\"$kind\""
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		if [[ $v =~ ^-?(0|[1-9][0-9]*)(\.[0-9]+)?$ ]]; then
			line+=",\"$k\":$v"
		else
			v=${v//\\/\\\\} v=${v//\"/\\\"} v=${v//[[:cntrl:]]/ }
			line+=",\"$k\":\"$v\""
		fi
	done
	echo "$line}" >> "$SAMPLES"
}
# a measurement that could not be taken
bench_err() {
	echo "bench: ERROR: $*"
	bench_rec error phase="$BENCH_PHASE" msg="$*"
}
say() { echo "bench: $*"; }
phase_on() { [[ " $NF_BENCH_PHASES " == *" $1 "* ]]; }
no_master() { ! nf_has_master; }
pid_gone() { ! kill -0 "$1" 2> /dev/null; }

# ---------------------------------------------------------------------------
# facts about this run

collect_meta() {
	local peer_mac
	nf_ping_peer 1
	peer_mac=$(ip neigh show "$NF_PEER4" dev "$NF_M" 2> /dev/null |
		sed -n 's/.* lladdr \([0-9a-f:]*\).*/\1/p' | head -n1)
	PEER_MAC=$peer_mac
	bench_rec meta module="$NF_MODULE" kernel="$(uname -r)" uname="$(uname -a)" \
		cpus="$(nproc)" cpu_model="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)" \
		hz="$HZ" master="$NF_M" standby="$NF_SBY" primary="$NF_PRI" \
		primary_pci="$(nf_pci_of "$NF_PRI")" primary_driver="$(nf_driver_of "$NF_PRI")" \
		master_driver="$(nf_ethtool_field "$NF_M" driver)" \
		master_txqs="$(find "/sys/class/net/$NF_M/queues/" -maxdepth 1 -name "tx-*" 2> /dev/null | wc -l)" \
		primary_qdisc="$(tc qdisc show dev "$NF_PRI" 2> /dev/null | head -n1)" \
		peer_mac="$peer_mac" \
		iperf3="$(iperf3 --version 2> /dev/null | head -n1)" \
		perf="$(perf --version 2> /dev/null | head -n1)" python="$(python3 --version 2>&1)" \
		nf_module_srcversion="$(cat /sys/module/net_failover/srcversion 2> /dev/null)"
}

# ---------------------------------------------------------------------------
# CPU accounting: busy USER_HZ ticks of all CPUs (user+nice+system+irq+softirq+steal)

cpu_busy() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

PERF_OK=0
PERF_REASON=
perf_probe() {
	local out rc
	if ! command -v perf > /dev/null; then
		PERF_REASON="perf is not installed"
	else
		out=$(timeout -k 5 30 perf stat -x, -a -e cycles,instructions -- sleep 0.2 2>&1)
		rc=$?
		if [ "$rc" -ne 0 ]; then
			PERF_REASON="perf stat failed (rc=$rc): $(echo "$out" | head -n 3 | tr '\n' ' ')"
		elif echo "$out" | grep -Eq '^[0-9]+,[^,]*,[^,]*cycles' &&
			echo "$out" | grep -Eq '^[0-9]+,[^,]*,[^,]*instructions'; then
			PERF_OK=1
		else
			PERF_REASON="hardware events not counted: $(echo "$out" | grep -E 'cycles|instructions' | tr '\n' ' ')"
		fi
	fi
	if [ "$PERF_OK" = 0 ] && [ ! -e /sys/bus/event_source/devices/cpu ]; then
		PERF_REASON+="; the guest has no 'cpu' PMU in /sys/bus/event_source/devices"
		PERF_REASON+=" (QEMU TCG emulates no hardware performance counters)"
	fi
	bench_rec perf usable="$PERF_OK" reason="$PERF_REASON"
	if [ "$PERF_OK" = 1 ]; then
		say "perf: cycles/instructions counted around every pktgen run"
	else
		say "perf: not usable: $PERF_REASON; per-packet CPU from /proc/stat instead"
	fi
}

# ---------------------------------------------------------------------------
# 1+2. pktgen

pg_write() {
	local f=$1
	shift
	echo "$*" > "$f" 2> /dev/null && return 0
	bench_err "pktgen: '$*' > $f: $(sed -n 's/^Result: //p' "$f" 2> /dev/null | head -n1)"
	return 1
}
pg_field() { sed -n "$1" "$2" 2> /dev/null | tail -n1; }
# run time of a thread so far, ns (schedstat: on-CPU time, includes the
# interrupts it took)
pg_thread_ns() { [ -n "$1" ] && awk '{ print $1 }' "/proc/$1/schedstat" 2> /dev/null; }

# pktgen_run PATH DEV SIZE REP [PACED_PPS]
# Without PACED_PPS pktgen sends as fast as it can (it never idles, so its CPU
# time per packet is ~1/pps); with it, a fixed rate well below saturation, so
# the busy CPU time (or cycles) per packet is the cost of the tx path.
pktgen_run() {
	local path=$1 dev=$2 size=$3 rep=$4 paced=${5:-0} psize d c0 c1 v0 v1 s0 s1 rc
	local usec sent pps mbps errs cyc='' ins='' count=$NF_BENCH_PKTGEN_COUNT delay=0 tpid t0 t1
	if [ "$paced" -gt 0 ]; then
		count=$((paced * NF_BENCH_CPU_SECONDS)) delay=$((1000000000 / paced))
	fi
	# frame without FCS: 64 B on the wire = 60; 1500 B IP packet = 1514
	if [ "$size" = 64 ]; then psize=60; else psize=$((size + 14)); fi
	d=$PG/$dev
	pg_write $PG/kpktgend_0 rem_device_all || return 1
	pg_write $PG/kpktgend_0 "add_device $dev" || return 1
	pg_write "$d" "xmit_mode $NF_BENCH_PKTGEN_MODE" &&
		pg_write "$d" "count $count" &&
		pg_write "$d" "clone_skb 0" &&
		pg_write "$d" "pkt_size $psize" &&
		pg_write "$d" "delay $delay" &&
		pg_write "$d" "dst $PG_DST" &&
		pg_write "$d" "dst_mac $PEER_MAC" &&
		pg_write "$d" "udp_dst_min 9" &&
		pg_write "$d" "udp_dst_max 9" || return 1
	v0=$(nf_stat "$NF_PRI" tx_packets) s0=$(nf_stat "$NF_SBY" tx_packets)
	tpid=$(pgrep -x kpktgend_0 | head -n1)
	t0=$(pg_thread_ns "$tpid")
	c0=$(cpu_busy)
	if [ "$PERF_OK" = 1 ]; then
		timeout -k 10 "$NF_BENCH_PKTGEN_TIMEOUT" perf stat -x, -a -e cycles,instructions \
			-o "$NF_TMP/perf.txt" -- sh -c "echo start > $PG/pgctrl"
		rc=$?
		cyc=$(sed -n 's/^\([0-9][0-9]*\),[^,]*,[^,]*cycles.*/\1/p' "$NF_TMP/perf.txt" | head -n1)
		ins=$(sed -n 's/^\([0-9][0-9]*\),[^,]*,[^,]*instructions.*/\1/p' "$NF_TMP/perf.txt" | head -n1)
	else
		timeout -k 10 "$NF_BENCH_PKTGEN_TIMEOUT" sh -c "echo start > $PG/pgctrl"
		rc=$?
	fi
	c1=$(cpu_busy)
	t1=$(pg_thread_ns "$tpid")
	v1=$(nf_stat "$NF_PRI" tx_packets) s1=$(nf_stat "$NF_SBY" tx_packets)
	[ "$rc" = 0 ] || timeout 10 sh -c "echo stop > $PG/pgctrl" 2> /dev/null
	# Result: OK: 1234567(c1234+d12) usec, 100000 (60byte,0frags)
	#   80998pps 38Mb/sec (38879040bps) errors: 0
	usec=$(pg_field 's/^Result: OK: \([0-9]*\)(.*/\1/p' "$d")
	sent=$(pg_field 's/^Result: OK: .* usec, \([0-9]*\) (.*/\1/p' "$d")
	pps=$(pg_field 's/^ *\([0-9]*\)pps .*/\1/p' "$d")
	mbps=$(pg_field 's/^ *[0-9]*pps \([0-9]*\)Mb\/sec.*/\1/p' "$d")
	errs=$(pg_field 's/.*errors: \([0-9]*\).*/\1/p' "$d")
	if [ -z "$pps" ] || [ -z "$sent" ]; then
		bench_err "pktgen $path ($dev) ${size}B rep $rep: no result (rc=$rc): $(grep -m1 '^Result' "$d" 2> /dev/null)"
		pg_write $PG/kpktgend_0 rem_device_all
		return 1
	fi
	pg_write $PG/kpktgend_0 rem_device_all
	bench_rec "${PG_KIND:-pktgen}" path="$path" dev="$dev" size="$size" pkt_size="$psize" rep="$rep" \
		mode="$NF_BENCH_PKTGEN_MODE" paced_pps="$paced" count="$count" sent="$sent" \
		usec="$usec" pps="$pps" mbps="$mbps" errors="$errs" rc="$rc" \
		cpu_ticks="$((c1 - c0))" hz="$HZ" vf_tx="$(nf_num_diff "$v0" "$v1")" sby_tx="$(nf_num_diff "$s0" "$s1")" \
		${cyc:+cycles="$cyc"} ${ins:+instructions="$ins"} \
		${t0:+${t1:+thread_ns="$((t1 - t0))"}} ${PG_EXTRA[@]+"${PG_EXTRA[@]}"}
	local what="${size}B"
	[ "$paced" -gt 0 ] && what+=" paced at $paced pps"
	say "pktgen $path ($dev) $what rep $rep: $pps pps, errors $errs, cpu $((c1 - c0)) ticks," \
		"VF tx +$(nf_num_diff "$v0" "$v1"), standby tx +$(nf_num_diff "$s0" "$s1")${cyc:+, cycles $cyc, instructions $ins}"
}

# pktgen_ready: the pktgen module loaded and the peer's MAC known
pktgen_ready() {
	if ! modprobe pktgen 2> /dev/null || [ ! -w $PG/pgctrl ]; then
		bench_err "pktgen unavailable (modprobe pktgen / $PG/pgctrl)"
		return 1
	fi
	if [ -z "$PEER_MAC" ]; then
		bench_err "no neighbour entry for the peer $NF_PEER4: pktgen needs its MAC"
		return 1
	fi
}

bench_pktgen() {
	local rep size path dev order
	BENCH_PHASE=pktgen
	pktgen_ready || return 1
	perf_probe
	for ((rep = 1; rep <= NF_BENCH_REPS; rep++)); do
		# alternate which path goes first, so drift does not favour one
		if ((rep % 2)); then order="master vf"; else order="vf master"; fi
		for size in 64 1500; do
			for path in $order; do
				nf_discover
				if [ -z "$NF_PRI" ]; then
					bench_err "no primary enslaved before pktgen $path ${size}B rep $rep"
					nf_bringup > /dev/null 2>&1 || return 1
					nf_discover
				fi
				if [ "$path" = master ]; then dev=$NF_M; else dev=$NF_PRI; fi
				pktgen_run "$path" "$dev" "$size" "$rep"
			done
		done
		[ "$NF_BENCH_CPU_PPS" -gt 0 ] || continue
		for path in $order; do
			nf_discover
			if [ "$path" = master ]; then dev=$NF_M; else dev=$NF_PRI; fi
			[ -n "$dev" ] && pktgen_run "$path" "$dev" 64 "$rep" "$NF_BENCH_CPU_PPS"
		done
	done
	timeout 10 sh -c "echo reset > $PG/pgctrl" 2> /dev/null
}

# ---------------------------------------------------------------------------
# 1. iperf3 TCP to the peer

# irq_per_cpu DEV: DEV's interrupt counts per CPU, summed over its vectors ("n0 n1 ...")
irq_per_cpu() {
	awk -v d="$1" 'NR == 1 { n = NF; next }
		$NF == d || index($NF, d "-") == 1 { for (i = 2; i <= n + 1; i++) c[i - 2] += $i }
		END { for (i = 0; i < n; i++) printf "%s%d", (i ? " " : ""), c[i] }' \
		/proc/interrupts
}

# irq_delta "BEFORE" "AFTER": per-CPU differences of two irq_per_cpu results, comma-separated
irq_delta() {
	local -a a b delta=()
	local i
	read -ra a <<< "$1"
	read -ra b <<< "$2"
	for i in "${!b[@]}"; do delta+=($((b[i] - ${a[i]:-0}))); done
	local IFS=,
	echo "${delta[*]}"
}

# iperf_run PATH DEV VF REP: iperf3 through DEV; VF's tx counter shows who carried it
iperf_run() {
	local path=$1 dev=$2 vf=$3 rep=$4 f="iperf3-$1-$4.json" rc v0 v1
	local irq0 irqs pid cpu=''
	v0=$(nf_stat "$vf" tx_packets)
	irq0=$(irq_per_cpu "$vf")
	timeout -k 10 $((NF_BENCH_IPERF_SECONDS + 40)) iperf3 -c "$NF_PEER4" \
		-t "$NF_BENCH_IPERF_SECONDS" -J --connect-timeout 5000 > "$NF_RESULTS/$f" 2>&1 &
	pid=$!
	# Where the sender ran (halfway through) and where the VF's interrupts came: with 2
	# vCPUs, a sender sharing its CPU with the VF's interrupts and softirqs may be slower.
	sleep $((NF_BENCH_IPERF_SECONDS / 2))
	cpu=$(ps -o psr= -C iperf3 2> /dev/null | tr -d ' ' | paste -sd, -)
	wait "$pid"
	rc=$?
	irqs=$(irq_delta "$irq0" "$(irq_per_cpu "$vf")")
	v1=$(nf_stat "$vf" tx_packets)
	local mbps
	mbps=$(sed -n '/"sum_sent"/,/}/s/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' \
		"$NF_RESULTS/$f" | head -n1)
	bench_rec iperf3 path="$path" dev="$dev" rep="$rep" seconds="$NF_BENCH_IPERF_SECONDS" \
		rc="$rc" file="$f" vf="$vf" vf_tx="$(nf_num_diff "$v0" "$v1")" \
		sender_cpu="$cpu" vf_irqs_per_cpu="$irqs"
	if [ "$rc" -ne 0 ]; then
		bench_err "iperf3 $path ($dev) rep $rep failed (rc=$rc): $(grep -m1 '"error"' "$NF_RESULTS/$f")"
		return 1
	fi
	say "iperf3 $path ($dev) rep $rep: ${mbps:-?} bit/s sent," \
		"VF $vf tx +$(nf_num_diff "$v0" "$v1") packets, sender on CPU ${cpu:-?}," \
		"VF interrupts per CPU $irqs"
}

vf_ready() { nf_carrier_is "$VF" 1 && nf_ping_peer 1; }

# Take the VF out of the failover: unbind the virtio device from virtio_net
# (the master goes away and releases the VF), give the VF the address.
vf_release() {
	local bdf
	bdf=$(nf_pci_of "$NF_PRI") || { bench_err "primary $NF_PRI is not a PCI device"; return 1; }
	VIRTIO_DEV=$(basename "$(readlink -f "/sys/class/net/$NF_SBY/device")")
	echo "$VIRTIO_DEV" > /sys/bus/virtio/drivers/virtio_net/unbind ||
		{ bench_err "cannot unbind $VIRTIO_DEV from virtio_net"; return 1; }
	nf_defer vf_restore
	if ! nf_wait 30 no_master; then
		bench_err "failover master still present after unbinding $VIRTIO_DEV"
		return 1
	fi
	VF=$(nf_pci_netdev "$bdf")
	if [ -z "$VF" ]; then
		bench_err "VF netdev of $bdf gone after unbinding $VIRTIO_DEV"
		return 1
	fi
	if ! ip link set dev "$VF" up || ! ip addr replace "$NF_ADDR4/$NF_PREFIX4" dev "$VF"; then
		bench_err "cannot configure the released VF $VF"
		return 1
	fi
	if ! nf_wait 60 vf_ready; then
		bench_err "released VF $VF: no carrier or peer unreachable"
		return 1
	fi
	say "VF $VF released from the failover ($VIRTIO_DEV unbound), $NF_ADDR4 on it"
}
vf_restore() {
	[ -n "${VF:-}" ] && ip addr flush dev "$VF" 2> /dev/null
	[ -n "${VIRTIO_DEV:-}" ] && [ ! -e "/sys/bus/virtio/devices/$VIRTIO_DEV/driver" ] &&
		echo "$VIRTIO_DEV" > /sys/bus/virtio/drivers/virtio_net/bind 2> /dev/null
	VF='' VIRTIO_DEV=''
	return 0
}

bench_iperf3() {
	local rep
	BENCH_PHASE=iperf3
	if ! command -v iperf3 > /dev/null; then
		bench_err "iperf3 not installed"
		return 1
	fi
	for ((rep = 1; rep <= NF_BENCH_REPS; rep++)); do
		nf_discover
		iperf_run master "$NF_M" "$NF_PRI" "$rep"
	done
	if vf_release; then
		for ((rep = 1; rep <= NF_BENCH_REPS; rep++)); do
			iperf_run vf "$VF" "$VF" "$rep"
		done
	fi
	nf_run_defers
	nf_bringup || { bench_err "topology not restored after the VF-only iperf3 runs"; return 1; }
	nf_discover
}

# ---------------------------------------------------------------------------
# 3+4. switch-over under a paced stream, re-plug timeline

# Watches the re-plug of the primary in a tight loop on CLOCK_REALTIME: the
# VF netdev appearing in sysfs (register_netdevice), its lower_ link under the
# master (enslaved), carrier, its tx counter moving (first packet through it);
# and reads the kernel log records written since its start, with a marker
# that maps printk time onto CLOCK_REALTIME.
write_watcher() {
	cat > "$NF_TMP/watch.py" << 'PY'
import json, os, re, sys, time

master, mac, bdf, out, ready = sys.argv[1:6]
deadline_s, poll_us = float(sys.argv[6]), float(sys.argv[7])
reg_re, txvia_re = re.compile(sys.argv[8], re.I), re.compile(sys.argv[9], re.I)
NET = "/sys/class/net"
RT = time.CLOCK_REALTIME


def now():
    return time.clock_gettime(RT)


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


kmsg = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
os.lseek(kmsg, 0, os.SEEK_END)
marker = "nf_bench: clock mark %d" % os.getpid()
w = os.open("/dev/kmsg", os.O_WRONLY)
t_mark0 = now()
os.write(w, (marker + "\n").encode())
t_mark1 = now()
os.close(w)

base = set(os.listdir(NET))
res = {"vf": None, "t_register": None, "t_enslave": None, "t_carrier": None,
       "t_first_tx": None, "tx_at_register": None}
open(ready, "w").close()
end = now() + deadline_s
sleep = poll_us / 1e6
loops = 0
t_start = now()
vf = None
while True:
    t = now()
    loops += 1
    if t > end:
        break
    if vf is None:
        for n in os.listdir(NET):
            if n not in base and (read("%s/%s/address" % (NET, n)) or "").lower() == mac:
                vf = n
                res["vf"], res["t_register"] = n, t
                tx = read("%s/%s/statistics/tx_packets" % (NET, n))
                res["tx_at_register"] = int(tx) if tx else 0
                break
    else:
        if res["t_enslave"] is None and os.path.lexists("%s/%s/lower_%s" % (NET, master, vf)):
            res["t_enslave"] = t
        if res["t_carrier"] is None and read("%s/%s/carrier" % (NET, vf)) == "1":
            res["t_carrier"] = t
        if res["t_first_tx"] is None:
            tx = read("%s/%s/statistics/tx_packets" % (NET, vf))
            if tx and int(tx) > res["tx_at_register"]:
                res["t_first_tx"] = t
        if res["t_first_tx"] is not None and res["t_enslave"] is not None:
            break
    if sleep:
        time.sleep(sleep)
res["timed_out"] = res["t_first_tx"] is None
res["poll_period_us"] = round((now() - t_start) / max(loops, 1) * 1e6, 1)

# kernel log since the marker: "prio,seq,usec,flags;text"; a moment's grace
# for a switch line printed just after the first packet went out
time.sleep(0.5)
recs = []
while True:
    try:
        b = os.read(kmsg, 8192)
    except BlockingIOError:
        break
    except BrokenPipeError:
        continue  # records overwritten while we read; go on
    if not b:
        break
    head, _, text = b.decode(errors="replace").partition(";")
    f = head.split(",")
    if len(f) >= 3:
        recs.append((int(f[2]) / 1e6, text.split("\n")[0]))
os.close(kmsg)
off = None
for ts, text in recs:
    if text == marker:
        off = (t_mark0 + t_mark1) / 2 - ts
        break
res["clock_mark_err_us"] = round((t_mark1 - t_mark0) / 2 * 1e6, 1)
lines = {}
if off is not None:
    def first(pred):
        for ts, text in recs:
            if pred(text):
                return ts + off, text
        return None, None
    res["t_pci_dmesg"], lines["pci"] = first(
        lambda s: bdf and bdf in s or re.search(r"pciehp|acpiphp|card present", s, re.I))
    res["t_reg_dmesg"], lines["register"] = first(
        lambda s: reg_re.search(s) and (vf is None or vf in s))
    if res["t_reg_dmesg"] is None:
        res["t_reg_dmesg"], lines["register"] = first(lambda s: reg_re.search(s))
    res["t_txvia_dmesg"], lines["txvia"] = first(lambda s: txvia_re.search(s))
res["lines"] = lines
res["kmsg_records"] = len(recs)
with open(out + ".tmp", "w") as f:
    json.dump(res, f)
os.replace(out + ".tmp", out)
PY
}

# the stream is on; re-plug the primary and time it
replug_action() {
	local rep=$1 bdf=$2 f="replug-$1.json" pid t_req t_ack rc
	rm -f "$NF_RESULTS/$f" "$NF_TMP/watch.ready"
	python3 "$NF_TMP/watch.py" "$NF_M" "$(echo "$NF_MAC" | tr 'A-F' 'a-f')" "$bdf" \
		"$NF_RESULTS/$f" "$NF_TMP/watch.ready" 90 "$NF_BENCH_POLL_US" \
		"$NF_BENCH_REG_RE" "$NF_BENCH_TXVIA_RE" 2> "$NF_TMP/watch.err" &
	pid=$!
	if ! nf_wait 30 test -e "$NF_TMP/watch.ready"; then
		kill "$pid" 2> /dev/null
		bench_err "re-plug watcher did not start: $(head -c 300 "$NF_TMP/watch.err")"
		return 1
	fi
	t_req=$EPOCHREALTIME
	host_do device_add "$NF_PRIMARY_QDEV" > "$NF_TMP/host.out" 2>&1
	rc=$?
	t_ack=$EPOCHREALTIME
	# the watcher stops by itself (first tx seen, or its 90 s deadline)
	nf_wait 100 pid_gone "$pid"
	kill "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	bench_rec replug rep="$rep" add_rc="$rc" t_req="$t_req" t_ack="$t_ack" file="$f" \
		host_out="$(head -c 200 "$NF_TMP/host.out")"
	[ "$rc" = 0 ] || { bench_err "host device_add $NF_PRIMARY_QDEV failed: $(cat "$NF_TMP/host.out")"; return 1; }
	[ -s "$NF_RESULTS/$f" ] || { bench_err "re-plug watcher wrote nothing: $(head -c 300 "$NF_TMP/watch.err")"; return 1; }
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved || { bench_err "primary not enslaved after device_add"; return 1; }
}
unplug_qmp() { host_do device_del "$NF_PRIMARY_QDEV" > "$NF_TMP/host.out" 2>&1; }
link_down() { ip link set dev "$PRI" down; }
link_up() { ip link set dev "$PRI" up && nf_wait 30 nf_carrier_is "$PRI" 1 && nf_tx_grows "$PRI" 100 20; }

# bench_stream EVENT REP CMD... : run CMD in the middle of a paced stream
bench_stream() {
	local ev=$1 rep=$2 name="$1-$2" t0 t1 rc
	shift 2
	: > "$NF_TMP/host.out"
	if ! nf_stream_start "$name" "$NF_BENCH_UDP_RATE"; then
		bench_err "stream $name could not start"
		nf_run_defers
		return 1
	fi
	nf_stream_advances "$name" $((NF_BENCH_UDP_RATE / 10)) 20 ||
		nf_diag "stream $name slow to reach the peer"
	t0=$EPOCHREALTIME
	"$@"
	rc=$?
	t1=$EPOCHREALTIME
	[ "$rc" = 0 ] || bench_err "$ev rep $rep: '$*' failed (rc=$rc): $(head -c 300 "$NF_TMP/host.out" 2> /dev/null)"
	sleep "$NF_BENCH_SETTLE"
	if nf_stream_stop "$name"; then
		bench_rec switchover event="$ev" rep="$rep" action_rc="$rc" t_action0="$t0" t_action1="$t1" \
			target_pps="$NF_BENCH_UDP_RATE" sent="$STREAM_SENT" rate_pps="$STREAM_RATE" \
			received="$STREAM_RECEIVED" lost="$STREAM_LOST" reordered="$STREAM_REORDERED" \
			max_gap_ms="$STREAM_MAXGAP" first_seq="$STREAM_FIRST" last_seq="$STREAM_LAST"
		say "stream $ev rep $rep: lost $STREAM_LOST of $STREAM_SENT, max gap $STREAM_MAXGAP ms," \
			"rate $STREAM_RATE pps"
	else
		bench_err "stream $name: no result"
	fi
	nf_run_defers
	return "$rc"
}

bench_switchover() {
	local rep bdf
	BENCH_PHASE=switchover
	if ! nf_host_ctl; then
		bench_err "host actions unavailable (NF_HOST_CTL!=1)"
		return 1
	fi
	write_watcher
	for ((rep = 1; rep <= NF_BENCH_SWITCH_REPS; rep++)); do
		if ! nf_bringup; then
			bench_err "topology not ready before switch-over rep $rep"
			return 1
		fi
		nf_discover
		bench_stream none "$rep" true
		bench_stream device_del "$rep" unplug_qmp
		bdf=$(nf_e1000e_bdf)
		if nf_discover && [ -n "$NF_PRI" ] || [ -n "$bdf" ]; then
			bench_err "primary still present after device_del (rep $rep): $(nf_roles) $bdf"
			continue
		fi
		# the same root port gives the re-added function the address it had
		bench_stream device_add "$rep" replug_action "$rep" "$PRIMARY_BDF" || continue
		nf_bringup > /dev/null 2>&1
		nf_discover
		PRI=$NF_PRI
		bench_stream link_down "$rep" link_down
		bench_stream link_up "$rep" link_up
	done
}

# ---------------------------------------------------------------------------
# 5. both modules in one boot

# pause the guest's own periodic work: guest-run.sh's heartbeat subshell (a
# fork and exec every 5 s; the host watchdog also watches output.txt, which
# every pktgen run writes to) and kmemleak's scan thread
QUIET_PIDS=
quiet_on() {
	local p pp
	for p in $(pgrep -f guest-run.sh); do
		pp=$(awk '{ print $4 }' "/proc/$p/stat" 2> /dev/null)
		[ -n "$pp" ] && grep -qa guest-run.sh "/proc/$pp/cmdline" 2> /dev/null &&
			kill -STOP "$p" 2> /dev/null && QUIET_PIDS+=" $p"
	done
	[ -w /sys/kernel/debug/kmemleak ] && echo scan=off > /sys/kernel/debug/kmemleak 2> /dev/null
	nf_defer quiet_off
	say "quiet guest: heartbeat loop stopped (pid${QUIET_PIDS:- none found})," \
		"kmemleak scan thread $([ -w /sys/kernel/debug/kmemleak ] && echo off || echo absent)"
}
quiet_off() {
	local p
	for p in $QUIET_PIDS; do kill -CONT "$p" 2> /dev/null; done
	QUIET_PIDS=
	[ -w /sys/kernel/debug/kmemleak ] && echo scan=on > /sys/kernel/debug/kmemleak 2> /dev/null
	return 0
}

# sb_load MODULE: virtio_net and net_failover out, MODULE's net_failover in,
# virtio_net back, the topology up again
sb_unload() {
	[ -n "${NF_M:-}" ] && ip link set dev "$NF_M" down 2> /dev/null
	if [ -d /sys/module/virtio_net ] && ! rmmod virtio_net; then
		bench_err "rmmod virtio_net failed"
		return 1
	fi
	if [ -d /sys/module/net_failover ] && ! rmmod net_failover; then
		bench_err "rmmod net_failover failed"
		return 1
	fi
}
sb_load() {
	local m=$1 ko
	sb_unload || return 1
	NF_MODULE=$m
	if ! nf_bringup; then
		bench_err "$m: topology did not come up after the reload"
		return 1
	fi
	nf_discover
	if ! nf_wait 30 sb_via_vf; then
		bench_err "$m: the master does not transmit through the VF 30 s after the reload: $(nf_roles)," \
			"VF carrier $(cat "/sys/class/net/$NF_PRI/carrier" 2> /dev/null)"
		return 1
	fi
	if [ "$m" = c ]; then
		ko=$NF_CREF_DIR/net_failover.ko
	else
		ko=$(modinfo -n net_failover 2> /dev/null)
	fi
	# which one is loaded: the C module uses failover.ko, ours does not
	if { [ -e /sys/module/failover/holders/net_failover ] && [ "$m" = rust ]; } ||
		{ [ ! -e /sys/module/failover/holders/net_failover ] && [ "$m" = c ]; }; then
		bench_err "$m: the loaded net_failover is not the $m one (failover holders: $(ls /sys/module/failover/holders 2> /dev/null))"
		return 1
	fi
	SB_KO_SUM=$(md5sum < "$ko" 2> /dev/null | cut -c1-12)
	bench_rec sbload module="$m" round="$SB_ROUND" ko="$ko" ko_md5="$SB_KO_SUM" roles="$(nf_roles)"
	say "round $SB_ROUND: $m net_failover loaded ($ko, md5 $SB_KO_SUM): $(nf_roles)"
}

# sb_via_vf: the VF has carrier and a ping through the master leaves through
# the VF, none through the standby. nf_bringup only waits for the master's
# carrier, which the standby alone gives; the VF's (emulated link
# negotiation) comes ~0.5 s later, and until then pktgen on the VF sends
# nothing and pktgen on the master goes through the standby.
sb_via_vf() {
	local v s dv ds
	nf_carrier_is "$NF_PRI" 1 || return 1
	v=$(nf_stat "$NF_PRI" tx_packets) && s=$(nf_stat "$NF_SBY" tx_packets) || return 1
	nf_ping_peer 1 || return 1
	dv=$(nf_stat_delta "$NF_PRI" tx_packets "$v" 2> /dev/null) &&
		ds=$(nf_stat_delta "$NF_SBY" tx_packets "$s" 2> /dev/null) &&
		[ "$dv" -ge 1 ] && [ "$ds" = 0 ]
}

# ---------------------------------------------------------------------------
# 5b. same-boot extras (NF_BENCH_SB_EXTRA="tcp rx"): guest instructions per
# unit of work. Under -icount shift=0,sleep=off the guest's clock counts 1 ns
# per instruction while the vCPU runs and follows the host's clock while it is
# halted (waiting for ACKs or frames), so only the time outside HLT counts.
# From trace events of the window (two trace_marker records bound it; trace
# clock, µs):
#  - busy = elapsed − halted. default_idle_call() brackets each HLT with
#    power:cpu_idle events, but the interrupt that ends the HLT, and the
#    softirqs run on its exit, come before the closing event: a halt ends at
#    the first interrupt entry (irq:irq_handler_entry, irq_vectors:*_entry)
#    after its opening event (the guest has no cpuidle driver whose residency
#    counters would do);
#  - net_rx = the time inside NET_RX softirqs (irq:softirq_entry/exit vec=3):
#    NAPI polls, the drivers' rx, the rx handler and the stack.
# /proc/stat's busy time (10 ms units, tick-sampled) is recorded as a
# cross-check.

TRF=/sys/kernel/tracing
sb_trace_init() {
	local e
	mountpoint -q $TRF || mount -t tracefs nodev $TRF 2> /dev/null
	if [ ! -w $TRF/trace_marker ] || [ ! -e $TRF/events/power/cpu_idle/enable ] ||
		[ ! -e $TRF/events/irq/softirq_entry/enable ]; then
		bench_err "sameboot extras: no tracefs power:cpu_idle / irq events (CONFIG_TRACING off?)"
		return 1
	fi
	echo 0 > $TRF/tracing_on
	echo nop > $TRF/current_tracer
	echo 16384 > $TRF/buffer_size_kb
	echo local > $TRF/trace_clock
	echo 0 > $TRF/events/enable
	SB_EVENTS=()
	for e in power/cpu_idle irq/irq_handler_entry irq/softirq_entry irq/softirq_exit \
		"$TRF"/events/irq_vectors/*_entry; do
		e=${e#"$TRF/events/"}
		[ -e "$TRF/events/$e/enable" ] && SB_EVENTS+=("$TRF/events/$e/enable")
	done
	nf_defer sb_trace_off
}
sb_trace_off() {
	echo 0 > $TRF/tracing_on 2> /dev/null
	echo 0 > $TRF/events/enable 2> /dev/null
	: > $TRF/trace 2> /dev/null
	return 0
}
# the events are on in the windows only: an enabled tracepoint costs
# instructions even with tracing_on 0 (pktgen's runs would pay for them)
sb_events() {
	local e
	for e in "${SB_EVENTS[@]}"; do echo "$1" > "$e"; done
}
# fork-free between the two markers
sb_win_open() {
	: > $TRF/trace
	sb_events 1
	echo 1 > $TRF/tracing_on
	echo nf_w0 > $TRF/trace_marker
	read -r SB_C0 < /proc/stat
}
sb_win_close() {
	read -r SB_C1 < /proc/stat
	echo nf_w1 > $TRF/trace_marker
	echo 0 > $TRF/tracing_on
	sb_events 0
	# "elapsed_ns halted_ns halts net_rx_ns net_rx_polls overrun" of the window
	SB_WIN=$(python3 - "$TRF" << 'PY'
import re, sys
trf = sys.argv[1]
t0 = t1 = None
halted = rx = 0.0
halts = polls = 0
idle_at = rx_at = None
pat = re.compile(r"\s(\d+\.\d+): ([a-z_]+): (.*)$")
with open(trf + "/trace") as f:
    for line in f:
        m = pat.search(line)
        if not m:
            continue
        ts, ev, rest = float(m.group(1)), m.group(2), m.group(3).strip()
        if ev == "tracing_mark_write":
            if rest == "nf_w0":
                t0 = ts
            elif rest == "nf_w1":
                t1 = ts
            continue
        if t0 is None or t1 is not None:
            continue
        if ev == "cpu_idle":
            if not rest.startswith("state=4294967295"):
                idle_at = ts
            elif idle_at is not None:  # woken without a traced interrupt
                halted += ts - idle_at
                halts += 1
                idle_at = None
        elif ev.endswith("_entry") and ev != "softirq_entry":
            if idle_at is not None:
                halted += ts - idle_at
                halts += 1
                idle_at = None
        elif ev == "softirq_entry" and rest.startswith("vec=3 "):
            rx_at = ts
        elif ev == "softirq_exit" and rest.startswith("vec=3 ") and rx_at is not None:
            rx += ts - rx_at
            polls += 1
            rx_at = None
over = 0
try:
    with open(trf + "/per_cpu/cpu0/stats") as f:
        for line in f:
            if line.startswith("overrun:"):
                over = int(line.split()[1])
except OSError:
    pass
if t0 is None or t1 is None:
    print("- - - - - %d" % over)
else:
    print("%d %d %d %d %d %d" % (round((t1 - t0) * 1e9), round(halted * 1e9), halts,
                                 round(rx * 1e9), polls, over))
PY
	)
}
# the busy USER_HZ ticks (user nice system irq softirq steal) in a /proc/stat "cpu" line
sb_ticks() { awk '{ print $2 + $3 + $4 + $7 + $8 + $9 }' <<< "$1"; }

# sb_rec KIND PATH MODULE k=v...: one extra sample with the window's figures
sb_rec() {
	local what=$1 path=$2 m=$3 el id n rx np ov
	shift 3
	read -r el id n rx np ov <<< "$SB_WIN"
	if [ "$el" = - ] || [ -z "$el" ]; then
		bench_err "$what $path ($m) round $SB_ROUND: window markers missing from the trace"
		return 1
	fi
	[ "$ov" = 0 ] || bench_err "$what $path ($m) round $SB_ROUND: trace buffer overrun ($ov events lost)"
	bench_rec sbextra what="$what" path="$path" module="$m" round="$SB_ROUND" \
		elapsed_ns="$el" halted_ns="$id" halts="$n" trace_overrun="$ov" \
		busy_ns="$((el - id))" net_rx_ns="$rx" net_rx_softirqs="$np" cpu_ticks="$(($(sb_ticks "$SB_C1") - $(sb_ticks "$SB_C0")))" hz="$HZ" \
		ko_md5="${SB_KO_SUM:-}" "$@"
	SB_BUSY=$((el - id)) SB_EL=$el SB_NETRX=$rx
}

# sb_tcp PATH MODULE TXDEV OTHERDEV: iperf3 -n to the peer; TXDEV should carry it
sb_tcp() {
	local path=$1 m=$2 dev=$3 other=$4 f="sb-iperf3-$SB_ROUND-$2-$1.json" v0 v1 o0 o1 rc vals
	v0=$(nf_stat "$dev" tx_packets) o0=$( [ -n "$other" ] && nf_stat "$other" tx_packets)
	sb_win_open
	timeout -k 10 600 iperf3 -c "$NF_PEER4" -n "$NF_BENCH_SB_TCP_BYTES" -J --connect-timeout 5000 \
		> "$NF_RESULTS/$f" 2>&1
	rc=$?
	sb_win_close
	v1=$(nf_stat "$dev" tx_packets) o1=$( [ -n "$other" ] && nf_stat "$other" tx_packets)
	vals=$(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
s = e["sum_sent"]
print(s["bytes"], round(s["bits_per_second"] / 1e6, 3), s.get("retransmits", 0),
      round(e["cpu_utilization_percent"]["host_total"], 1))' "$NF_RESULTS/$f" 2> /dev/null)
	if [ "$rc" != 0 ] || [ -z "$vals" ]; then
		bench_err "iperf3 -n $NF_BENCH_SB_TCP_BYTES $path ($m) round $SB_ROUND failed (rc=$rc):" \
			"$(grep -m1 '"error"' "$NF_RESULTS/$f")"
		return 1
	fi
	local bytes mbps retr util
	read -r bytes mbps retr util <<< "$vals"
	sb_rec tcp "$path" "$m" bytes="$bytes" mbps="$mbps" retransmits="$retr" iperf_cpu_pct="$util" \
		dev="$dev" dev_tx="$(nf_num_diff "$v0" "$v1")" other="$other" other_tx="$(nf_num_diff "$o0" "$o1")" \
		file="$f" || return 1
	say "round $SB_ROUND tcp $path ($m): $bytes bytes, $mbps Mbit/s (guest clock), busy $SB_BUSY of $SB_EL ns," \
		"$(awk -v b="$SB_BUSY" -v n="$bytes" 'BEGIN { printf "%.0f", b / (n / 1e6) }') busy ns/MB," \
		"$dev tx +$(nf_num_diff "$v0" "$v1"), ${other:-none} tx +$(nf_num_diff "$o0" "$o1")"
}

# sb_rx_polled DEV on|off: DEV's NAPI polled from a timer every
# NF_BENCH_SB_RX_POLL_US with its interrupt left off (napi_defer_hard_irqs,
# gro_flush_timeout), and back. Polled like this, each poll finds the rx ring
# that the flood refilled since the last one, whatever the host's speed: the
# per-poll cost is spread over a ring's worth of frames, not over however many
# frames QEMU happened to deliver before an interrupt.
sb_rx_polled() {
	local d=/sys/class/net/$1
	if [ "$2" = on ]; then
		read -r SB_DEFER0 < "$d/napi_defer_hard_irqs"
		read -r SB_GRO0 < "$d/gro_flush_timeout"
		if ! echo 1000 > "$d/napi_defer_hard_irqs" ||
			! echo $((NF_BENCH_SB_RX_POLL_US * 1000)) > "$d/gro_flush_timeout"; then
			bench_err "rx: cannot set timer polling on $1"
		fi
	else
		echo "${SB_GRO0:-0}" > "$d/gro_flush_timeout"
		echo "${SB_DEFER0:-0}" > "$d/napi_defer_hard_irqs"
	fi 2> /dev/null
}
_sb_rx_quiet() {
	local a b
	a=$(nf_stat "$1" rx_packets) && sleep 0.2 && b=$(nf_stat "$1" rx_packets) && [ "$a" = "$b" ]
}
_sb_rx_grew() { local d; d=$(nf_stat_delta "$1" rx_packets "$2" 2> /dev/null) && [ "$d" -ge "$3" ]; }
# sb_rx PATH MODULE RXDEV OTHERDEV TAP: a host flood into TAP for the window;
# RXDEV should receive it
sb_rx() {
	local path=$1 m=$2 dev=$3 other=$4 tap=$5 name="rxflood-$SB_ROUND-$2-$1" r0 r1 o0 o1 m0 m1 base
	base=$(nf_stat "$dev" rx_packets) || { bench_err "rx $path ($m): no $dev"; return 1; }
	sb_rx_polled "$dev" on
	if ! host_do peer_bg "$name" python3 "$(nf_host_path rxflood.py)" --dev "$tap" \
		--dst-mac "$NF_MAC" --dst "$NF_ADDR4" --src "$NF_PEER4" --port "$SB_RX_PORT" \
		--rate "$NF_BENCH_SB_RX_PPS" --duration 600 --out "$(nf_host_path "$name.json")" > /dev/null; then
		bench_err "rx $path ($m) round $SB_ROUND: host flood into $tap did not start"
		return 1
	fi
	if ! nf_wait 60 _sb_rx_grew "$dev" "$base" 2000; then
		bench_err "rx $path ($m) round $SB_ROUND: $dev received $(nf_stat_delta "$dev" rx_packets "$base") of the flood in 60 s"
		host_do peer_kill "$name" > /dev/null 2>&1
		sb_rx_polled "$dev" off
		return 1
	fi
	sb_win_open
	read -r r0 < "/sys/class/net/$dev/statistics/rx_packets"
	[ -n "$other" ] && read -r o0 < "/sys/class/net/$other/statistics/rx_packets"
	[ -n "${SB_MASTER:-}" ] && read -r m0 < "/sys/class/net/$SB_MASTER/statistics/rx_packets"
	sleep "$NF_BENCH_SB_RX_SECONDS"
	read -r r1 < "/sys/class/net/$dev/statistics/rx_packets"
	[ -n "$other" ] && read -r o1 < "/sys/class/net/$other/statistics/rx_packets"
	[ -n "${SB_MASTER:-}" ] && read -r m1 < "/sys/class/net/$SB_MASTER/statistics/rx_packets"
	sb_win_close
	host_do peer_kill "$name" > /dev/null 2>&1
	# the flood's tail drains before the next measurement
	nf_wait 30 _sb_rx_quiet "$dev"
	sb_rx_polled "$dev" off
	sb_rec rx "$path" "$m" dev="$dev" tap="$tap" size=64 rx="$((r1 - r0))" \
		other="$other" other_rx="$(nf_num_diff "${o0:-}" "${o1:-}")" \
		master_rx="$(nf_num_diff "${m0:-}" "${m1:-}")" flood_pps="$NF_BENCH_SB_RX_PPS" \
		poll_us="$NF_BENCH_SB_RX_POLL_US" || return 1
	say "round $SB_ROUND rx $path ($m): $dev rx +$((r1 - r0)) (${other:-none} +$(nf_num_diff "${o0:-}" "${o1:-}")," \
		"master +$(nf_num_diff "${m0:-}" "${m1:-}")), busy $SB_BUSY of $SB_EL ns," \
		"$((SB_BUSY / (r1 - r0 > 0 ? r1 - r0 : 1))) busy ns/frame," \
		"$((SB_NETRX / (r1 - r0 > 0 ? r1 - r0 : 1))) NET_RX ns/frame"
}

# sb_extras MODULE: the NF_BENCH_SB_EXTRA figures with MODULE's master up
sb_extras() {
	local m=$1 p q
	SB_MASTER=$NF_M
	for p in $NF_BENCH_SB_EXTRA; do
		case "$p" in
		tcp) sb_tcp master "$m" "$NF_PRI" "$NF_SBY" ;;
		rx)
			for q in $NF_BENCH_SB_RX_PATHS; do
				case "$q" in
				vf) sb_rx vf "$m" "$NF_PRI" "$NF_SBY" "$NF_TAP_PRI" ;;
				standby) sb_rx standby "$m" "$NF_SBY" "$NF_PRI" "$NF_TAP_SBY" ;;
				esac
			done
			;;
		esac
	done
}

# sb_vf_alone: no failover module loaded (virtio_net and net_failover out),
# the VF on its own with the guest's address: the extras through it
sb_vf_alone() {
	local vf p was_up
	sb_unload || return 1
	vf=$(nf_pci_netdev "$PRIMARY_BDF")
	if [ -z "$vf" ]; then
		bench_err "VF alone: no netdev on $PRIMARY_BDF"
		return 1
	fi
	VF=$vf SB_MASTER='' SB_KO_SUM=''
	nf_is_up "$vf" && was_up=1 || was_up=0
	if ! ip link set dev "$vf" up || ! ip addr replace "$NF_ADDR4/$NF_PREFIX4" dev "$vf"; then
		bench_err "VF alone: cannot configure $vf"
		return 1
	fi
	if nf_wait 60 vf_ready; then
		say "round $SB_ROUND: no failover module, VF $vf alone with $NF_ADDR4"
		for p in $NF_BENCH_SB_EXTRA; do
			case "$p" in
			tcp) sb_tcp vf none "$vf" "" ;;
			rx) case " $NF_BENCH_SB_RX_PATHS " in *" vf "*) sb_rx vf none "$vf" "" "$NF_TAP_PRI" ;; esac ;;
			esac
		done
	else
		bench_err "VF alone: $vf has no carrier or the peer is unreachable"
	fi
	ip addr flush dev "$vf" 2> /dev/null
	[ "$was_up" = 1 ] || ip link set dev "$vf" down
	VF=''
}

# start the extras' guest side: tracefs, the rx flood's sink (a UDP socket
# that is never read: frames past its buffer are dropped there, after the
# whole IP/UDP receive path), the flood sender on the results dir for the host
SB_RX_PORT=9
sb_extras_init() {
	[ -n "$NF_BENCH_SB_EXTRA" ] || return 0
	sb_trace_init || return 1
	case " $NF_BENCH_SB_EXTRA " in *" rx "*)
		if ! nf_host_ctl || ! cp "$lib_dir/rxflood.py" "$NF_RESULTS/rxflood.py"; then
			bench_err "sameboot rx: host actions unavailable or rxflood.py not copied"
			return 1
		fi
		python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("0.0.0.0", int(sys.argv[1])))
time.sleep(1e6)' "$SB_RX_PORT" &
		SB_SINK_PID=$!
		nf_defer kill "$SB_SINK_PID"
		;;
	esac
	if ! command -v iperf3 > /dev/null && [[ " $NF_BENCH_SB_EXTRA " == *" tcp "* ]]; then
		bench_err "sameboot tcp: iperf3 not installed"
		return 1
	fi
}

sb_reverse() {
	local i out=
	for ((i = $#; i > 0; i--)); do out+="${!i} "; done
	echo "$out"
}

bench_sameboot() {
	local round m size path dev order mode rep mods
	BENCH_PHASE=sameboot
	pktgen_ready || return 1
	quiet_on
	sb_extras_init || NF_BENCH_SB_EXTRA=
	PG_KIND=sameboot
	for ((round = 1 - NF_BENCH_SB_WARMUP; round <= NF_BENCH_SB_ROUNDS; round++)); do
		((round > 0)) && SB_ROUND=$round || SB_ROUND=0
		# A B, B A, A B, ...: each module and path goes first every other
		# round, so a drift over the boot does not favour one
		mods=$NF_BENCH_SB_MODULES order=$NF_BENCH_SB_PATHS
		if ! ((round % 2)); then
			# shellcheck disable=SC2086 # split into words on purpose
			mods=$(sb_reverse $mods) order=$(sb_reverse $order)
		fi
		[ -n "$NF_BENCH_SB_EXTRA" ] && [ "$NF_BENCH_SB_VFALONE" = 1 ] && sb_vf_alone
		for m in $mods; do
			sb_load "$m" || continue
			for mode in $NF_BENCH_SB_MODES; do
				NF_BENCH_PKTGEN_MODE=$mode
				for size in $NF_BENCH_SB_SIZES; do
					for path in $order; do
						for ((rep = 1; rep <= NF_BENCH_REPS; rep++)); do
							if [ "$path" = master ]; then dev=$NF_M; else dev=$NF_PRI; fi
							PG_EXTRA=(module="$m" round="$SB_ROUND" ko_md5="$SB_KO_SUM")
							pktgen_run "$path" "$dev" "$size" "$rep"
						done
					done
				done
			done
			[ -n "$NF_BENCH_SB_EXTRA" ] && sb_extras "$m"
		done
	done
	PG_KIND='' PG_EXTRA=()
	timeout 10 sh -c "echo reset > $PG/pgctrl" 2> /dev/null
	nf_run_defers
}

# ---------------------------------------------------------------------------

bench_exit() {
	nf_run_defers
	[ -n "${NF_TMP:-}" ] && rm -rf "$NF_TMP"
}

assemble() {
	python3 - "$SAMPLES" "$NF_RESULTS" "$NF_RESULTS/bench.json" << 'PY'
import json, os, statistics, sys

samples, results, out = sys.argv[1:4]
rows = []
with open(samples) as f:
    for line in f:
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                rows.append({"kind": "error", "phase": "assemble", "msg": "bad sample %r: %s" % (line[:200], e)})


def pop_kind(r):
    r = dict(r)
    r.pop("kind", None)
    return r


def ms(a, b):
    return None if a is None or b is None else round((b - a) * 1000.0, 3)


meta = next((pop_kind(r) for r in rows if r["kind"] == "meta"), {})
params = next((pop_kind(r) for r in rows if r["kind"] == "params"), {})
perf = next((pop_kind(r) for r in rows if r["kind"] == "perf"), {"usable": 0, "reason": "not probed"})
doc = {"schema": "nf-bench/1", "module": params.get("module"), "meta": meta, "params": params,
       "perf": {"usable": bool(perf.get("usable")), "reason": perf.get("reason", "")},
       "pktgen": [], "iperf3": [], "switchover": [], "replug": [], "sameboot": [],
       "sbload": [], "sbextra": [], "errors": []}
for r in rows:
    k = r["kind"]
    r = pop_kind(r)
    if k == "pktgen":
        sent = r.get("sent") or 0
        r["cpu_ns_per_pkt"] = round(r["cpu_ticks"] * 1e9 / r["hz"] / sent, 1) if sent and r.get("hz") else None
        if "cycles" in r and sent:
            r["cycles_per_pkt"] = round(r["cycles"] / sent, 1)
            r["ipc"] = round(r["instructions"] / r["cycles"], 3) if r.get("cycles") else None
        doc["pktgen"].append(r)
    elif k == "iperf3":
        try:
            with open(os.path.join(results, r["file"])) as f:
                j = json.load(f)
            if "error" in j:
                r["error"] = j["error"]
            e = j.get("end", {})
            s, rc = e.get("sum_sent", {}), e.get("sum_received", {})
            r["sent_mbps"] = round(s["bits_per_second"] / 1e6, 3) if "bits_per_second" in s else None
            r["recv_mbps"] = round(rc["bits_per_second"] / 1e6, 3) if "bits_per_second" in rc else None
            r["retransmits"] = s.get("retransmits")
        except (OSError, ValueError, KeyError) as e:
            r["error"] = "unreadable iperf3 output: %s" % e
        if r.get("recv_mbps") is None:
            doc["errors"].append({"phase": "iperf3", "msg": "%s rep %s: %s" % (r["path"], r["rep"], r.get("error"))})
        doc["iperf3"].append(r)
    elif k == "switchover":
        r["action_ms"] = ms(r.pop("t_action0", None), r.pop("t_action1", None))
        doc["switchover"].append(r)
    elif k == "replug":
        try:
            with open(os.path.join(results, r["file"])) as f:
                r.update(json.load(f))
        except (OSError, ValueError) as e:
            r["error"] = "no watcher result: %s" % e
        g = r.get
        r["req_to_enslave_ms"] = ms(g("t_req"), g("t_enslave"))
        r["ack_to_enslave_ms"] = ms(g("t_ack"), g("t_enslave"))
        r["pci_to_enslave_ms"] = ms(g("t_pci_dmesg"), g("t_enslave"))
        r["register_to_enslave_ms"] = ms(g("t_register"), g("t_enslave"))
        r["register_to_first_tx_ms"] = ms(g("t_register"), g("t_first_tx"))
        r["enslave_to_first_tx_ms"] = ms(g("t_enslave"), g("t_first_tx"))
        r["carrier_to_first_tx_ms"] = ms(g("t_carrier"), g("t_first_tx"))
        r["dmesg_register_to_first_tx_ms"] = ms(g("t_reg_dmesg"), g("t_first_tx"))
        r["dmesg_register_to_txvia_ms"] = ms(g("t_reg_dmesg"), g("t_txvia_dmesg"))
        doc["replug"].append(r)
    elif k == "sameboot":
        sent = r.get("sent") or 0
        # under -icount shift=0: guest ns = guest instructions
        r["ns_per_pkt"] = round(r["usec"] * 1000.0 / sent, 1) if sent else None
        r["thread_ns_per_pkt"] = round(r["thread_ns"] / sent, 1) if sent and "thread_ns" in r else None
        doc["sameboot"].append(r)
    elif k == "sbload":
        doc["sbload"].append(r)
    elif k == "sbextra":
        doc["sbextra"].append(r)
    elif k == "error":
        doc["errors"].append(r)
doc["meta"]["finished"] = round(__import__("time").time(), 3)
with open(out + ".tmp", "w") as f:
    json.dump(doc, f, indent=1)
os.replace(out + ".tmp", out)

# human summary
def line(name, vals, unit=""):
    v = [x for x in vals if x is not None]
    if not v:
        print("  %-44s n=0" % name)
        return
    print("  %-44s n=%-2d min %-11.6g median %-11.6g max %-11.6g %s"
          % (name, len(v), min(v), statistics.median(v), max(v), unit))

print("bench summary (module %s, kernel %s):" % (doc["module"], meta.get("kernel")))
if params.get("phases", "").split() == ["sameboot"]:
    line = (lambda f: lambda name, vals, unit="": f(name, vals, unit) if any(
        x is not None for x in vals) else None)(line)
sb = doc["sameboot"]
for mode in sorted({r["mode"] for r in sb}):
    for size in (64, 1500):
        for path in ("vf", "master"):
            for mod in ("rust", "c"):
                rs = [r for r in sb if r["mode"] == mode and r["size"] == size and r["path"] == path
                      and r["module"] == mod]
                if rs:
                    line("same boot %s %s %s %dB" % (mod, path, mode, size),
                         [r["ns_per_pkt"] for r in rs], "ns/pkt")
for size in (64, 1500):
    for path in ("master", "vf"):
        line("pktgen %s %dB" % (path, size), [r["pps"] for r in doc["pktgen"]
             if r["size"] == size and r["path"] == path and not r.get("paced_pps")], "pps")
for path in ("master", "vf"):
    rs = [r for r in doc["pktgen"] if r["path"] == path and r.get("paced_pps")]
    line("pktgen %s 64B paced, CPU" % path, [r["cpu_ns_per_pkt"] for r in rs], "ns/pkt")
    if doc["perf"]["usable"]:
        line("pktgen %s 64B paced, cycles" % path, [r.get("cycles_per_pkt") for r in rs], "cycles/pkt")
for path in ("master", "vf"):
    line("iperf3 TCP %s" % path, [r.get("recv_mbps") for r in doc["iperf3"] if r["path"] == path], "Mbit/s")
for ev in ("none", "device_del", "link_down", "device_add", "link_up"):
    rs = [r for r in doc["switchover"] if r["event"] == ev]
    line("stream %s lost" % ev, [r["lost"] for r in rs], "packets")
    line("stream %s max gap" % ev, [r["max_gap_ms"] for r in rs], "ms")
for k in ("req_to_enslave_ms", "register_to_enslave_ms", "enslave_to_first_tx_ms",
          "register_to_first_tx_ms", "carrier_to_first_tx_ms", "dmesg_register_to_first_tx_ms",
          "dmesg_register_to_txvia_ms"):
    line("replug " + k[:-3].replace("_", " "), [r.get(k) for r in doc["replug"]], "ms")
if not doc["perf"]["usable"]:
    print("  perf: not usable: " + doc["perf"]["reason"])
for e in doc["errors"]:
    print("  ERROR [%s] %s" % (e.get("phase"), e.get("msg")))
missing = [k for k, phase in (("pktgen", "pktgen"), ("iperf3", "iperf3"),
                              ("switchover", "switchover"), ("replug", "switchover"),
                              ("sameboot", "sameboot"))
           if phase in params.get("phases", "").split() and not doc[k]]
if missing:
    print("  no samples at all for: " + ", ".join(missing))
sys.exit(1 if missing else 0)
PY
}

main() {
	local rc=0
	nf_require_topology
	trap bench_exit EXIT
	trap 'exit 1' INT TERM
	SAMPLES=$NF_RESULTS/bench-samples.jsonl
	: > "$SAMPLES"
	HZ=$(getconf CLK_TCK 2> /dev/null || echo 100)
	BENCH_PHASE=bringup
	bench_rec params reps="$NF_BENCH_REPS" pktgen_count="$NF_BENCH_PKTGEN_COUNT" \
		pktgen_mode="$NF_BENCH_PKTGEN_MODE" pktgen_dst="$PG_DST" \
		cpu_pps="$NF_BENCH_CPU_PPS" cpu_seconds="$NF_BENCH_CPU_SECONDS" \
		iperf_seconds="$NF_BENCH_IPERF_SECONDS" switch_reps="$NF_BENCH_SWITCH_REPS" \
		udp_rate="$NF_BENCH_UDP_RATE" settle_s="$NF_BENCH_SETTLE" poll_us="$NF_BENCH_POLL_US" \
		reg_re="$NF_BENCH_REG_RE" txvia_re="$NF_BENCH_TXVIA_RE" phases="$NF_BENCH_PHASES" \
		module="$NF_MODULE" started="$EPOCHREALTIME" sb_rounds="$NF_BENCH_SB_ROUNDS" \
		sb_modules="$NF_BENCH_SB_MODULES" sb_modes="$NF_BENCH_SB_MODES" sb_warmup="$NF_BENCH_SB_WARMUP" \
		sb_extra="$NF_BENCH_SB_EXTRA" sb_tcp_bytes="$NF_BENCH_SB_TCP_BYTES" sb_rx_pps="$NF_BENCH_SB_RX_PPS" \
		sb_rx_seconds="$NF_BENCH_SB_RX_SECONDS" sb_rx_poll_us="$NF_BENCH_SB_RX_POLL_US"
	say "module $NF_MODULE, kernel $(uname -r), phases: $NF_BENCH_PHASES"
	if ! nf_bringup; then
		bench_err "failover topology did not come up"
		assemble
		return 1
	fi
	nf_discover
	say "roles: $(nf_roles)"
	PRIMARY_BDF=$(nf_pci_of "$NF_PRI")
	collect_meta
	phase_on pktgen && bench_pktgen
	phase_on iperf3 && bench_iperf3
	phase_on switchover && bench_switchover
	phase_on sameboot && bench_sameboot
	nf_run_defers
	nf_bringup > /dev/null 2>&1 || say "warning: topology not restored at the end"
	assemble || rc=1
	say "results: $NF_RESULTS/bench.json"
	return $rc
}

main "$@"
