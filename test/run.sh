#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the whole suite: the unit tests (test/unit/*.t, TAP), then the bats
# files (test/*.bats), then a check that nothing was left behind.  Prints
# everything, and ends with one line: "N passed, N failed[, N skipped]".
# Skips are not passes.  Exits 1 on any failure or when no test ran.
#
#   test/run.sh [--unit-only | --bats-only] [--sanitize] [FILE.bats...]
#
# FILEs narrow the bats part (default test/*.bats).  The leftover check runs
# in every mode.  Expects test/setup.sh and make to have run (make test
# does both).

set -uo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASSED=0
FAILED=0
SKIPPED=0
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scb-run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export CONTAINERS_CONF=$TMP/containers.conf
scb_containers_conf "$CONTAINERS_CONF" "$TMP/net"

# tap_count LOG: add the TAP results in LOG to the totals, and leave how
# many failed in TAP_FAILS (not printed: $(...) would lose the totals).
# "ok N - x # SKIP why" (unit) and "ok N x # skip (why)" (bats) are skips.
tap_count()
{
	local line fails=0 skip_re='[[:space:]]#[[:space:]]*[Ss][Kk][Ii][Pp]([^[:alnum:]]|$)'

	while IFS= read -r line; do
		case "$line" in
		"not ok"*)
			FAILED=$((FAILED + 1))
			fails=$((fails + 1))
			;;
		"ok"*)
			if [[ $line =~ $skip_re ]]; then
				SKIPPED=$((SKIPPED + 1))
			else
				PASSED=$((PASSED + 1))
			fi
			;;
		esac
	done <"$1"
	TAP_FAILS=$fails
}

# tap_results LOG: how many result lines LOG has.
tap_results()
{
	grep -cE '^(not )?ok\b' "$1"
}

# not_ok WHAT: a failure the TAP stream itself did not report (a crash, a
# short plan, bats dying).
not_ok()
{
	echo "not ok - $*"
	FAILED=$((FAILED + 1))
}

# run_unit LABEL CMD...: one TAP program; a crash or a short plan fails.
run_unit()
{
	local label=$1 log=$TMP/unit.log rc fails plan ran

	shift
	echo "# $label"
	timeout --kill-after=10 "$UNIT_TIMEOUT" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	tap_count "$log"
	fails=$TAP_FAILS
	ran=$(tap_results "$log")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | head -n1)

	if [ -n "$plan" ] && [ "$plan" -ne "$ran" ]; then
		not_ok "$label: planned $plan tests, ran $ran"
	elif [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ]; then
		not_ok "$label: exited with status $rc"
	fi
}

# With --sanitize each unit test runs three times: plain, built with
# ASan+UBSan (.output/san/), and under valgrind; any report fails it.
run_unit_tests()
{
	local t name

	for t in "$SCB_TEST_DIR"/unit/*.t; do
		[ -x "$t" ] || continue
		name=${t##*/}
		run_unit "unit/$name" "$t"
		[ -n "$SANITIZE" ] || continue
		if [ -x "$SCB_REPO/.output/san/$name" ]; then
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
				run_unit "asan+ubsan/$name" "$SCB_REPO/.output/san/$name"
		else
			not_ok "asan+ubsan/$name: not built (make check-sanitize)"
		fi
		run_unit "valgrind/$name" valgrind -q --error-exitcode=99 \
			--leak-check=full --errors-for-leak-kinds=definite "$t"
	done
}

# run_bats_tests [FILE...]
run_bats_tests()
{
	local files=("$@") log=$TMP/bats.log rc fails

	cd "$SCB_REPO" || exit 1
	[ ${#files[@]} -gt 0 ] || files=(test/*.bats)
	[ -e "${files[0]}" ] || return 0

	bats --tap "${files[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	tap_count "$log"
	fails=$TAP_FAILS
	if [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ]; then
		not_ok "bats exited with status $rc"
	fi
}

# What existed before the run is not a leak (a developer's own containers,
# the VM's interfaces); what the product owns must be gone entirely.
snapshot()
{
	podman ps -aq --no-trunc | sort >"$TMP/$1.containers"
	podman pod ps -q --no-trunc | sort >"$TMP/$1.pods"
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
		sort >"$TMP/$1.links"
	ip netns list | awk '{ print $1 }' | sort >"$TMP/$1.netns"
}

# leftover WHAT LIST: report LIST (one item a line) if it is not empty.
leftover()
{
	[ -n "$2" ] || return 0
	echo "# left behind: $1:"
	sed 's/^/#   /' <<<"$2"
	LEFTOVERS=1
}

check_leftovers()
{
	local cg2

	LEFTOVERS=0
	snapshot after
	leftover "containers" "$(comm -13 "$TMP"/{before,after}.containers)"
	leftover "pods" "$(comm -13 "$TMP"/{before,after}.pods)"
	leftover "network interfaces" "$(comm -13 "$TMP"/{before,after}.links)"
	leftover "network namespaces" "$(comm -13 "$TMP"/{before,after}.netns)"
	leftover "sock_ops attachments" "$(scb_sockops_attachments)"
	leftover "pinned links in $SCB_PIN_LINKS" \
		"$(ls -A "$SCB_PIN_LINKS" 2>/dev/null)"
	cg2=$(cgroup2_mount)
	[ -z "$cg2" ] ||
		leftover "test cgroups" "$(ls -d "$cg2"/scb-test-* 2>/dev/null)"

	if [ "$LEFTOVERS" -eq 0 ]; then
		echo "ok - no leftovers"
		PASSED=$((PASSED + 1))
	else
		not_ok "no leftovers"
	fi
}

summary()
{
	local line="$PASSED passed, $FAILED failed"

	[ "$SKIPPED" -eq 0 ] || line+=", $SKIPPED skipped"
	echo "$line"
}

usage()
{
	echo "usage: $0 [--unit-only | --bats-only] [--sanitize] [FILE.bats...]" >&2
	exit 2
}

UNIT=1
BATS=1
SANITIZE=
while [ $# -gt 0 ]; do
	case "$1" in
	--unit-only) BATS= ;;
	--bats-only) UNIT= ;;
	--sanitize) SANITIZE=1 ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done

# unload_node: remove the node's idle program and maps.  Before the run: a
# program pinned by another build would make this build refuse to attach.
# After it: nothing of ours stays in bpffs.  `unload` refuses while
# anything is attached, so it never takes tracing from under anyone.
unload_node()
{
	[ -x "$SCB_REPO/sockops-cb" ] || return 0
	"$SCB_REPO/sockops-cb" unload >/dev/null 2>&1 ||
		echo "# sockops-cb unload: targets still attached on this node"
}

unload_node
snapshot before
[ -z "$UNIT" ] || run_unit_tests
[ -z "$BATS" ] || run_bats_tests "$@"
if [ $((PASSED + FAILED)) -eq 0 ]; then
	echo "# no test ran"
	NONE_RAN=1
fi
check_leftovers
unload_node
summary

[ "$FAILED" -eq 0 ] && [ -z "${NONE_RAN:-}" ]
