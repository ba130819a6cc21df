#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Network benches between two network namespaces on a veth pair this
# script creates (10.213.0.1 <-> 10.213.0.2), server and client each in a
# cgroup of their own, both on one CPU (see lib.sh):
#   rr    64-byte TCP request/response on one connection (bench/tcpload.c)
#   crr   connection rate: connect, accept, close (bench/tcpload.c)
#   bulk  iperf3, one stream
#
# Configurations (both cgroups traced, like two containers talking):
#   base   no program
#   none   sockops-cb attached with an empty flag set (--flag-set none)
#   srr    STATE,RETRANS,RTO
#   all    RTT,STATE,RETRANS,RTO
#   ident  all four plus identity in the handshake (WRITE_HDR_OPT and
#          PARSE_ALL_HDR_OPT with `identity` on: docs/identity.md): what
#          announcing and learning cost over `all`
#   trace  all four, `sockops-cb trace --json` streaming to /dev/null
#   peer   no sockops-cb; bench/peer.bt (bpftrace on tcp:tcp_probe,
#          tcp:tcp_retransmit_skb, sock:inet_sock_set_state)
#   floor  no sockops-cb; bench/floor.bpf.c, a sock_ops program that asks
#          for the same four callbacks and does nothing: the kernel's
#          share, which no design of ours can go below
#   sfloor the same program built with -DFLOOR_STREAM: plus one empty
#          ring buffer record per callback `trace` makes an event of,
#          drained every 10 ms by bench/ringdrain.c: the floor of any
#          per-event stream
#   count1 floor plus one shared counter added to at each RTT callback:
#          the least a counting program can cost (not run by default:
#          BENCH_CONFIGS="floor count1 hfine all")
#   hlog2  floor plus the RTT histogram as it was (32 log2 buckets per CPU)
#   hfine  floor plus the RTT histogram as it is (192 log-linear buckets,
#          shared): hfine - hlog2 is what the finer histogram costs per
#          RTT callback, in the same run
#
# Phase 1, wall clock (kernel.bpf_stats_enabled=0): BENCH_ROUNDS rounds of
#   base X1 base X2 ... base X7 base
# (X order rotated each round); each X run is divided by the mean of the
# base runs just before and after it.  Median and min-max of the ratios.
# Phase 2, BPF cost (kernel.bpf_stats_enabled=1): BENCH_ROUNDS rounds of
# every X: run_time_ns/run_cnt deltas of our program or of the peer's,
# events per run, the trace reader's CPU time and wake-ups.
#
#   bench/net.sh                 # BENCH_ROUNDS=10, rr/crr 0.5 s, bulk 1 s
#   BENCH_ROUNDS=20 BENCH_RR_SECS=1 bench/net.sh
#   BENCH_CONFIGS="all trace" bench/net.sh
#
# Prints the tables; raw rows go to $BENCH_OUT/net.tsv.

set -uo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_OUT=${BENCH_OUT:-/tmp/scb-bench-results}
read -r -a CONFIGS <<<"${BENCH_CONFIGS:-none srr all ident trace peer floor sfloor hlog2 hfine}"
read -r -a WORKLOADS <<<"${BENCH_WORKLOADS:-rr crr bulk}"
TRACE_ARGS=${BENCH_TRACE_ARGS:---json}

bench_init
bench_tools bpftrace:bpftrace jq:jq bpftool:bpftool
mkdir -p "$BENCH_OUT"
RAW=$BENCH_OUT/net.tsv
: >"$RAW"
CONF=$BENCH_TMP/config.json
cat >"$CONF" <<'EOF'
{
	"maxFlags": ["RTT", "STATE", "RETRANS", "RTO", "WRITE_HDR_OPT", "PARSE_ALL_HDR_OPT"],
	"flagSets": {
		"none": [],
		"srr": ["STATE", "RETRANS", "RTO"],
		"all": ["RTT", "STATE", "RETRANS", "RTO"],
		"ident": ["RTT", "STATE", "RETRANS", "RTO", "WRITE_HDR_OPT", "PARSE_ALL_HDR_OPT"]
	},
	"identity": { "enabled": true, "nodeName": "bench" }
}
EOF
bench_tracefs
bench_bpf_stats_off
# Measure this build's program, not one a previous build left pinned:
# unload, which is refused while anything (ours or anyone's) is attached.
"$SCB" unload >/dev/null 2>&1 ||
	bench_msg "note: sockops-cb is in use on this node; measuring the program pinned now"
net_setup
# floor_pin CFG: where the floor program of CFG is pinned.
floor_pin()
{
	echo "/sys/fs/bpf/$BENCH_PREFIX-$1-$$"
}
SFLOOR_MAPS=/sys/fs/bpf/$BENCH_PREFIX-sfloor-maps-$$

# floor_load NAME PIN [CLANG_FLAGS...]: bench/floor.bpf.c built, loaded,
# pinned, and unpinned at exit; its maps pinned in $FLOOR_MAPS if set.
floor_load()
{
	local name=$1 pin=$2

	shift 2
	clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" "$@" \
		-c "$BENCH_DIR/floor.bpf.c" -o "$BENCH_TMP/$name.bpf.o" ||
		bench_die "cannot build bench/floor.bpf.c for $name"
	BENCH_AFTER+=("bpftool cgroup detach '$CG_SRV' sock_ops pinned '$pin'"
		"bpftool cgroup detach '$CG_CLI' sock_ops pinned '$pin'"
		"rm -f '$pin'")
	bpftool prog load "$BENCH_TMP/$name.bpf.o" "$pin" type sockops \
		${FLOOR_MAPS:+pinmaps "$FLOOR_MAPS"} ||
		bench_die "cannot load bench/floor.bpf.c for $name"
}

case " ${CONFIGS[*]} " in
*" floor "*) floor_load floor "$(floor_pin floor)" ;;
esac
case " ${CONFIGS[*]} " in
*" hlog2 "*) floor_load hlog2 "$(floor_pin hlog2)" -DFLOOR_HIST=1 ;;
esac
case " ${CONFIGS[*]} " in
*" count1 "*) floor_load count1 "$(floor_pin count1)" -DFLOOR_HIST=3 ;;
esac
case " ${CONFIGS[*]} " in
*" hfine "*) floor_load hfine "$(floor_pin hfine)" -DFLOOR_HIST=2 ;;
esac
case " ${CONFIGS[*]} " in
*" sfloor "*)
	BENCH_AFTER+=("rm -rf '$SFLOOR_MAPS'")
	FLOOR_MAPS=$SFLOOR_MAPS floor_load sfloor "$(floor_pin sfloor)" -DFLOOR_STREAM
	gcc -O2 -Wall -o "$BENCH_TMP/ringdrain" "$BENCH_DIR/ringdrain.c" -lbpf ||
		bench_die "cannot build ringdrain"
	;;
esac

###############################################################################
# Configurations.

TRACE_PID=
PEER_PID=
PEER_IDS=
DRAIN_PID=

setup()
{
	local set=$1 before _

	case $1 in
	none | srr | all | ident | trace)
		[ "$set" = trace ] && set=all
		bench_attach "$T_SRV" --cgroup "${CG_SRV#"$CG2"}" --flag-set "$set" --config "$CONF"
		bench_attach "$T_CLI" --cgroup "${CG_CLI#"$CG2"}" --flag-set "$set" --config "$CONF"
		if [ "$1" = trace ]; then
			# shellcheck disable=SC2086
			bench_bg taskset -c "$READER_CPU" "$SCB" trace $TRACE_ARGS \
				>/dev/null 2>"$BENCH_TMP/trace.err"
			TRACE_PID=$BG_PID
			# The reader attaches its program once its ring is open.
			for _ in $(seq 250); do
				[ -n "$(trace_prog_id)" ] && break
				sleep 0.02
			done
		fi
		;;
	peer)
		before=$(bpftool prog show -j | jq -c '[.[].id]')
		bench_bg taskset -c "$READER_CPU" bpftrace "$BENCH_DIR/peer.bt" \
			>"$BENCH_TMP/peer.out" 2>"$BENCH_TMP/peer.err"
		PEER_PID=$BG_PID
		for _ in $(seq 300); do
			grep -q '^Attaching' "$BENCH_TMP/peer.out" 2>/dev/null && break
			kill -0 "$PEER_PID" 2>/dev/null ||
				bench_die "bpftrace died: $(cat "$BENCH_TMP/peer.err")"
			sleep 0.05
		done
		sleep 0.2
		PEER_IDS=$(bpftool prog show -j | jq -r --argjson b "$before" \
			'.[] | select(.type == "tracepoint" and (.id as $i | $b | index($i) | not)) | .id')
		[ -n "$PEER_IDS" ] || bench_die "no bpftrace programs found"
		;;
	floor | hlog2 | hfine | count1)
		floor_attach "$(floor_pin "$1")"
		;;
	sfloor)
		floor_attach "$(floor_pin sfloor)"
		bench_bg taskset -c "$READER_CPU" "$BENCH_TMP/ringdrain" "$SFLOOR_MAPS/events" \
			>"$BENCH_TMP/ringdrain.out" 2>&1
		DRAIN_PID=$BG_PID
		for _ in $(seq 100); do
			grep -q '^draining' "$BENCH_TMP/ringdrain.out" 2>/dev/null && break
			kill -0 "$DRAIN_PID" 2>/dev/null ||
				bench_die "ringdrain died: $(cat "$BENCH_TMP/ringdrain.out")"
			sleep 0.02
		done
		;;
	esac
}

floor_attach()
{
	if ! bpftool cgroup attach "$CG_SRV" sock_ops pinned "$1" multi ||
		! bpftool cgroup attach "$CG_CLI" sock_ops pinned "$1" multi; then
		bench_die "cannot attach bench/floor.bpf.c ($1)"
	fi
}

teardown()
{
	local pin

	case $1 in
	none | srr | all | ident | trace)
		if [ -n "$TRACE_PID" ]; then
			bench_kill "$TRACE_PID"
			TRACE_PID=
			! grep -q 'events lost' "$BENCH_TMP/trace.err" ||
				bench_msg "  trace: $(cat "$BENCH_TMP/trace.err")"
		fi
		bench_detach "$T_SRV"
		bench_detach "$T_CLI"
		;;
	peer)
		bench_kill "$PEER_PID"
		PEER_PID=
		;;
	floor | sfloor | hlog2 | hfine | count1)
		pin=$(floor_pin "$1")
		if [ -n "$DRAIN_PID" ]; then
			bench_kill "$DRAIN_PID"
			DRAIN_PID=
		fi
		bpftool cgroup detach "$CG_SRV" sock_ops pinned "$pin"
		bpftool cgroup detach "$CG_CLI" sock_ops pinned "$pin"
		;;
	esac
}

# Was the configuration intact for the whole run?
intact()
{
	case $1 in
	none | srr | all | ident | trace) scb_targets_ok ;;
	sfloor) kill -0 "$DRAIN_PID" 2>/dev/null ;;	# else the ring filled
	*) return 0 ;;
	esac
}

###############################################################################
# Cost counters.

# "id run_time_ns run_cnt" of our program, or summed over the peer's.
prog_counters()
{
	if is_floor "$1"; then
		bpftool prog show pinned "$(floor_pin "$1")" -j |
			jq -r '"\(.id) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	elif [ "$1" = peer ]; then
		bpftool prog show -j | jq -r --arg ids "$PEER_IDS" '
			($ids | split("\n") | map(select(. != "") | tonumber)) as $want
			| [.[] | select(.id as $i | $want | index($i))]
			| "0 \(map(.run_time_ns // 0) | add) \(map(.run_cnt // 0) | add)"'
	elif [ "$1" = trace ]; then
		# Streaming costs the node's program and the reader's own.
		read -r id rt rc <<<"$(scb_prog_counters)"
		bpftool prog show id "$(trace_prog_id)" -j 2>/dev/null |
			jq -r --arg id "$id" --argjson rt "$rt" --argjson rc "$rc" \
				'"\($id) \($rt + (.run_time_ns // 0)) \($rc)"'
	else
		scb_prog_counters
	fi
}

# The id of the program the running trace attached (its link's fdinfo).
trace_prog_id()
{
	[ -n "$TRACE_PID" ] || return 0
	# fds come and go while it starts: cat skips the vanished ones.
	cat /proc/"$TRACE_PID"/fdinfo/* 2>/dev/null |
		awk '$1 == "link_type:" && $2 == "cgroup" { l = 1 } l && $1 == "prog_id:" { print $2; exit }'
}

# Is configuration $1 a build of bench/floor.bpf.c (no sockops-cb)?
is_floor()
{
	[[ " floor sfloor hlog2 hfine count1 " == *" $1 "* ]]
}

# scb_events: "EVENTS LOST HDR_OPT" -- the events the two targets'
# counters record, the records trace readers dropped (node-wide), and the
# header-option callbacks (identity: at handshakes only).
scb_events()
{
	local lost

	lost=$("$SCB" metrics 2>/dev/null |
		awk '$1 == "sockops_cb_trace_events_lost_total" { print $2 }')
	"$SCB" stats --json 2>/dev/null | jq -rs --arg a "$T_SRV" --arg b "$T_CLI" --arg l "${lost:-0}" '
		map(select(.id == $a or .id == $b)) |
		"\(map(.established_active + .established_passive + .connect + .listen
		      + .closed + .rto + .retrans + .rtt_samples
		      + ([.state_transitions[]] | add // 0)) | add // 0) \($l) \(map(.hdr_opt) | add // 0)"'
}

# events_of CFG: scb_events, or zeros where sockops-cb is not loaded.
events_of()
{
	if [ "$1" = peer ] || is_floor "$1"; then
		echo "0 0 0"
	else
		scb_events
	fi
}

# IRQ-work interrupts, all CPUs: what a BPF_RB_FORCE_WAKEUP (or a ring
# buffer's default wake-up) costs the producing CPU.
irq_work()
{
	awk '$1 == "IWI:" { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts
}

# "cpu_ns voluntary_switches" of a process.
proc_counters()
{
	local pid=$1 cpu sw

	if [ -z "$pid" ] || [ ! -r "/proc/$pid/schedstat" ]; then
		echo "0 0"
		return
	fi
	read -r cpu _ <"/proc/$pid/schedstat"
	sw=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$pid/status")
	echo "$cpu $sw"
}

###############################################################################
# Runs.  A run whose configuration was broken under it (a concurrent
# `unload --force`) is done again, up to 3 times.

wall_run()
{
	local round=$1 cfg=$2 w out rows

	for _ in 1 2 3; do
		rows=
		setup "$cfg"
		for w in "${WORKLOADS[@]}"; do
			out=$("run_$w")
			rows+=$(printf 'wall\t%s\t%s\t%s\t%s' "$round" "$cfg" "$w" "${out%% *}")$'\n'
		done
		intact "$cfg" && { teardown "$cfg"; printf '%s' "$rows" >>"$RAW"; return; }
		bench_msg "  $cfg: targets vanished during the run (concurrent unload?); again"
		teardown "$cfg" 2>/dev/null
	done
	bench_die "configuration $cfg keeps breaking"
}

cost_run()
{
	local round=$1 cfg=$2 w out p0 p1 e0 e1 r0 r1 i0 i1 rows ev0 lo0 ho0 ev1 lo1 ho1

	for _ in 1 2 3; do
		rows=
		setup "$cfg"
		for w in "${WORKLOADS[@]}"; do
			p0=$(prog_counters "$cfg")
			e0=$(events_of "$cfg")
			r0=$(proc_counters "$TRACE_PID")
			i0=$(irq_work)
			out=$("run_$w")
			i1=$(irq_work)
			p1=$(prog_counters "$cfg")
			e1=$(events_of "$cfg")
			r1=$(proc_counters "$TRACE_PID")
			read -r id0 rt0 rc0 <<<"$p0"
			read -r id1 rt1 rc1 <<<"$p1"
			read -r ev0 lo0 ho0 <<<"$e0"
			read -r ev1 lo1 ho1 <<<"$e1"
			[ "$id0" = "$id1" ] || { rows=BAD; break; }
			# cost round cfg workload rate count d_run_time_ns d_run_cnt
			# d_events d_reader_cpu_ns d_reader_wakeups d_events_lost
			# d_irq_work d_hdr_opt_callbacks
			rows+=$(printf 'cost\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' \
				"$round" "$cfg" "$w" "${out%% *}" "${out#* }" \
				"$((rt1 - rt0))" "$((rc1 - rc0))" "$((ev1 - ev0))" \
				"$((${r1% *} - ${r0% *}))" "$((${r1#* } - ${r0#* }))" \
				"$((lo1 - lo0))" "$((i1 - i0))" "$((ho1 - ho0))")$'\n'
		done
		if [ "$rows" != BAD ] && intact "$cfg"; then
			teardown "$cfg"
			printf '%s' "$rows" >>"$RAW"
			return
		fi
		bench_msg "  $cfg: program or targets replaced during the run (concurrent unload?); again"
		teardown "$cfg" 2>/dev/null
	done
	bench_die "configuration $cfg keeps breaking"
}

rotate()
{
	local n=$1 i k=${#CONFIGS[@]}

	for ((i = 0; i < k; i++)); do
		echo "${CONFIGS[(i + n) % k]}"
	done
}

bench_msg "phase 1: wall clock, $BENCH_ROUNDS rounds of base + ${#CONFIGS[@]} configs interleaved"
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
	wall_run "$r" base
	for cfg in $(rotate "$r"); do
		wall_run "$r" "$cfg"
		wall_run "$r" base
	done
	bench_msg "  round $r/$BENCH_ROUNDS ($SECONDS s)"
done

bench_msg "phase 2: BPF cost (bpf_stats), $BENCH_ROUNDS rounds"
bench_bpf_stats_on
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
	for cfg in $(rotate "$r"); do
		cost_run "$r" "$cfg"
	done
	bench_msg "  round $r/$BENCH_ROUNDS ($SECONDS s)"
done
# The program as measured (tag, size), while still loaded.
PROG_INFO=$(bpftool prog show pinned "$PROG_PIN" -j 2>/dev/null |
	jq -r '"tag \(.tag), \(.bytes_xlated) B xlated, \(.bytes_jited) B jited"' 2>/dev/null)
bench_bpf_stats_off

###############################################################################
# Report.

# Ratio of each X run to the mean of the base runs before and after it
# (rows are in time order).
ratios()
{
	awk -F'\t' -v want="$1" -v wl="$2" '
		$1 == "wall" && $4 == wl {
			if ($3 == "base") {
				if (pend && prev != "")
					print val / ((prev + $5) / 2)
				pend = 0
				prev = $5
			} else {
				pend = ($3 == want)
				val = $5
			}
		}' "$RAW"
}

col()
{
	awk -F'\t' -v ph="$1" -v c="$2" -v wl="$3" -v k="$4" \
		'$1 == ph && $3 == c && $4 == wl { print $k }' "$RAW"
}

mmm()
{
	stats | awk -v f="$1" '{ printf f " (" f "-" f ")", $1, $2, $3 }'
}

echo
echo "== Wall clock: rate relative to no program, median (min-max) over $BENCH_ROUNDS interleaved rounds =="
echo "   rr/crr ${BENCH_RR_SECS}s runs, bulk ${BENCH_SECS}s runs; server and client on CPU $CLI_CPU, readers on CPU $READER_CPU"
printf '%-6s %-28s %-28s %-28s\n' config "rr (64 B req/resp)" "crr (connect/accept/close)" "bulk (iperf3)"
printf '%-6s %-28s %-28s %-28s\n' base \
	"$(col wall base rr 5 | mmm '%.0f') /s" \
	"$(col wall base crr 5 | mmm '%.0f') /s" \
	"$(col wall base bulk 5 | awk '{ print $1 / 1e9 }' | mmm '%.1f') Gbit/s"
for cfg in "${CONFIGS[@]}"; do
	printf '%-6s %-28s %-28s %-28s\n' "$cfg" \
		"$(ratios "$cfg" rr | mmm '%.3f')" \
		"$(ratios "$cfg" crr | mmm '%.3f')" \
		"$(ratios "$cfg" bulk | mmm '%.3f')"
done

echo
echo "== BPF cost (bpf_stats run_time_ns/run_cnt deltas), median (min-max) over $BENCH_ROUNDS rounds =="
echo "   program: ${PROG_INFO:-?}"
printf '%-6s %-5s %-20s %-9s %-20s %-10s %-10s %s\n' config load "ns/callback" "cb/trans" \
	"BPF ns/transaction" "ns/event" "reader" "lost"
for cfg in "${CONFIGS[@]}"; do
	for w in "${WORKLOADS[@]}"; do
		# transactions: rr request+response, crr connection, bulk 64 KiB
		awk -F'\t' -v c="$cfg" -v wl="$w" '$1 == "cost" && $3 == c && $4 == wl && $8 > 0 {
			tr = (wl == "bulk") ? $6 / 65536 : $6
			ev = (c == "peer") ? $8 : $9
			printf "%f %f %f %f %f %f %f\n", $7 / $8, $8 / tr, $7 / tr,
				(ev > 0) ? ($7 / ev) : 0, (ev > 0) ? ($10 / ev) : 0, $12, ev
		}' "$RAW" >"$BENCH_TMP/c"
		[ -s "$BENCH_TMP/c" ] || continue
		printf '%-6s %-5s %-20s %-9s %-20s %-10s %-10s %s\n' "$cfg" "$w" \
			"$(awk '{ print $1 }' "$BENCH_TMP/c" | mmm '%.0f')" \
			"$(awk '{ print $2 }' "$BENCH_TMP/c" | median | awk '{ printf "%.2f", $1 }')" \
			"$(awk '{ print $3 }' "$BENCH_TMP/c" | mmm '%.0f')" \
			"$(awk '{ print $4 }' "$BENCH_TMP/c" | median | awk '{ printf "%.0f", $1 }')" \
			"$(if [ "$cfg" = trace ]; then awk '{ print $5 }' "$BENCH_TMP/c" | median |
				awk '{ printf "%.0f ns/ev", $1 }'; else echo -; fi)" \
			"$(awk '{ l += $6; e += $7 } END { printf "%d/%d", l, e }' "$BENCH_TMP/c")"
	done
done
echo "   cb/trans: callbacks (peer: tracepoint hits) per transaction -- rr one request and"
echo "   response, crr one connection, bulk 64 KiB; ns/event: BPF ns per emitted event (peer:"
echo "   per hit); reader: CPU of the trace process per event; lost: events lost/emitted"
if awk -F'\t' '$1 == "cost" && $3 == "trace"' "$RAW" | grep -q .; then
	awk -F'\t' '$1 == "cost" && $3 == "trace" { ev += $9; cpu += $10; wk += $11; lost += $12; iw += $13 }
		END { printf "   trace over all cost runs: %d events, %d lost; reader: %d wake-ups (%.5f per event), %.0f ns CPU per event;\n   kernel: %d IRQ-work interrupts (%.3f per event: ring buffer wake-ups)\n",
			ev, lost, wk, ev ? wk / ev : 0, ev ? cpu / ev : 0, iw, ev ? iw / ev : 0 }' "$RAW"
fi
echo
echo "raw rows: $RAW"
