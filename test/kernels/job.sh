#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# job.sh: the kernel matrix's job, run INSIDE a guest by run.sh (through
# vm.sh) in a fresh copy of the tree: test/setup.sh, make (on every kernel:
# the binary is built where it runs), the kernel's feature probe, then the
# kernel suites (contract.bats, and features.bats where it exists) through
# test/run.sh.  FULL=1 first runs the README's test command in the guest,
# `make test MATRIX=0` (unit tests, their ASan+UBSan and valgrind reruns,
# every bats file: all of `make test` but the matrix, which cannot nest),
# then the contract, and prints the sum of both summaries last;
# SCB_KERNEL_FILES="F..." runs only those files (SCB_BATS_FILTER=RE: only
# their tests whose name matches RE).
# Lines starting "SCB-JOB " are data for run.sh.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=test/lib.sh
. test/lib.sh

# datum KEY VALUE: a line for run.sh's table.
datum()
{
	echo "SCB-JOB $1=$2"
}

host_facts()
{
	datum uname_r "$(uname -r)"
	echo "# pid 1: $(cat /proc/1/comm); cgroup2 at $(cgroup2_mount);" \
		"bpffs: $(awk '$3 == "bpf" { print $2 }' /proc/mounts | tr '\n' ' ')"
	echo "# podman: $(podman info --format '{{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}' 2>&1)"
	# netem is a module on Debian's kernels; the contract's loss and delay
	# tests need it.
	if modprobe sch_netem; then echo "# sch_netem: loaded"; else echo "# sch_netem: modprobe failed"; fi
}

# timed KEY CMD...: run CMD, its wall time as datum KEY_s.
timed()
{
	local key=$1 t0 rc=0

	shift
	t0=$(date +%s)
	"$@" || rc=$?
	datum "${key}_s" $(($(date +%s) - t0))
	return "$rc"
}

# The product's own view of the kernel: printed whole, and one line for
# the table.
feature_probe()
{
	local sup all

	echo "# ./sockops-cb flags:"
	./sockops-cb flags 2>&1 | sed 's/^/#   /' || true
	echo "# ./sockops-cb check:"
	./sockops-cb check 2>&1 | sed 's/^/#   /' || true
	datum features "$(./sockops-cb flags --json 2>/dev/null | jq -rs '
		[.[] | select(.flag)] as $f | [.[] | select(.feature)] as $k |
		"flags \([$f[] | select(.supported)] | length)/\($f | length)" +
		([$f[] | select(.supported | not) | .flag] |
			if length > 0 then " (no " + join(",") + ")" else "" end) +
		([$k[] | select(.available | not) | .feature] |
			if length > 0 then "; lacks: " + join(", ") else "" end)' || echo "?")"
}

# summary_of LOG: the "N passed, N failed" numbers of a run's log.
summary_of()
{
	grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n1 |
		sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/'
}

# full_run: the README's `make test` (but the matrix), then the contract;
# one summary over both, the last line, for run.sh.
full_run()
{
	local log1 log2 p1 f1 p2 f2 rc=0

	log1=$(mktemp) log2=$(mktemp)
	timed tests make test MATRIX=0 2>&1 | tee "$log1" | grep -vE '^[0-9]+ passed, [0-9]+ failed$' || rc=1
	test/run.sh --bats-only test/kernels/contract.bats 2>&1 | tee "$log2" |
		grep -vE '^[0-9]+ passed, [0-9]+ failed$' || rc=1
	read -r p1 f1 < <(summary_of "$log1"; echo "0 1")
	read -r p2 f2 < <(summary_of "$log2"; echo "0 1")
	echo "# make test MATRIX=0: $p1 passed, $f1 failed; contract: $p2 passed, $f2 failed"
	echo "$((p1 + p2)) passed, $((f1 + f2)) failed"
	rm -f "$log1" "$log2"
	return "$rc"
}

main()
{
	local files=() kernel_files

	host_facts
	if ! timed setup bash test/setup.sh >/dev/null; then
		echo "not ok - setup: test/setup.sh failed on $(uname -r)"
		return 1
	fi
	if ! timed build make -s -j2; then
		echo "not ok - build: make failed on $(uname -r)"
		return 1
	fi
	feature_probe
	# The kernel suites: the contract, and features.bats (the product's
	# feature probes against the kernel's own answers) where it exists.
	kernel_files=(test/kernels/contract.bats)
	[ ! -e test/kernels/features.bats ] || kernel_files+=(test/kernels/features.bats)
	if [ "${FULL:-}" = 1 ]; then
		full_run
		return
	elif [ -n "${SCB_KERNEL_FILES:-}" ]; then
		read -ra files <<<"$SCB_KERNEL_FILES"
	else
		files=("${kernel_files[@]}")
	fi
	timed tests test/run.sh --bats-only "${files[@]}"
}

main "$@"
