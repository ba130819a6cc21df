# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by bench/*.sh: tools, cleanup, the bench's own network (two netns
# on a veth pair it creates), cgroups, and median/min/max arithmetic.
# Sourced, not run.  Every resource a bench creates is registered here and
# removed by bench_cleanup, which runs on any exit (trap).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_DIR/.." && pwd)
SCB=${SCB:-$BENCH_REPO/sockops-cb}
# Short runs by default; BENCH_ROUNDS raises the round count.
BENCH_ROUNDS=${BENCH_ROUNDS:-10}
# The only addresses the benches ever talk to: their own veth pair.
BENCH_SRV_IP=10.213.0.1
BENCH_CLI_IP=10.213.0.2
BENCH_PREFIX=scb-bench

BENCH_PIDS=()
BENCH_CGROUPS=()
BENCH_NETNS=()
BENCH_TARGETS=()
BENCH_AFTER=()
BENCH_TMP=
BENCH_STATS_WAS=
BENCH_TRACEFS_MOUNTED=

bench_msg()
{
	echo "${0##*/}: $*" >&2
}

bench_die()
{
	bench_msg "error: $*"
	exit 1
}

# The cgroup2 mount point, from mountinfo (hybrid here, pure v2 elsewhere).
cg2_mount()
{
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	       if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo
}

# bench_tools PKG:CMD...: install the Debian packages whose command is
# missing; apt-get update only when the install fails without it.
bench_tools()
{
	local pc missing=()

	for pc in "$@"; do
		command -v "${pc#*:}" >/dev/null 2>&1 || missing+=("${pc%%:*}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	bench_msg "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
		  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
		bench_die "cannot install ${missing[*]}"
}

bench_init()
{
	[ "$(id -u)" -eq 0 ] || bench_die "must run as root"
	[ -x "$SCB" ] || bench_die "$SCB is missing: run make"
	CG2=$(cg2_mount)
	[ -n "$CG2" ] || bench_die "no cgroup2 mount"
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scb-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# Kill registered processes, detach registered targets, remove cgroups
# (deepest first), netns (their veth goes with them), restore sysctls.
bench_cleanup()
{
	local i p cg n rc=$?

	trap - EXIT INT TERM HUP
	for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
		kill "${BENCH_PIDS[i]}" 2>/dev/null
	done
	for p in "${BENCH_PIDS[@]}"; do
		for i in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in "${BENCH_TARGETS[@]}"; do
		"$SCB" detach "$n" >/dev/null 2>&1
	done
	for ((i = ${#BENCH_AFTER[@]} - 1; i >= 0; i--)); do
		eval "${BENCH_AFTER[i]}" >/dev/null 2>&1
	done
	for ((i = ${#BENCH_CGROUPS[@]} - 1; i >= 0; i--)); do
		cg=${BENCH_CGROUPS[i]}
		[ -d "$cg" ] || continue
		# Anything still inside (a stray client) goes first.
		while read -r p; do
			kill -9 "$p" 2>/dev/null
		done <"$cg/cgroup.procs"
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.1
		done
	done
	for n in "${BENCH_NETNS[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
	[ -n "$BENCH_STATS_WAS" ] && sysctl -qw kernel.bpf_stats_enabled="$BENCH_STATS_WAS"
	[ -n "$BENCH_TRACEFS_MOUNTED" ] && umount /sys/kernel/tracing 2>/dev/null
	[ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
	exit "$rc"
}

# bench_bg CMD...: run in the background, killed at exit; sets BG_PID.
bench_bg()
{
	"$@" &
	BG_PID=$!
	BENCH_PIDS+=("$BG_PID")
}

# bench_bg_cg CG NS CMD...: in_cg_ns in the background; BG_PID is the
# command itself (sh and ip netns exec both exec).
bench_bg_cg()
{
	local cg=$1 ns=$2

	shift 2
	sh -c 'echo $$ > "$1/cgroup.procs" && ns=$2 && shift 2 && exec ip netns exec "$ns" "$@"' \
		sh "$cg" "$ns" "$@" &
	BG_PID=$!
	BENCH_PIDS+=("$BG_PID")
}

# bench_kill PID: stop one registered background process now.
bench_kill()
{
	local p=$1 i

	kill "$p" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.02
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# bench_cgroup NAME: create $CG2/NAME, removed at exit; sets CG_PATH.
# (Not in $(...): the registration would be lost with the subshell.)
bench_cgroup()
{
	CG_PATH=$CG2/$1
	mkdir -p "$CG_PATH" || bench_die "cannot create cgroup $CG_PATH"
	BENCH_CGROUPS+=("$CG_PATH")
}

# Run CMD in cgroup CG and netns NS.  `ip netns exec` remounts /sys, so
# join the cgroup first, then exec into the netns.
in_cg_ns()
{
	local cg=$1 ns=$2

	shift 2
	sh -c 'echo $$ > "$1/cgroup.procs" && ns=$2 && shift 2 && exec ip netns exec "$ns" "$@"' \
		sh "$cg" "$ns" "$@"
}

# bench_netns: two namespaces on a veth pair of our own, server side
# $BENCH_SRV_IP, client side $BENCH_CLI_IP.  Sets NS_SRV and NS_CLI.
bench_netns()
{
	local tag=$$

	NS_SRV=$BENCH_PREFIX-srv-$tag
	NS_CLI=$BENCH_PREFIX-cli-$tag
	ip netns add "$NS_SRV" || bench_die "ip netns add $NS_SRV"
	BENCH_NETNS+=("$NS_SRV")
	ip netns add "$NS_CLI" || bench_die "ip netns add $NS_CLI"
	BENCH_NETNS+=("$NS_CLI")
	ip link add "sbs$tag" netns "$NS_SRV" type veth peer name "sbc$tag" netns "$NS_CLI" ||
		bench_die "cannot create the veth pair"
	ip -n "$NS_SRV" addr add "$BENCH_SRV_IP/24" dev "sbs$tag"
	ip -n "$NS_CLI" addr add "$BENCH_CLI_IP/24" dev "sbc$tag"
	ip -n "$NS_SRV" link set lo up
	ip -n "$NS_CLI" link set lo up
	ip -n "$NS_SRV" link set "sbs$tag" up
	ip -n "$NS_CLI" link set "sbc$tag" up
	# Connection-rate runs open tens of thousands of connections.
	ip netns exec "$NS_CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	ip netns exec "$NS_CLI" sysctl -qw net.ipv4.tcp_tw_reuse=1
	ip netns exec "$NS_SRV" sysctl -qw net.ipv4.tcp_max_syn_backlog=8192
	ip netns exec "$NS_SRV" sysctl -qw net.core.somaxconn=8192
}

# bench_attach NAME ARGS...: sockops-cb attach, detached at exit.
bench_attach()
{
	local name=$1

	shift
	BENCH_TARGETS+=("$name")
	"$SCB" attach --name "$name" "$@" >/dev/null ||
		bench_die "sockops-cb attach --name $name $* failed"
}

bench_detach()
{
	"$SCB" detach "$1" >/dev/null || bench_die "sockops-cb detach $1 failed"
}

# BPF run-time statistics on for the whole bench, restored at exit.
bench_bpf_stats_on()
{
	[ -n "$BENCH_STATS_WAS" ] || BENCH_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
}

bench_bpf_stats_off()
{
	[ -n "$BENCH_STATS_WAS" ] || BENCH_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=0
}

# Tracepoints (bpftrace) need tracefs.
bench_tracefs()
{
	[ -d /sys/kernel/tracing/events ] && return 0
	mount -t tracefs tracefs /sys/kernel/tracing || bench_die "cannot mount tracefs"
	BENCH_TRACEFS_MOUNTED=1
}

# Other users of the node's sockops-cb (a test run, real containers): the
# benches attach and detach their own targets only, but a bench that must
# unload the program refuses while someone else's targets exist.
foreign_targets()
{
	"$SCB" list --json 2>/dev/null | jq -r '.id' | grep -v "^$BENCH_PREFIX" || true
}

###############################################################################
# Arithmetic over a column of numbers on stdin.

# stats: prints "median min max n" (median of an even count: mean of the
# middle two).
stats()
{
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan nan nan 0"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.6g %.6g %.6g %d\n", m, v[1], v[NR], NR }'
}

median()
{
	stats | awk '{ print $1 }'
}

# now_ns: CLOCK_REALTIME in ns without forking.
now_ns()
{
	local t=${EPOCHREALTIME/./}

	echo "${t}000"
}

###############################################################################
# The network loads: tcpload (rr, crr) and iperf3 (bulk) between the two
# namespaces, server and client each in a cgroup of their own.

PORT_RR=5002
PORT_CRR=5001
PORT_BULK=5201
PROG_PIN=/sys/fs/bpf/sockops-cb/prog
BENCH_SECS=${BENCH_SECS:-1}
BENCH_RR_SECS=${BENCH_RR_SECS:-0.5}
# Server and client share one CPU, readers (trace, bpftrace) get the other.
# Across the two vCPUs of this VM every request pays a cross-CPU wake-up
# (IPI, vCPU halt and resume) of ~100 us that varies 2x from second to
# second and hides a few hundred ns of BPF; on one CPU the loads are
# CPU-bound, stable to a few %, and every ns of the callbacks shows.
SRV_CPU=${BENCH_SRV_CPU:-1}
CLI_CPU=${BENCH_CLI_CPU:-1}
# shellcheck disable=SC2034 # used by net.sh
READER_CPU=${BENCH_READER_CPU:-0}

# net_setup: netns pair, cgroups srv/cli, tcpload built, servers started
# (before any attach: accepted sockets follow the listener's cgroup).
# Sets CG_SRV CG_CLI T_SRV T_CLI (target names) TCPLOAD.
net_setup()
{
	local _

	bench_tools iperf3:iperf3 gcc:gcc
	gcc -O2 -Wall -o "$BENCH_TMP/tcpload" "$BENCH_DIR/tcpload.c" ||
		bench_die "cannot build tcpload"
	TCPLOAD=$BENCH_TMP/tcpload
	bench_netns
	bench_cgroup "$BENCH_PREFIX-srv-$$"
	CG_SRV=$CG_PATH
	bench_cgroup "$BENCH_PREFIX-cli-$$"
	CG_CLI=$CG_PATH
	T_SRV=$BENCH_PREFIX-srv-$$
	T_CLI=$BENCH_PREFIX-cli-$$
	bench_bg_cg "$CG_SRV" "$NS_SRV" taskset -c "$SRV_CPU" \
		"$TCPLOAD" rr-server "$BENCH_SRV_IP" "$PORT_RR" >"$BENCH_TMP/rr-server.log" 2>&1
	bench_bg_cg "$CG_SRV" "$NS_SRV" taskset -c "$SRV_CPU" \
		"$TCPLOAD" crr-server "$BENCH_SRV_IP" "$PORT_CRR" >"$BENCH_TMP/crr-server.log" 2>&1
	bench_bg_cg "$CG_SRV" "$NS_SRV" taskset -c "$SRV_CPU" \
		iperf3 -s -p "$PORT_BULK" >"$BENCH_TMP/iperf3-s.log" 2>&1
	for _ in $(seq 50); do
		[ "$(ip netns exec "$NS_SRV" ss -Hltn |
			grep -cE ":($PORT_RR|$PORT_CRR|$PORT_BULK) ")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(run_crr | awk '{ print $2 }')" -gt 0 ] 2>/dev/null ||
		bench_die "no connection over the veth pair: $(cat "$BENCH_TMP"/*.log)"
	# Warm-up: the first runs after the netns is made are slower.
	run_rr >/dev/null
	run_crr >/dev/null
	run_bulk >/dev/null
}

cli()
{
	in_cg_ns "$CG_CLI" "$NS_CLI" taskset -c "$CLI_CPU" "$@"
}

# Each load prints "rate count": transactions/s and transactions (rr),
# connections/s and connections (crr), bits/s and bytes (bulk).
tcpload_out()
{
	awk -F'[ =]' '/^n=/ { printf "%s %s\n", $6, $2; f = 1 } END { if (!f) print "nan 0" }'
}

run_rr()
{
	cli "$TCPLOAD" rr "$BENCH_SRV_IP" "$PORT_RR" "$BENCH_RR_SECS" 64 2>&1 | tcpload_out
}

run_crr()
{
	cli "$TCPLOAD" crr "$BENCH_SRV_IP" "$PORT_CRR" "$BENCH_RR_SECS" 2>&1 | tcpload_out
}

# iperf3 takes whole seconds only.
run_bulk()
{
	cli iperf3 -c "$BENCH_SRV_IP" -p "$PORT_BULK" -t "$BENCH_SECS" -J 2>/dev/null |
		jq -r '"\(.end.sum_received.bits_per_second // "nan") \(.end.sum_received.bytes // 0)"' \
		2>/dev/null || echo "nan 0"
}

# "id run_time_ns run_cnt" of the pinned program (bpf_stats on).
scb_prog_counters()
{
	bpftool prog show pinned "$PROG_PIN" -j 2>/dev/null |
		jq -r '"\(.id) \(.run_time_ns // 0) \(.run_cnt // 0)"' 2>/dev/null || echo "0 0 0"
}

# Are both bench targets still attached?  A concurrent `unload --force`
# (a test suite) removes every link on the node.
scb_targets_ok()
{
	[ -e "/sys/fs/bpf/sockops-cb/links/$T_SRV" ] && [ -e "/sys/fs/bpf/sockops-cb/links/$T_CLI" ]
}
