#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [KERNEL...]: the kernel matrix.  Boots each of Debian's kernels
# (default 5.10 6.1 6.12) in qemu with a Debian 12 userland (mkimage.sh,
# built once and cached), runs job.sh there on a fresh copy of this tree
# (the contract suite; FULL=1: `make test MATRIX=0` and the contract), one VM at a time,
# and prints each VM's results prefixed with its kernel, a table, and last
# "N passed, N failed" over all kernels.  Exits 1 if anything failed.
# Logs: $SCB_KERNELS_CACHE/runs/ (the last 10 runs are kept).

set -uo pipefail

# shellcheck source=test/kernels/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KEEP_RUNS=10
# Per VM, boot and build included (TCG).
TIMEOUT=${SCB_KERNELS_TIMEOUT:-$([ "${FULL:-}" = 1 ] && echo 5400 || echo 1500)}
ROWS=()
VM_PID=
TOTAL_PASSED=0
TOTAL_FAILED=0

prune_runs()
{
	local runs=$SCB_KERNELS_CACHE/runs

	# Run dirs are named by date: the oldest sort first.
	ls -1d "$runs"/*/ 2>/dev/null | head -n -"$KEEP_RUNS" | xargs -r rm -rf
}

# datum LOG KEY: a "SCB-JOB KEY=VALUE" value of job.sh's output.
datum()
{
	sed -n "s/^SCB-JOB $2=//p" "$1" | tail -n1
}

# results K LOG: the job's result lines, prefixed with the kernel: bats'
# "ok N name", run.sh's own "not ok - what", its harness and leftover
# lines, and the diagnostics under each failure.
results()
{
	awk -v k="$1" '
		/^(not )?ok / {
			fail = /^not ok/
			sub(/^(not )?ok[ \t]*[0-9]*[ \t]*(- )?/, "")
			print (fail ? "not ok" : "ok") " - [" k "] " $0
			next
		}
		/^(harness|leftovers): (not )?ok - / {
			what = $1; fail = /: not ok/
			sub(/^[a-z]+: (not )?ok - /, "")
			print (fail ? "not ok" : "ok") " - [" k "] " what " " $0
			next
		}
		/^skipped: / { print "# [" k "] " $0; next }
		fail && /^#/ { print; next }
		{ fail = 0 }' "$2"
}

# first_container LOG: "N ms (loader)" as features.bats measured it.
first_container()
{
	sed -n 's/^# first container (\([a-z]*\)): \([0-9]*\) ms$/\2 ms (\1)/p' "$1" | tail -n1
}

# oracles LOG: "P/N": of the N tests comparing a number with the kernel's
# own accounting (named "oracle: ..."), P passed (a skip is no pass).
oracles()
{
	awk '/^(not )?ok [0-9]+ .*oracle: / {
		n++
		if ($1 == "ok" && !/# skip/) p++
	}
	END { printf "%d/%d", p, n }' "$1"
}

# one_kernel K RUNDIR: the job in K's VM; its row of the table.
one_kernel()
{
	local k=$1 dir=$2/$1 log rc=0 summary passed failed filter=${SCB_BATS_FILTER:-}

	mkdir -p "$dir"
	log=$dir/output
	scb_msg "[$k] booting (log: $log)"
	# In the background, so that a TERM to us can stop it (vm.sh kills
	# its qemu and removes its files on TERM).
	"$SCB_KERNELS_DIR/vm.sh" "$k" --src "$SCB_REPO" --log "$dir" --timeout "$TIMEOUT" -- \
		"FULL=${FULL:-} SCB_KERNEL_FILES='${SCB_KERNEL_FILES:-}' SCB_BATS_FILTER=${filter@Q} bash test/kernels/job.sh" \
		>"$log" 2>"$dir/vm.stderr" &
	VM_PID=$!
	wait "$VM_PID" || rc=$?
	VM_PID=
	scb_msg "[$k] done: exit $rc, $(sed -n 's/^total_s=//p' "$dir/timing" 2>/dev/null) s"
	results "$k" "$log"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
	if [ -n "$summary" ]; then
		passed=${summary%% passed*}
		failed=${summary#*passed, }
		failed=${failed%% failed}
	else
		# No summary: the job never got to the tests (build, hang).
		passed=0 failed=1
		echo "not ok - [$k] job: no results (exit $rc): $(tail -n 3 "$dir/vm.stderr" | tr '\n' ' ')"
	fi
	[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || {
		failed=1
		echo "not ok - [$k] job: exit $rc with no failed test"
	}
	TOTAL_PASSED=$((TOTAL_PASSED + passed))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
	ROWS+=("$(printf '%-7s | %-22s | %6s | %7s | %-21s | %7s | %6s | %6s | %s' "$k" \
		"$(datum "$log" uname_r)" "$(sed -n 's/^boot_s=//p' "$dir/timing" 2>/dev/null)" \
		"$(datum "$log" build_s)" "$(first_container "$log")" "$(oracles "$log")" \
		"$passed" "$failed" "$(datum "$log" features)")")
}

main()
{
	local kernels=("$@") run k row

	[ "$(id -u)" -eq 0 ] || { scb_msg "must run as root"; exit 2; }
	trap '[ -z "$VM_PID" ] || kill "$VM_PID" 2>/dev/null; exit 130' INT TERM
	[ ${#kernels[@]} -gt 0 ] || kernels=(5.10 6.1 6.12)
	scb_kernels_host_packages || exit 2
	"$SCB_KERNELS_DIR/mkimage.sh" || { scb_msg "image build failed"; exit 2; }
	run=$SCB_KERNELS_CACHE/runs/$(date +%Y%m%d-%H%M%S)-$$
	mkdir -p "$run"
	# One VM at a time: each gets both of the machine's cores.
	for k in "${kernels[@]}"; do
		one_kernel "$k" "$run"
	done
	echo
	printf '%-7s | %-22s | %6s | %7s | %-21s | %7s | %6s | %6s | %s\n' kernel "uname -r" "boot s" \
		"build s" "first container" oracles passed failed features
	for row in "${ROWS[@]}"; do
		echo "$row"
	done
	prune_runs
	echo "# logs: $run"
	echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
	[ "$TOTAL_FAILED" -eq 0 ]
}

main "$@"
