#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Whole-process cost of the OCI hook, measured from outside (bash's
# EPOCHREALTIME around fork+exec+wait, as a runtime runs a hook), rounds
# interleaved:
#   true        /bin/true: the floor of any fork+exec from this shell
#   version     sockops-cb --version: exec + dynamic linking, no work
#   first       hook createRuntime right after `sockops-cb unload`: loads,
#               verifies and pins the program and maps, then attaches
#   nth         hook createRuntime with BENCH_ATTACH_N others attached
#   nth-index   the same with a podman storage index (containers.json) of
#               BENCH_INDEX_N containers beside the bundle, which the hook
#               reads for the container's name
#   poststop    hook poststop of the nth container
#   btf         in process: libbpf reading and parsing the kernel's BTF
#               (bench/btfparse.c), which every CO-RE load, `first` too,
#               pays once
# then `podman run --rm IMAGE true` with and without the hooks, the order
# swapped every round (if podman and the test image are set up:
# test/setup.sh), and the memory of the maps: per container and for the
# node.
#
#   bench/attach.sh            # BENCH_ROUNDS=10 (x2 for the hook and podman rows)
#
# `first` needs the program unloaded: it is skipped while targets other
# than the bench's are attached (a test run, real containers).

set -uo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_OUT=${BENCH_OUT:-/tmp/scb-bench-results}
HOOK_ROUNDS=${BENCH_HOOK_ROUNDS:-$((BENCH_ROUNDS * 2))}
ATTACH_N=${BENCH_ATTACH_N:-9}
INDEX_N=${BENCH_INDEX_N:-1000}
FLAGS=RTT,STATE,RETRANS,RTO

bench_init
bench_tools jq:jq bpftool:bpftool
mkdir -p "$BENCH_OUT"
RAW=$BENCH_OUT/attach.tsv
: >"$RAW"
CONF=$BENCH_TMP/config.json
cat >"$CONF" <<'EOF'
{
	"flagSets": { "all": ["RTT", "STATE", "RETRANS", "RTO"] },
	"defaultFlagSet": "all"
}
EOF

# Containers: a cgroup with a sleeping process each, as runc leaves the
# container's init at createRuntime.
# make_ctr NAME: sets CTR_PID.
make_ctr()
{
	bench_cgroup "$BENCH_PREFIX-att-$$/$1"
	sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 100000' sh "$CG_PATH" \
		</dev/null >/dev/null 2>&1 &
	CTR_PID=$!
	BENCH_PIDS+=("$CTR_PID")
}

bench_cgroup "$BENCH_PREFIX-att-$$"
make_ctr first
PID_FIRST=$CTR_PID
make_ctr nth
PID_NTH=$CTR_PID
make_ctr idx
PID_IDX=$CTR_PID
for ((i = 1; i <= ATTACH_N; i++)); do
	bench_cgroup "$BENCH_PREFIX-att-$$/bg$i"
done
sleep 0.2

ID_FIRST=$BENCH_PREFIX-a$$-first
ID_NTH=$BENCH_PREFIX-a$$-nth
# A podman-like id and bundle path: <graphroot>/overlay-containers/<id>/userdata.
ID_IDX=$(printf '%s' "$BENCH_PREFIX-a$$-idx" | sha256sum | cut -c1-64)
BENCH_TARGETS+=("$ID_FIRST" "$ID_NTH" "$ID_IDX")
STORE=$BENCH_TMP/storage/overlay-containers
mkdir -p "$STORE/$ID_IDX/userdata"

state()
{
	jq -cn --arg id "$1" --argjson pid "${2:-0}" --arg flags "$FLAGS" --arg bundle "${3:-}" '
		{ociVersion: "1.0.2", id: $id, status: "created", pid: $pid,
		 bundle: (if $bundle == "" then "/run/containers/\($id)/userdata" else $bundle end),
		 annotations: {"sockops-cb.io/flags": $flags}}
		| if $pid == 0 then del(.pid) else . end'
}
state "$ID_FIRST" "$PID_FIRST" >"$BENCH_TMP/first.json"
state "$ID_NTH" "$PID_NTH" >"$BENCH_TMP/nth.json"
state "$ID_NTH" >"$BENCH_TMP/nth-stop.json"
state "$ID_FIRST" >"$BENCH_TMP/first-stop.json"
state "$ID_IDX" "$PID_IDX" "$STORE/$ID_IDX/userdata" >"$BENCH_TMP/idx.json"
state "$ID_IDX" >"$BENCH_TMP/idx-stop.json"

# containers/storage's index: INDEX_N entries shaped like podman 4.3's.
jq -cn --arg me "$ID_IDX" --argjson n "$INDEX_N" '
	[range($n) as $i
	 | ("\($i)" | ascii_downcase) as $s
	 | {id: (if $i == ($n - 1) then $me else ("\($i)" + ("0" * 60))[0:64] end),
	    names: ["bench-ctr-\($i)"],
	    image: ("d3c5c0d9364da96e2aef5cfabec1d6c7c3691dd70651559c61bd36708e3d3a63"),
	    layer: ("966617a2427591474c2d32617a7e5e51047d9fbb59794f85299f1a1f5c2" + ("\($i)" + "00000")[0:5]),
	    metadata: "{\"image-name\":\"localhost/scb-busybox:latest\",\"image-id\":\"d3c5c0d9364da96e2aef5cfabec1d6c7c3691dd70651559c61bd36708e3d3a63\",\"name\":\"bench-ctr-\($s)\",\"created-at\":1795566947}",
	    created: "2026-11-25T00:35:47.793754079Z",
	    flags: {MountLabel: "", ProcessLabel: ""},
	    "big-data-names": ["volatile.json"],
	    "big-data-sizes": {"volatile.json": 1113},
	    "big-data-digests": {"volatile.json": "sha256:8d1ba67b0f1c9bb2b9c3b5e5d5b0c2ff0c4f0b1a2c3d4e5f60718293a4b5c6d7"}}]' \
	>"$STORE/containers.json"

# t_ms CMD...: wall time of CMD in ms (stdin from the caller); fails with CMD.
t_ms()
{
	local t0 t1

	t0=$EPOCHREALTIME
	"$@" >/dev/null 2>"$BENCH_TMP/err" || { cat "$BENCH_TMP/err" >&2; return 1; }
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
}

row()
{
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"
}

hook()
{
	"$SCB" hook "$1" --config "$CONF"
}

attach_bg()
{
	local i

	for ((i = 1; i <= ATTACH_N; i++)); do
		[ -e "/sys/fs/bpf/sockops-cb/links/$BENCH_PREFIX-a$$-bg$i" ] && continue
		bench_attach "$BENCH_PREFIX-a$$-bg$i" --cgroup "/$BENCH_PREFIX-att-$$/bg$i" \
			--flags "$FLAGS"
	done
}

detach_bg()
{
	local i

	for ((i = 1; i <= ATTACH_N; i++)); do
		"$SCB" detach "$BENCH_PREFIX-a$$-bg$i" >/dev/null 2>&1
	done
}

FOREIGN=$(foreign_targets)
if [ -n "$FOREIGN" ]; then
	bench_msg "note: $(echo "$FOREIGN" | wc -l) target(s) of others attached: 'first' (needs unload) is skipped"
fi

# timed KEY ROUND CMD...: one row; the bench stops if CMD fails.
timed()
{
	local k=$1 r=$2 v

	shift 2
	v=$(t_ms "$@") || bench_die "$k: $* failed"
	row "$k" "$r" "$v"
}

gcc -O2 -Wall -o "$BENCH_TMP/btfparse" "$BENCH_DIR/btfparse.c" -lbpf ||
	bench_die "cannot build btfparse"

bench_msg "hook: $HOOK_ROUNDS interleaved rounds"
for ((r = 1; r <= HOOK_ROUNDS; r++)); do
	timed true "$r" /bin/true
	row btf "$r" "$("$BENCH_TMP/btfparse")" || bench_die "btfparse failed"
	timed version "$r" "$SCB" --version
	if [ -z "$FOREIGN" ] && [ -z "$(foreign_targets)" ]; then
		detach_bg
		if "$SCB" unload >/dev/null 2>&1; then
			timed first "$r" hook createRuntime <"$BENCH_TMP/first.json"
			timed poststop-first "$r" hook poststop <"$BENCH_TMP/first-stop.json"
		fi
		# The loader of kernels without kernel-side CO-RE (5.10-5.16).
		if "$SCB" unload >/dev/null 2>&1; then
			SOCKOPS_CB_LOADER=libbpf timed first-libbpf "$r" hook createRuntime \
				<"$BENCH_TMP/first.json"
			"$SCB" hook poststop <"$BENCH_TMP/first-stop.json" >/dev/null 2>&1
		fi
	fi
	attach_bg
	timed nth "$r" hook createRuntime <"$BENCH_TMP/nth.json"
	timed poststop "$r" hook poststop <"$BENCH_TMP/nth-stop.json"
	timed nth-index "$r" hook createRuntime <"$BENCH_TMP/idx.json"
	timed poststop-index "$r" hook poststop <"$BENCH_TMP/idx-stop.json"
	timed attach-cli "$r" "$SCB" attach --cgroup "/$BENCH_PREFIX-att-$$/nth" \
		--name "$ID_NTH" --flags "$FLAGS"
	timed detach-cli "$r" "$SCB" detach "$ID_NTH"
done

###############################################################################
# podman run with and without the hook, the way test/ drives podman.

PODMAN_ROWS=0
podman_bench()
{
	local hooks_on=$BENCH_TMP/hooks.d empty=$BENCH_TMP/hooks-empty r img
	local label=io.sockops-cb.bench=$$

	command -v podman >/dev/null || { bench_msg "podman: not installed, skipped"; return; }
	[ -f "$BENCH_REPO/test/lib.sh" ] ||
		{ bench_msg "podman: test/lib.sh (CONTAINERS_CONF recipe) missing, skipped"; return; }
	# shellcheck source=test/lib.sh
	. "$BENCH_REPO/test/lib.sh"
	export CONTAINERS_CONF=$BENCH_TMP/containers.conf
	scb_containers_conf "$CONTAINERS_CONF" "$BENCH_TMP/net" ||
		{ bench_msg "podman: cannot render containers.conf, skipped"; return; }
	img=${SCB_IMAGE:-localhost/scb-busybox}
	podman image exists "$img" ||
		{ bench_msg "podman: image $img missing (test/setup.sh builds it), skipped"; return; }
	mkdir -p "$empty"
	scb_write_hooks "$hooks_on" "$CONF"
	BENCH_AFTER+=("podman rm -f -t 0 --filter label=$label")
	# One of each first: image and runtime caches.
	podman --hooks-dir "$empty" run --rm --label "$label" --network none "$img" true >/dev/null 2>&1
	podman --hooks-dir "$hooks_on" run --rm --label "$label" --network none "$img" true >/dev/null 2>&1
	# Twice the rounds (a run is ~120 ms and varies by ~10), the order
	# swapped every round: neither side always follows the other's --rm.
	bench_msg "podman: $((2 * BENCH_ROUNDS)) interleaved rounds"
	for ((r = 1; r <= 2 * BENCH_ROUNDS; r++)); do
		if ((r % 2)); then
			podman_timed nohook "$empty" "$r"
			podman_timed hook "$hooks_on" "$r"
		else
			podman_timed hook "$hooks_on" "$r"
			podman_timed nohook "$empty" "$r"
		fi
	done
	PODMAN_ROWS=1
}

# podman_timed NAME HOOKS_DIR ROUND
podman_timed()
{
	timed "podman-$1" "$3" podman --hooks-dir "$2" run --rm --label "$label" \
		--network none "$img" true
}
podman_bench

###############################################################################
# Memory: the maps' memlock (what the kernel charges for them) with the
# bench's targets attached and without; the formula for other CPU counts.

map_mem()
{
	bpftool map show -j 2>/dev/null | jq -r --argjson ids "$(map_ids)" \
		'[.[] | select(.id as $i | $ids | index($i))] | map("\(.name)=\(.bytes_memlock)") | join(" ")'
}

# The node's pinned maps, whichever program uses them (the cgroup links'
# program does not use those of netns and retained targets).
map_ids()
{
	local f

	for f in /sys/fs/bpf/sockops-cb/*; do
		[ -f "$f" ] || continue
		bpftool map show pinned "$f" -j 2>/dev/null | jq -r '.id // empty'
	done | jq -s -c .
}

memlock_of()
{
	tr ' ' '\n' | awk -F= -v m="$1" '$1 == m { print $2 }'
}

attach_bg
ntargets()
{
	"$SCB" list --json 2>/dev/null | grep -c .
}
N1=$(ntargets)
M1=$(map_mem)
detach_bg
N0=$(ntargets)
M0=$(map_mem)
D=$((N1 - N0))
NCPU=$(awk -F- '{ print $NF + 1 }' /sys/devices/system/cpu/possible)
PROG_MEM=0
for p in prog prog-netns; do
	m=$(bpftool prog show pinned "/sys/fs/bpf/sockops-cb/$p" -j 2>/dev/null | jq -r '.bytes_memlock // 0')
	PROG_MEM=$((PROG_MEM + ${m:-0}))
done
val_of()
{
	bpftool map show -j | jq -r --argjson ids "$(map_ids)" --arg m "$1" \
		'.[] | select(.id as $i | $ids | index($i)) | select(.name == $m) | .bytes_value'
}
VAL_CS=$(val_of cgstats)
VAL_CT=$(val_of cgtrans)

###############################################################################
# Report.

echo
echo "== Hook, whole process from outside: median (min-max) ms over the rounds =="
for k in true btf version first first-libbpf poststop-first nth poststop nth-index poststop-index attach-cli detach-cli \
	podman-nohook podman-hook; do
	n=$(awk -F'\t' -v k="$k" '$1 == k' "$RAW" | grep -c .)
	[ "$n" -gt 0 ] || continue
	printf '%-15s %s  (n=%d)\n' "$k" \
		"$(awk -F'\t' -v k="$k" '$1 == k { print $3 }' "$RAW" | stats |
			awk '{ printf "%7.2f (%.2f-%.2f)", $1, $2, $3 }')" "$n"
done
cat <<EOF
   true: /bin/true, the floor of any hook; btf: libbpf's read and parse of
   the kernel's BTF in process, part of every first load;
   first: createRuntime right after unload (load + verify + pin + attach);
   first-libbpf: the same through libbpf's loader (kernels before 5.17);
   nth: with $ATTACH_N other containers attached; nth-index: the same with a
   podman storage index of $INDEX_N containers to read for the name.
EOF
if [ "$PODMAN_ROWS" = 1 ]; then
	awk -F'\t' '$1 == "podman-nohook" { a[$2] = $3 } $1 == "podman-hook" { b[$2] = $3 }
		END { for (r in a) if (r in b) print b[r] - a[r] }' "$RAW" | stats |
		awk '{ printf "podman run --rm IMAGE true: the hooks (createRuntime + poststop) add %.1f ms (median of per-round differences, %.1f to %.1f)\n", $1, $2, $3 }'
fi

echo
echo "== Memory (bpftool map show: bytes_memlock) =="
echo "   with $N1 targets: $M1"
echo "   with $N0 targets: $M0"
TGT=$(( ( $(memlock_of targets <<<"$M1") - $(memlock_of targets <<<"$M0") ) / (D > 0 ? D : 1) ))
echo "   targets: $TGT B per container"
# A live container's counters are its link's cgroup storage, which the
# maps' memlock does not count: per-CPU value x CPUs + the shared value,
# plus the kernel's struct bpf_cgroup_storage around each (~64 B).
STOR=$((VAL_CS * NCPU + VAL_CT + 2 * 64))
echo "   per container: targets entry $TGT B (memlock) + cgroup storage $STOR B ($VAL_CS B x $NCPU CPUs + $VAL_CT B shared + ~128 B)"
echo "     = $((TGT + STOR)) B on $NCPU possible CPUs"
for c in 8 32 64 128 256; do
	echo "     on $c possible CPUs: ~$(( (TGT + VAL_CS * c + VAL_CT + 128) / 1024 )) KiB"
done
echo "   node, fixed: maps $(awk '{ s = 0; for (i = 1; i <= NF; i++) { split($i, a, "="); s += a[2] } print s }' <<<"$M0") B with no target, programs $PROG_MEM B"
echo
echo "raw rows: $RAW"
