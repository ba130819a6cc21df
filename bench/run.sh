#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: every bench in turn, then the budgets of docs/performance.md
# checked against what was measured in this run.
#
#   bench/run.sh                   # all, ~15 minutes
#   bench/run.sh net attach        # some
#   BENCH_ROUNDS=20 bench/run.sh   # more rounds (longer)
#
# Each bench cleans up after itself (netns, veth, cgroups, targets,
# processes).  Output: the tables on stdout, also in $BENCH_OUT/*.txt with
# the raw rows beside them.  Don't run it beside a test run: both use the
# node's one pinned program, and `unload --force` in a test detaches the
# bench's targets (the benches notice and redo such runs).

set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export BENCH_OUT=${BENCH_OUT:-/tmp/scb-bench-results}
mkdir -p "$BENCH_OUT"
BENCHES=("$@")
[ ${#BENCHES[@]} -gt 0 ] || BENCHES=(net attach scale)

FAILED=0
for b in "${BENCHES[@]}"; do
	echo "### bench/$b.sh  ($(date -u +%FT%TZ))"
	start=$SECONDS
	# Our own tables on stdout; progress on stderr.
	if "$BENCH_DIR/$b.sh" | tee "$BENCH_OUT/$b.txt"; then
		echo "### bench/$b.sh took $((SECONDS - start)) s"
	else
		echo "### bench/$b.sh FAILED after $((SECONDS - start)) s"
		FAILED=$((FAILED + 1))
	fi
	echo
done

# Leave the node as found: the idle program unloaded (refused, and kept,
# while anyone's targets are attached).
"$BENCH_DIR/../sockops-cb" unload >/dev/null 2>&1 || true

###############################################################################
# Budgets, from the raw rows of this run.

med()
{
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "nan"; exit }
		print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

verdict()
{
	# verdict WHAT VALUE OP LIMIT
	awk -v w="$1" -v v="$2" -v op="$3" -v l="$4" 'BEGIN {
		if (v == "nan" || v == "") { printf "  %-58s %12s  (not measured)\n", w, "-"; exit }
		ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
		printf "  %-58s %12.3f %s %-8s %s\n", w, v, op, l, ok ? "met" : "MISSED" }'
}

info()
{
	awk -v w="$1" -v v="$2" 'BEGIN {
		if (v == "nan" || v == "") printf "  %-58s %12s\n", w, "-"
		else printf "  %-58s %12.3f (context)\n", w, v }'
}

echo "### Budgets (this run)"
NET=$BENCH_OUT/net.tsv
if [ -s "$NET" ] && [[ " ${BENCHES[*]} " == *" net "* ]]; then
	cb() { awk -F'\t' -v c="$1" -v w="$2" '$1 == "cost" && $3 == c && $4 == w && $8 > 0 { print $7 / $8 }' "$NET" | med; }
	ev() { awk -F'\t' -v c="$1" -v w="$2" '$1 == "cost" && $3 == c && $4 == w && $9 > 0 { print $7 / $9 }' "$NET" | med; }
	# pertr COL CFG W: column COL of the cost rows per transaction (rr
	# request+response, crr connection, bulk 64 KiB), median
	pertr() { awk -F'\t' -v k="$1" -v c="$2" -v w="$3" '$1 == "cost" && $3 == c && $4 == w && $6 > 0 {
		print $k / ((w == "bulk") ? $6 / 65536 : $6) }' "$NET" | med; }
	cbtr() { pertr 8 "$@"; }	# program runs per transaction
	ratio() {
		awk -F'\t' -v want="$1" -v wl="$2" '$1 == "wall" && $4 == wl {
			if ($3 == "base") { if (pend && prev != "") print val / ((prev + $5) / 2); pend = 0; prev = $5 }
			else { pend = ($3 == want); val = $5 } }' "$NET" | med
	}
	diff() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "nan" || b == "nan" || a == "" || b == "") ? "nan" : a - b }'; }
	# Every budget is against a floor measured in the same run, so it
	# holds on any VM: bench/floor.bpf.c asks for the same callbacks with
	# an empty body (floor), plus an empty ring record per event (sfloor).
	for w in rr crr bulk; do
		verdict "all four: ns per callback over the floor's, $w" \
			"$(diff "$(cb all "$w")" "$(cb floor "$w")")" "<=" 40
		info "  floor, empty program: ns per callback, $w" "$(cb floor "$w")"
		# The least a per-pod RTT histogram can cost: the floor plus
		# one histogram update, no lookup of whose it is.
		info "  the RTT histogram alone: ns per callback over the floor's, $w" \
			"$(diff "$(cb hfine "$w")" "$(cb floor "$w")")"
		# count1 is run on request only (BENCH_CONFIGS).
		[ "$(cb count1 "$w")" = nan ] ||
			info "  one shared counter alone (count1): ns per callback over the floor's, $w" \
				"$(diff "$(cb count1 "$w")" "$(cb floor "$w")")"
	done
	for w in rr crr; do
		verdict "all four: $w rate / no program, minus the floor's" \
			"$(diff "$(ratio all "$w")" "$(ratio floor "$w")")" ">=" -0.01
		verdict "streaming: $w rate / no program, minus the streaming floor's" \
			"$(diff "$(ratio trace "$w")" "$(ratio sfloor "$w")")" ">=" -0.015
		info "  floor: $w rate / no program" "$(ratio floor "$w")"
		info "  streaming floor: $w rate / no program" "$(ratio sfloor "$w")"
		info "  tracepoint peer: $w rate / no program" "$(ratio peer "$w")"
	done
	# Identity in the handshake: two callbacks per side and connection,
	# none per data segment.
	verdict "identity on: crr rate / identity off (all four)" \
		"$(awk -v a="$(ratio ident crr)" -v b="$(ratio all crr)" 'BEGIN { print (a == "nan" || b == "nan" || a == "" || b == "") ? "nan" : a / b }')" ">=" 0.97
	# Zero per-segment callbacks after the handshake: the header-option
	# callbacks themselves (the `hdr_opt` counter), per transaction. The
	# difference of all callbacks (RTT's included) is context only: how
	# many ACKs carry an RTT sample moves from run to run.
	for w in rr bulk; do
		verdict "identity on: header-option callbacks per $w transaction" \
			"$(pertr 14 ident "$w")" "<=" 0.01
		info "  identity on: callbacks per $w transaction over identity off" \
			"$(diff "$(cbtr ident "$w")" "$(cbtr all "$w")")"
	done
	info "  identity on: callbacks per connection over identity off (crr)" \
		"$(diff "$(cbtr ident crr)" "$(cbtr all crr)")"
	verdict "trace streaming: wake-ups (IRQ work) per event" \
		"$(awk -F'\t' '$1 == "cost" && $3 == "trace" { ev += $9; iw += $13 } END { print ev ? iw / ev : "nan" }' "$NET")" "<=" 0.01
	# What the finer RTT histogram costs over the old one (floor + each).
	for w in rr crr; do
		info "finer RTT histogram: ns per callback over the old one, $w" \
			"$(diff "$(cb hfine "$w")" "$(cb hlog2 "$w")")"
	done
fi
ATT=$BENCH_OUT/attach.tsv
if [ -s "$ATT" ] && [[ " ${BENCHES[*]} " == *" attach "* ]]; then
	a() { awk -F'\t' -v k="$1" '$1 == k { print $3 }' "$ATT" | med; }
	# The platform's share: a process that does nothing, and libbpf's
	# parse of the kernel's BTF that every CO-RE load pays.
	verdict "hook createRuntime, Nth container, over /bin/true (ms)" \
		"$(awk -v a="$(a nth)" -v b="$(a true)" 'BEGIN { print a - b }')" "<=" 1
	verdict "hook createRuntime, Nth, podman index of 1000, over /bin/true (ms)" \
		"$(awk -v a="$(a nth-index)" -v b="$(a true)" 'BEGIN { print a - b }')" "<=" 1
	verdict "hook poststop, over /bin/true (ms)" \
		"$(awk -v a="$(a poststop)" -v b="$(a true)" 'BEGIN { print a - b }')" "<=" 1
	verdict "hook createRuntime, first container (ms, median)" "$(a first)" "<=" 40
	info "  first container through libbpf's loader, kernels before 5.17 (ms)" "$(a first-libbpf)"
	info "  process floor: /bin/true, whole process (ms)" "$(a true)"
	info "  sockops-cb --version over /bin/true: exec and linking, no work (ms)" \
		"$(awk -v a="$(a version)" -v b="$(a true)" 'BEGIN { print a - b }')"
	info "  libbpf reading and parsing the kernel's BTF (ms)" "$(a btf)"
	mem=$(sed -n 's/.*on 256 possible CPUs: ~\([0-9]*\) KiB.*/\1/p' "$BENCH_OUT/attach.txt" 2>/dev/null)
	verdict "kernel memory per container on 256 possible CPUs (KiB)" "${mem:-nan}" "<=" 64
fi
SC=$BENCH_OUT/scale.tsv
if [ -s "$SC" ] && [[ " ${BENCHES[*]} " == *" scale "* ]]; then
	s() { awk -F'\t' -v k="$1" '$1 == k { print $3 }' "$SC" | med; }
	win() { awk -F'\t' -v k="$1" -v i="$2" '$1 == k && $2 > i - 10 && $2 <= i { print $3 }' "$SC" | med; }
	last=$(awk -F'\t' '$1 == "attach" { n = $2 } END { print n + 0 }' "$SC")
	verdict "attach cost at $last / at 10 (flat: <= 1.2)" \
		"$(awk -v a="$(win attach "$last")" -v b="$(win attach 10)" 'BEGIN { print a / b }')" "<=" 1.2
	verdict "poststop cost with $last left / with 10 (flat: <= 1.2)" \
		"$(awk -v a="$(win poststop "$last")" -v b="$(win poststop 10)" 'BEGIN { print a / b }')" "<=" 1.2
	verdict "stats --json with all attached (ms, median)" "$(s stats)" "<=" 200
	verdict "Prometheus scrape of serve with all attached (ms, median)" "$(s scrape)" "<=" 200
	mem=$(awk '/Slab\+Percpu:/ { for (i = 1; i <= NF; i++) if ($i == "B") print $(i - 1) }' "$BENCH_OUT/scale.txt" 2>/dev/null)
	info "  kernel memory per container here, Slab+Percpu (KiB, noisy)" \
		"$(awk -v b="$mem" 'BEGIN { print (b == "") ? "nan" : b / 1024 }')"
	verdict "ns per callback with $last attached / with 2 (crr)" \
		"$(awk -v a="$(s cb-"$last"-crr)" -v b="$(s cb-2-crr)" 'BEGIN { print a / b }')" "<=" 1.05
fi
echo
echo "$((${#BENCHES[@]} - FAILED)) benches ran, $FAILED failed; results in $BENCH_OUT"
[ "$FAILED" -eq 0 ]
