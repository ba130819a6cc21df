#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The node's program has two loaders: the light skeleton where the kernel
# relocates CO-RE accesses itself (5.17+), libbpf's skeleton elsewhere.
# SOCKOPS_CB_LOADER=libbpf takes the second path on this kernel, so both
# are held to the same numbers here; test/kernels/ runs them on 5.10.

load helpers

setup()
{
	basic_setup
	# A load happens only on an empty node.
	run_scb unload
}

teardown()
{
	unset SOCKOPS_CB_LOADER
	scb_teardown
}

# count_nested LOADER: nested pod and container, three connections from
# the container to a server in the pod: each counted once, where it
# belongs (the CO-RE read of the socket's cgroup decides).
count_nested()
{
	local loader=$1 port=$2 pod ctr other p c

	make_pod_cgroup ctr other
	pod=$SCB_CGROUP
	ctr=$pod/ctr
	other=$pod/other
	p=$(safename)-pod
	c=$(safename)-ctr
	export SOCKOPS_CB_LOADER=$loader
	run_scb attach -v --cgroup "/${pod##*/}" --name "$p" --flags STATE,RTT
	if [ "$loader" = libbpf ]; then
		assert_output --partial "loading the program through libbpf (CO-RE from the kernel's BTF)"
	else
		assert_output --partial "loading the program through the light skeleton"
	fi
	unset SOCKOPS_CB_LOADER
	run_scb attach --cgroup "/${pod##*/}/ctr" --name "$c" --flags STATE,RTT
	serve_in_cgroup "$other" "$port"
	connect_from_cgroup "$ctr" "$port" 3
	stats_json "$c"
	check "$STATS" .established_active 3 "$loader: the container"
	check "$STATS" '.state_transitions["SYN_SENT->ESTABLISHED"]' 3 "$loader: the container"
	check "$STATS" '.rtt_values > 0' true "$loader: RTT values"
	stats_json "$p"
	check "$STATS" .established_active 0 "$loader: the pod"
	check "$STATS" .established_passive 3 "$loader: the pod"
	run_scb detach "$c"
	run_scb detach "$p"
	run_scb unload
}

@test "loader: libbpf's skeleton (kernels without kernel-side CO-RE) and the light skeleton load the same program: the same counts, nesting included" {
	count_nested libbpf 47361
	count_nested light 47362
	# Nothing of either load is left.
	[ ! -e /sys/fs/bpf/sockops-cb ] || fail "pins left: $(ls /sys/fs/bpf/sockops-cb)"
}

@test "loader: flags lists each kernel feature with what is lost without it, and check reports the same" {
	local f avail major minor want n=0

	run_scb flags --json
	for f in "kernel CO-RE" "socket cgroup" "netns registration" "ring buffer" \
		"TCP iterator" "existing connections"; do
		check "$(jq -sc --arg f "$f" '[.[] | select(.feature == $f)] | length' <<<"$output")" \
			. 1 "feature $f listed once"
	done
	# Each is available exactly on the Debian kernels at least as new as
	# the one its line names; SOCKOPS_CB_LOADER=libbpf is what a kernel
	# without kernel-side CO-RE reports.
	while IFS=$'\t' read -r f avail major minor; do
		if kernel_at_least "$major" "$minor"; then want=true; else want=false; fi
		[ "$avail" = "$want" ] ||
			fail "feature $f: available $avail on $(uname -r), which is$([ "$want" = true ] || echo " not") Linux >= $major.$minor"
		n=$((n + 1))
	done < <(jq -r 'select(.feature) | (.needs | capture("Linux (?<a>[0-9]+)\\.(?<b>[0-9]+)")) as $v |
		[.feature, .available, $v.a, $v.b] | @tsv' <<<"$output")
	check "$n" . "$(jq -s '[.[] | select(.feature)] | length' <<<"$output")" \
		"every feature names the kernel that brought it"
	SOCKOPS_CB_LOADER=libbpf run "$SCB" flags
	assert_line --regexp '^kernel CO-RE +no +libbpf relocates the program'
	SOCKOPS_CB_LOADER=libbpf run "$SCB" check
	assert_line --regexp 'feature +kernel CO-RE: no, this kernel lacks BPF_PROG_LOAD with CO-RE relocations'
}
