#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the whole suite: the unit tests (test/unit/*.t, TAP), then the bats
# files (test/*.bats), then a check that nothing was left behind.  Prints
# everything, and ends with one line: "N passed, N failed".  Exits 1 on any
# failure or when no test ran.
#
#   test/run.sh [--unit-only | --bats-only] [--sanitize] [--kernels] [FILE.bats...]
#
# What counts (the README's "Tests" section says the same):
#   - "passed" is the product behaviours verified: each unit case once (its
#     plain run) and each bats test, except harness self-checks;
#   - the ASan+UBSan and valgrind reruns of the unit tests (--sanitize)
#     add nothing to "passed", only to "failed" when they fail;
#   - bats tests named "harness: ..." check the machine and the harness
#     (podman works, the image is there), not the product: they get a line
#     "harness: ok - NAME" of their own, and count in "failed" when they
#     fail; so does the leftover check ("leftovers: ok - none");
#   - a skip is a failure unless test/SKIPS lists it, with its reason;
#     listed skips are printed as "skipped: NAME (REASON)", not passed;
#   - a TAP stream without exactly one plan ("1..N", first or last), with
#     a plan it does not fill, or from a program that dies, is a failure.
#
# --kernels adds the kernel matrix (test/kernels/run.sh: Debian's 5.10, 6.1
# and 6.12 kernels in qemu, the kernel-contract suite in each): each of its
# tests counts once per kernel, as the behaviour on that kernel.
# FILEs narrow the bats part (default test/*.bats), and SCB_BATS_FILTER=RE
# to the tests whose name matches RE (bats --filter).  --unit-only touches
# nothing of the node: no podman, no `sockops-cb unload`, no containers.conf;
# its leftover check only looks for the unit tests' own cgroups.  Expects
# test/setup.sh and make to have run (make test does both).

set -uo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASSED=0
FAILED=0
SKIPPED=0
# Harness checks that ran, pass or fail: "no test ran" counts them too.
HARNESS_RAN=0
# Lines printed just before the summary: harness checks, listed skips.
HARNESS_LINES=()
SKIP_LINES=()
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
# The one list of allowed skips (named in the README).
SKIPS_FILE=$SCB_TEST_DIR/SKIPS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scb-run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# not_ok WHAT: a failure the TAP stream itself did not report (a crash, a
# short plan, bats dying, an unlisted skip).
not_ok()
{
	echo "not ok - $*"
	FAILED=$((FAILED + 1))
}

# skip_reason NAME: the reason test/SKIPS gives for skipping NAME; fails
# when NAME is not listed there with a reason.  A line is "NAME | REASON";
# '#' starts a comment line.  Exact match on NAME: a test renamed must be
# listed again, on purpose.
skip_reason()
{
	[ -f "$SKIPS_FILE" ] || return 1
	awk -v name="$1" '
		/^[[:space:]]*(#|$)/ { next }
		{
			i = index($0, " | ")
			if (!i) next
			n = substr($0, 1, i - 1); r = substr($0, i + 3)
			sub(/[[:space:]]+$/, "", n); sub(/^[[:space:]]+/, "", r)
			if (n == name && r != "") { print r; found = 1; exit }
		}
		END { exit !found }' "$SKIPS_FILE"
}

# count_skip NAME WHY: a skipped test: listed (printed as skipped), or a
# failure naming what to do.
count_skip()
{
	local reason

	if reason=$(skip_reason "$1"); then
		SKIPPED=$((SKIPPED + 1))
		SKIP_LINES+=("skipped: $1 ($reason)")
	else
		not_ok "$1: skipped${2:+ ($2)}, and test/SKIPS does not list this skip"
	fi
}

# tap_count LOG KIND [LABEL]: add the TAP results in LOG to the totals.
# KIND "unit" (plain unit run: "ok N - name", skips "ok N - name # SKIP")
# and "bats" ("ok N name", skips "ok N name # skip (why)") count passes,
# failures and skips; "bats" reports tests named "harness: ..." apart.
# KIND "rerun" (a sanitizer or valgrind run of a unit test) counts only its
# failures: its passes and skips were counted by the plain run.  LABEL
# prefixes unit test names ("unit/test_x.t: test_y").
tap_count()
{
	local kind=$2 label=${3:-} line name why
	local skip_re='^(.*[^[:space:]])[[:space:]]+#[[:space:]]*[Ss][Kk][Ii][Pp]([^[:alnum:]].*)?$'

	while IFS= read -r line; do
		case "$line" in
		"not ok"*)
			FAILED=$((FAILED + 1))
			[ "$kind" = bats ] || continue
			name=$(tap_name "$line")
			if [[ $name == harness:* ]]; then
				HARNESS_RAN=$((HARNESS_RAN + 1))
				HARNESS_LINES+=("harness: not ok - ${name#harness:?}")
			fi
			;;
		"ok"*)
			[ "$kind" != rerun ] || continue
			name=$(tap_name "$line")
			why=
			if [[ $name =~ $skip_re ]]; then
				name=${BASH_REMATCH[1]}
				why=${BASH_REMATCH[2]}
				why=${why#"${why%%[![:space:]]*}"}
				why=${why#(}
				why=${why%)}
				[ "$kind" != unit ] || name="$label: $name"
				count_skip "$name" "$why"
			elif [ "$kind" = bats ] && [[ $name == harness:* ]]; then
				HARNESS_RAN=$((HARNESS_RAN + 1))
				HARNESS_LINES+=("harness: ok - ${name#harness:?}")
			else
				PASSED=$((PASSED + 1))
			fi
			;;
		esac
	done <"$1"
}

# tap_name LINE: the test's name (and any directive) of a TAP result line:
# what follows "ok N", "not ok N" and an optional "- ".
tap_name()
{
	sed -E 's/^(not )?ok[[:space:]]*[0-9]*[[:space:]]*(-[[:space:]]+)?//' <<<"$1"
}

# tap_check_plan LOG WHAT: a stream is complete only with exactly one plan
# "1..N", as its first or last TAP line, and N results.  A program that
# stops early has no plan (ours print it last) or fewer results than its
# plan (bats prints it first).  Fails with a not_ok line; returns 1 then.
tap_check_plan()
{
	local log=$1 what=$2 plans plan ran first last

	ran=$(grep -cE '^(not )?ok\b' "$log")
	plans=$(grep -cE '^1\.\.[0-9]+' "$log")
	if grep -qE '^Bail out!' "$log"; then
		not_ok "$what: bailed out"
		return 1
	fi
	if [ "$plans" -eq 0 ]; then
		not_ok "$what: no plan (1..N) after $ran result(s): it stopped early"
		return 1
	fi
	if [ "$plans" -gt 1 ]; then
		not_ok "$what: $plans plans"
		return 1
	fi
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log")
	first=$(grep -nE '^(1\.\.[0-9]|(not )?ok\b)' "$log" | head -n1)
	last=$(grep -nE '^(1\.\.[0-9]|(not )?ok\b)' "$log" | tail -n1)
	if [[ $first != *:1..* ]] && [[ $last != *:1..* ]]; then
		not_ok "$what: the plan is neither first nor last"
		return 1
	fi
	if [ "$plan" -ne "$ran" ]; then
		not_ok "$what: planned $plan tests, ran $ran"
		return 1
	fi
}

# run_unit KIND LABEL CMD...: one TAP program (KIND as for tap_count); a
# crash, a bad plan or a failing exit status without a failed case fails.
# A rerun's passing lines are shown as comments, so that its output adds
# no results for a TAP reader either; its failures name the rerun.
run_unit()
{
	local kind=$1 label=$2 log=$TMP/unit.log rc failed=$FAILED

	shift 2
	echo "# $label"
	if [ "$kind" = rerun ]; then
		timeout --kill-after=10 "$UNIT_TIMEOUT" "$@" >"$log" 2>&1
		rc=$?
		sed -E -e '/^not ok/!s/^/#   /' \
			-e "s|^not ok[[:space:]]*([0-9]*)[[:space:]]*(-[[:space:]]+)?|not ok \\1 - $label: |" "$log"
	else
		timeout --kill-after=10 "$UNIT_TIMEOUT" "$@" 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
	fi
	tap_count "$log" "$kind" "$label"
	tap_check_plan "$log" "$label" || return 0
	if [ "$rc" -ne 0 ] && [ "$FAILED" -eq "$failed" ]; then
		not_ok "$label: exited with status $rc"
	fi
}

# With --sanitize each unit test runs three times: plain, built with
# ASan+UBSan (.output/san/), and under valgrind; any report fails it.  Only
# the plain run counts its cases.
run_unit_tests()
{
	local t name

	for t in "$SCB_TEST_DIR"/unit/*.t; do
		[ -x "$t" ] || continue
		name=${t##*/}
		run_unit unit "unit/$name" "$t"
		[ -n "$SANITIZE" ] || continue
		if [ -x "$SCB_REPO/.output/san/$name" ]; then
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
				run_unit rerun "asan+ubsan/$name" "$SCB_REPO/.output/san/$name"
		else
			not_ok "asan+ubsan/$name: not built (make check-sanitize)"
		fi
		run_unit rerun "valgrind/$name" valgrind -q --error-exitcode=99 \
			--leak-check=full --errors-for-leak-kinds=definite "$t"
	done
}

# run_bats_tests [FILE...]
run_bats_tests()
{
	local files=("$@") log=$TMP/bats.log rc failed=$FAILED

	cd "$SCB_REPO" || exit 1
	# The kernel features suite runs here too: this kernel's column.
	[ ${#files[@]} -gt 0 ] || files=(test/*.bats test/kernels/features.bats)
	[ -e "${files[0]}" ] || return 0

	bats --tap ${SCB_BATS_FILTER:+--filter "$SCB_BATS_FILTER"} "${files[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	tap_count "$log" bats
	tap_check_plan "$log" bats || return 0
	if [ "$rc" -ne 0 ] && [ "$FAILED" -eq "$failed" ]; then
		not_ok "bats exited with status $rc"
	fi
}

# What existed before the run is not a leak of the run (a developer's own
# containers, the VM's interfaces, a colleague's attachments): only what
# appeared during it and is still there.
snapshot()
{
	local cg2

	cg2=$(cgroup2_mount)
	podman ps -aq --no-trunc | sort >"$TMP/$1.containers"
	podman pod ps -q --no-trunc | sort >"$TMP/$1.pods"
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
		sort >"$TMP/$1.links"
	ip netns list | awk '{ print $1 }' | sort >"$TMP/$1.netns"
	scb_sockops_attachments | sort >"$TMP/$1.attach"
	ls -A "$SCB_PIN_LINKS" 2>/dev/null | sort >"$TMP/$1.pins"
	if [ -n "$cg2" ]; then
		ls -d "$cg2"/scb-test-* 2>/dev/null | sort >"$TMP/$1.cgroups"
	else
		: >"$TMP/$1.cgroups"
	fi
}

# leftover WHAT LIST: report LIST (one item a line) if it is not empty.
leftover()
{
	[ -n "$2" ] || return 0
	echo "# left behind: $1:"
	sed 's/^/#   /' <<<"$2"
	LEFTOVERS=1
}

# check_leftovers: the check runs after the tests and is no product test:
# its own line, a failure when something was left.  After --unit-only only
# the unit tests' cgroups (scb-test-unit-*) are theirs to leave: the rest
# of the node is not looked at (nor snapshotted before).
check_leftovers()
{
	local cg2

	LEFTOVERS=0
	cg2=$(cgroup2_mount)
	if [ -z "$BATS" ]; then
		[ -z "$cg2" ] ||
			leftover "unit test cgroups" "$(ls -d "$cg2"/scb-test-unit-* 2>/dev/null)"
	else
		snapshot after
		leftover "containers" "$(comm -13 "$TMP"/{before,after}.containers)"
		leftover "pods" "$(comm -13 "$TMP"/{before,after}.pods)"
		leftover "network interfaces" "$(comm -13 "$TMP"/{before,after}.links)"
		leftover "network namespaces" "$(comm -13 "$TMP"/{before,after}.netns)"
		leftover "sock_ops attachments" "$(comm -13 "$TMP"/{before,after}.attach)"
		leftover "pinned links in $SCB_PIN_LINKS" \
			"$(comm -13 "$TMP"/{before,after}.pins)"
		leftover "test cgroups" "$(comm -13 "$TMP"/{before,after}.cgroups)"
		# Not the run's, but worth a look.
		[ ! -s "$TMP/before.attach" ] ||
			sed 's/^/# (before the run already) sock_ops attachment: /' "$TMP/before.attach"
	fi

	if [ "$LEFTOVERS" -eq 0 ]; then
		LEFTOVER_LINE="leftovers: ok - none"
	else
		LEFTOVER_LINE="leftovers: not ok - something was left behind (see above)"
		FAILED=$((FAILED + 1))
	fi
}

# summary: the harness checks, the listed skips and the leftover check on
# lines of their own, then the one line of product results.
summary()
{
	local line

	for line in ${HARNESS_LINES[@]+"${HARNESS_LINES[@]}"} \
		${SKIP_LINES[@]+"${SKIP_LINES[@]}"} "$LEFTOVER_LINE"; do
		echo "$line"
	done
	echo "$PASSED passed, $FAILED failed"
}

# run_kernel_matrix: test/kernels/run.sh's results ("ok - [KERNEL] NAME"),
# its table printed as it comes; its own summary line is replaced by ours.
run_kernel_matrix()
{
	local log=$TMP/kernels.log rc=0

	echo "# kernel matrix: test/kernels/run.sh"
	"$SCB_TEST_DIR/kernels/run.sh" 2>&1 | tee "$log" | grep -vE '^[0-9]+ passed, [0-9]+ failed$'
	rc=${PIPESTATUS[0]}
	tap_count "$log" bats
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$log"; then
		not_ok "kernel matrix: test/kernels/run.sh exited $rc without a failed test"
	fi
	if ! grep -qE '^ok' "$log"; then
		not_ok "kernel matrix: no kernel reported a result"
	fi
}

usage()
{
	echo "usage: $0 [--unit-only | --bats-only] [--sanitize] [--kernels] [FILE.bats...]" >&2
	exit 2
}

UNIT=1
BATS=1
SANITIZE=
KERNELS=
while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) KERNELS=1 ;;
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
# anything is attached, so it never takes tracing from under anyone.  Only
# around bats: unit tests load nothing.
unload_node()
{
	[ -x "$SCB_REPO/sockops-cb" ] || return 0
	"$SCB_REPO/sockops-cb" unload >/dev/null 2>&1 ||
		echo "# sockops-cb unload: targets still attached on this node"
}

if [ -n "$BATS" ]; then
	# The private podman set-up the leftover snapshots use too.
	export CONTAINERS_CONF=$TMP/containers.conf
	scb_containers_conf "$CONTAINERS_CONF" "$TMP/net"
	unload_node
	snapshot before
fi
[ -z "$UNIT" ] || run_unit_tests
[ -z "$BATS" ] || run_bats_tests "$@"
if [ $((PASSED + FAILED + SKIPPED + HARNESS_RAN)) -eq 0 ]; then
	echo "# no test ran"
	NONE_RAN=1
fi
[ -z "$KERNELS" ] || run_kernel_matrix
check_leftovers
[ -z "$BATS" ] || unload_node
summary

[ "$FAILED" -eq 0 ] && [ -z "${NONE_RAN:-}" ]
