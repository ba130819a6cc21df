#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# 1000 containers on one node (BENCH_SCALE_N): a cgroup each, attached one
# after the other by `sockops-cb hook createRuntime` for a process moved
# into it (as runc leaves a container's init at that stage).
#   - per-attach cost (whole process, from outside) around the 10th, 100th,
#     500th and 1000th: median of the 10 attaches ending there
#   - kernel memory per container: /proc/meminfo Slab+Percpu and the maps'
#     memlock before and after the N attaches (cgroups made beforehand)
#   - `sockops-cb stats --json` and `list --json` with all attached
#   - a Prometheus scrape of them all: `sockops-cb serve` on 127.0.0.1,
#     scraped with curl (the whole HTTP exchange), and `metrics`
#   - ns per callback of our program (bpf_stats, rr and crr loads of
#     net.sh's setup) with 2 targets, then with N+2 attached, then with 2 again
#   - poststop cost around N, N/2, N/10 and 10 attached while tearing down
#
#   bench/scale.sh             # BENCH_SCALE_N=1000 BENCH_ROUNDS=10

set -uo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_OUT=${BENCH_OUT:-/tmp/scb-bench-results}
N=${BENCH_SCALE_N:-1000}
FLAGS=RTT,STATE,RETRANS,RTO

bench_init
bench_tools jq:jq bpftool:bpftool curl:curl
mkdir -p "$BENCH_OUT"
RAW=$BENCH_OUT/scale.tsv
: >"$RAW"
CONF=$BENCH_TMP/config.json
echo '{"flagSets": {"all": ["RTT", "STATE", "RETRANS", "RTO"]}, "defaultFlagSet": "all"}' >"$CONF"
bench_bpf_stats_off
net_setup

row()
{
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"
}

# ms CMD...: wall time of CMD (stdin from the caller), in ms.
ms()
{
	local t0 t1

	t0=$EPOCHREALTIME
	"$@" >/dev/null 2>"$BENCH_TMP/err" || { cat "$BENCH_TMP/err" >&2; return 1; }
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
}

# ns per callback of our program: BENCH_ROUNDS rounds of rr and crr.
callback_cost()
{
	local tag=$1 r w p0 p1 out id0 rt0 rc0 id1 rt1 rc1

	bench_bpf_stats_on
	for ((r = 1; r <= BENCH_ROUNDS; r++)); do
		for w in rr crr; do
			p0=$(scb_prog_counters)
			out=$("run_$w")
			p1=$(scb_prog_counters)
			read -r id0 rt0 rc0 <<<"$p0"
			read -r id1 rt1 rc1 <<<"$p1"
			if [ "$id0" != "$id1" ] || [ "$rc1" -le "$rc0" ] || ! scb_targets_ok; then
				bench_msg "  ($tag $w round $r: program replaced or targets gone; skipped)"
				continue
			fi
			row "cb-$tag-$w" "$r" "$(awk -v a="$((rt1 - rt0))" -v b="$((rc1 - rc0))" \
				'BEGIN { printf "%.1f", a / b }')"
			row "rate-$tag-$w" "$r" "${out%% *}"
		done
	done
	bench_bpf_stats_off
}

meminfo_kb()
{
	awk '/^(Slab|Percpu):/ { s += $2 } END { print s }' /proc/meminfo
}

maps_memlock()
{
	bpftool map show -j 2>/dev/null | jq -r --argjson ids \
		"$(bpftool prog show pinned "$PROG_PIN" -j 2>/dev/null | jq -c '.map_ids // []')" \
		'[.[] | select(.id as $i | $ids | index($i)) | .bytes_memlock] | add // 0'
}

# The two targets of the network load, then the baseline callback cost.
bench_attach "$T_SRV" --cgroup "${CG_SRV#"$CG2"}" --flags "$FLAGS"
bench_attach "$T_CLI" --cgroup "${CG_CLI#"$CG2"}" --flags "$FLAGS"
bench_msg "callback cost with 2 targets, $BENCH_ROUNDS rounds"
callback_cost 2

# N cgroups, one process that visits them.
bench_msg "creating $N cgroups"
bench_cgroup "$BENCH_PREFIX-scale-$$"
PARENT=$CG_PATH
for ((i = 1; i <= N; i++)); do
	bench_cgroup "$BENCH_PREFIX-scale-$$/c$i"
done
sh -c 'exec sleep 100000' </dev/null >/dev/null 2>&1 &
VISITOR=$!
BENCH_PIDS+=("$VISITOR")
# Back to the root before the cgroups go (cleanup kills it anyway).
BENCH_AFTER+=("echo $VISITOR > $CG2/cgroup.procs")

state()
{
	if [ -n "${2:-}" ]; then
		printf '{"id":"%s","pid":%d,"annotations":{"sockops-cb.io/flags":"%s"}}' "$1" "$2" "$FLAGS"
	else
		printf '{"id":"%s","annotations":{}}' "$1"
	fi
}

sync
sleep 1
MEM0=$(meminfo_kb)
ML0=$(maps_memlock)
bench_msg "attaching $N containers with hook createRuntime"
for ((i = 1; i <= N; i++)); do
	echo "$VISITOR" >"$PARENT/c$i/cgroup.procs" || bench_die "cannot move into c$i"
	id=$BENCH_PREFIX-s$$-$i
	BENCH_TARGETS+=("$id")
	v=$(ms "$SCB" hook createRuntime --config "$CONF" <<<"$(state "$id" "$VISITOR")") ||
		bench_die "hook createRuntime $i failed"
	row attach "$i" "$v"
done
echo "$VISITOR" >"$CG2/cgroup.procs"
sync
sleep 1
MEM1=$(meminfo_kb)
ML1=$(maps_memlock)
ATTACHED=$("$SCB" list --json | grep -c .)

bench_msg "stats/list with $ATTACHED targets, $BENCH_ROUNDS rounds"
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
	row stats "$r" "$(ms "$SCB" stats --json)"
	row list "$r" "$(ms "$SCB" list --json)"
	row stats-text "$r" "$(ms "$SCB" stats)"
done
STATS_BYTES=$("$SCB" stats --json | wc -c)

# scrape_ms URL: one scrape, whole HTTP exchange as curl sees it, in ms;
# the body is kept in $BENCH_TMP/scrape.
scrape_ms()
{
	curl -sf -o "$BENCH_TMP/scrape" -w '%{time_total}\n' "$1" |
		awk '{ printf "%.3f\n", $1 * 1000 }'
}

# A port nothing listens on, below the ephemeral range.
SERVE_PORT=$((20000 + $$ % 10000))
while [ -n "$(ss -Hltn "sport = :$SERVE_PORT")" ]; do
	SERVE_PORT=$((SERVE_PORT + 1))
done
SERVE_URL=http://127.0.0.1:$SERVE_PORT/metrics
bench_bg "$SCB" serve --listen "127.0.0.1:$SERVE_PORT" 2>"$BENCH_TMP/serve.err"
SERVE_PID=$BG_PID
for ((i = 0; i < 100; i++)); do
	curl -sf -o /dev/null "$SERVE_URL" && break
	kill -0 "$SERVE_PID" 2>/dev/null || bench_die "serve exited: $(cat "$BENCH_TMP/serve.err")"
	sleep 0.05
done
bench_msg "Prometheus scrape with $ATTACHED targets, $BENCH_ROUNDS rounds"
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
	v=$(scrape_ms "$SERVE_URL") && [ -n "$v" ] || bench_die "scrape of $SERVE_URL failed"
	row scrape "$r" "$v"
	row metrics "$r" "$(ms "$SCB" metrics)"
done
bench_kill "$SERVE_PID"
SCRAPE_BYTES=$(wc -c <"$BENCH_TMP/scrape")
# Every container must be in the scrape, not just a fast empty answer.
SCRAPE_TARGETS=$(grep -c '^sockops_cb_target_info{' "$BENCH_TMP/scrape")
SCRAPE_SERIES=$(grep -vc '^#' "$BENCH_TMP/scrape")
[ "$SCRAPE_TARGETS" -eq "$ATTACHED" ] ||
	bench_die "the scrape has $SCRAPE_TARGETS targets, $ATTACHED are attached"

bench_msg "callback cost with $ATTACHED targets, $BENCH_ROUNDS rounds"
callback_cost "$N"

bench_msg "detaching $N containers with hook poststop"
for ((i = N; i >= 1; i--)); do
	id=$BENCH_PREFIX-s$$-$i
	v=$(ms "$SCB" hook poststop --config "$CONF" <<<"$(state "$id")") ||
		bench_die "hook poststop $i failed"
	row poststop "$i" "$v"
done
# The 2-target cost again: its rows before and after bracket the N-target
# phase, so a drift of the VM between the phases is not read as scale.
bench_msg "callback cost with 2 targets again, $BENCH_ROUNDS rounds"
callback_cost 2

###############################################################################
# Report.

# at KEY I: median (min-max) of the 10 rows of KEY ending at index I.
at()
{
	awk -F'\t' -v k="$1" -v i="$2" '$1 == k && $2 > i - 10 && $2 <= i { print $3 }' "$RAW" |
		stats | awk '{ printf "%.2f (%.2f-%.2f)", $1, $2, $3 }'
}

col()
{
	awk -F'\t' -v k="$1" '$1 == k { print $3 }' "$RAW"
}

echo
echo "== Scale: $N containers attached by hook createRuntime, whole process, ms =="
printf '%-10s %-24s %-24s\n' "attached" "createRuntime" "poststop (that many left)"
for i in 10 100 $((N / 2)) "$N"; do
	[ "$i" -le "$N" ] || continue
	printf '%-10s %-24s %-24s\n' "$i" "$(at attach "$i")" "$(at poststop "$i")"
done
echo "   (median (min-max) of the 10 calls ending at that count)"
echo
echo "== Kernel memory for $N containers beyond the shared program =="
echo "   Slab+Percpu: $((MEM1 - MEM0)) KiB in all, $(( (MEM1 - MEM0) * 1024 / N )) B per container (noisy: the whole kernel)"
echo "   maps' memlock: $(( (ML1 - ML0) / 1024 )) KiB in all, $(( (ML1 - ML0) / N )) B per container"
echo
echo "== With $ATTACHED targets attached: whole process, ms =="
for k in stats list stats-text scrape metrics; do
	printf '%-10s %s\n' "$k" "$(col "$k" | stats | awk '{ printf "%.1f (%.1f-%.1f)", $1, $2, $3 }')"
done
echo "   (stats --json, list --json, stats, a scrape of serve (curl's time_total), metrics:"
echo "   median (min-max) of $BENCH_ROUNDS; stats --json $STATS_BYTES bytes; the scrape $SCRAPE_BYTES bytes,"
echo "   $SCRAPE_SERIES series, all $SCRAPE_TARGETS targets)"
echo
echo "== ns per callback (bpf_stats), all four flags: 2 targets (before and after) vs $((N + 2)) =="
for w in rr crr; do
	a=$(col "cb-2-$w" | median)
	b=$(col "cb-$N-$w" | median)
	printf '%-4s 2 targets: %s   %d targets: %s   ratio %s\n' "$w" \
		"$(col "cb-2-$w" | stats | awk '{ printf "%.0f (%.0f-%.0f)", $1, $2, $3 }')" "$((N + 2))" \
		"$(col "cb-$N-$w" | stats | awk '{ printf "%.0f (%.0f-%.0f)", $1, $2, $3 }')" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
done
echo
echo "raw rows: $RAW"
