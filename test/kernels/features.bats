#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# What each kernel offers sockops-cb, as the product probes and states it,
# checked against the kernel itself (its BTF, bpftool's helper probe, its
# version as the independent record of when each feature came); and what
# the product does where a feature is missing: one line, never a failed
# container.  Run in each of Debian's kernels by test/kernels/run.sh, and
# on the build VM by make test (every feature present there).

bats_require_minimum_version 1.5.0

load ../helpers

setup()
{
	basic_setup
	scb_require_binary
}

# feature NAME: "true" or "false", as `flags --json` says.
feature()
{
	"$SCB" flags --json | jq -r --arg f "$1" 'select(.feature == $f) | .available'
}

# The kernel's own answers (btf_has_sock_cgroup: helpers.bash).
sockops_has_helper()
{
	bpftool feature probe kernel 2>/dev/null |
		awk -v h="$1" '/helpers supported for program type/ { in_ops = /sock_ops:/ }
			in_ops && $0 ~ "- " h "$" { found = 1 } END { exit !found }'
}

btf_has_enum()
{
	bpftool btf dump file /sys/kernel/btf/vmlinux | grep -q "'$1' val="
}

# expect_feature NAME true|false WHY
expect_feature()
{
	check "$(feature "$1")" . "$2" "feature $1 ($3)"
}

@test "features: flags reports each feature as the kernel's BTF, helper probes and version show it, and check warns for each one missing" {
	local cg=false netns=false existing=false core=false memcg=false

	btf_has_sock_cgroup && cg=true
	sockops_has_helper bpf_get_netns_cookie && netns=true
	btf_has_enum TCP_BPF_SOCK_OPS_CB_FLAGS && existing=true
	kernel_at_least 5 17 && core=true
	kernel_at_least 5 11 && memcg=true
	expect_feature "socket cgroup" "$cg" "sock_cgroup_data.cgroup in BTF"
	expect_feature "netns registration" "$netns" "bpftool: bpf_get_netns_cookie for sock_ops"
	expect_feature "existing connections" "$existing" "TCP_BPF_SOCK_OPS_CB_FLAGS in BTF"
	expect_feature "kernel CO-RE" "$core" "kernel-side CO-RE came with Linux 5.17"
	expect_feature "memcg accounting" "$memcg" "BPF memory left RLIMIT_MEMLOCK in Linux 5.11"
	expect_feature "ring buffer" true "every supported kernel (5.8+)"
	expect_feature "TCP iterator" true "every supported kernel (5.9+)"

	run_scb '?' check
	for f in "socket cgroup:$cg" "netns registration:$netns" "existing connections:$existing" \
		"kernel CO-RE:$core" "memcg accounting:$memcg"; do
		if [ "${f##*:}" = true ]; then
			assert_line --regexp "^ok +feature +${f%:*}: yes"
		else
			assert_line --regexp "^warn +feature +${f%:*}: no, this kernel lacks"
		fi
	done
}

@test "features: the first container loads through the loader this kernel takes, and libbpf's loader counts the same on every kernel" {
	local name t0 t1 loader=light port=47391

	run_scb unload
	feature "kernel CO-RE" | grep -qx true || loader=libbpf
	make_cgroup
	name=$(safename)
	# The first container's time: createRuntime on an empty node, as a
	# runtime calls it.
	start_in_cgroup "$SCB_CGROUP" sleep 300
	scb_oci_state "$name" "$SCB_BG_PID" '{"sockops-cb.io/flags":"STATE"}' >"$BATS_TEST_TMPDIR/state"
	scb_oci_state "$name" 0 '{}' stopped >"$BATS_TEST_TMPDIR/stop"
	t0=$(date +%s%N)
	"$SCB" hook createRuntime <"$BATS_TEST_TMPDIR/state" || fail "first createRuntime failed"
	t1=$(date +%s%N)
	echo "# first container ($loader): $(((t1 - t0) / 1000000)) ms" >&3
	"$SCB" hook poststop <"$BATS_TEST_TMPDIR/stop" || fail "poststop failed"
	run_scb unload
	run_scb attach -v --cgroup "/${SCB_CGROUP##*/}" --name "$name" --flags STATE
	if [ "$loader" = light ]; then
		assert_output --partial "loading the program through the light skeleton"
	else
		assert_output --partial "loading the program through libbpf"
	fi
	serve_in_cgroup "$SCB_CGROUP" "$port"
	connect_from_cgroup "$SCB_CGROUP" "$port" 3
	stats_json "$name"
	check "$STATS" '[.connect, .established_active, .established_passive]' '[3,3,3]' \
		"$loader loader"
	run_scb detach "$name"
	run_scb unload

	# The older kernels' loader, forced, on this kernel too.
	export SOCKOPS_CB_LOADER=libbpf
	run_scb attach -v --cgroup "/${SCB_CGROUP##*/}" --name "$name" --flags STATE
	assert_output --partial "loading the program through libbpf"
	unset SOCKOPS_CB_LOADER
	connect_from_cgroup "$SCB_CGROUP" "$port" 1
	stats_json "$name"
	check "$STATS" .connect 1 "libbpf loader"
	run_scb detach "$name"
	run_scb unload
}

@test "features: a container inside a traced pod is counted once, for itself, where the kernel gives BPF the socket's cgroup; else its hook says so in one line, the container starts, and the pod counts it" {
	local pod ctr p c port=47392 state pid

	make_pod_cgroup ctr other
	pod=$SCB_CGROUP
	ctr=$pod/ctr
	p=$(safename)-pod
	c=$(safename)-ctr
	run_scb attach --cgroup "/${pod##*/}" --name "$p" --flags STATE
	serve_in_cgroup "$pod/other" "$port"
	# The container's process, as a runtime hands it to the hook.
	start_in_cgroup "$ctr" sleep 300
	pid=$SCB_BG_PID
	state=$BATS_TEST_TMPDIR/state.json
	scb_oci_state "$c" "$pid" '{"sockops-cb.io/flags":"STATE"}' >"$state"
	scb_track_attach "$c"
	if [ "$(feature "socket cgroup")" = true ]; then
		run_hook createRuntime "" "$state"
	else
		# onError defaults to fail: a missing feature is no fault.
		run_hook 0 createRuntime "" "$state"
		assert_equal "$(grep -c . <<<"$stderr")" 1
		# The hook names a container by its id's first 12 characters.
		assert_regex "$stderr" "container ${c:0:12} runs untraced \(this kernel lacks a feature\).*sock_cgroup_data.cgroup"
		run_scb 1 attach --cgroup "/${pod##*/}/ctr" --name "$c" --flags STATE
		assert_output --partial "a target inside (or around) another traced target needs sock_cgroup_data.cgroup"
	fi
	connect_from_cgroup "$ctr" "$port" 2
	stats_json "$p"
	if [ "$(feature "socket cgroup")" = true ]; then
		check "$STATS" .established_active 0 "the pod: the container's connections are its own"
		stats_json "$c"
		check "$STATS" .established_active 2 "the container"
	else
		check "$STATS" .established_active 2 "the pod counts the untraced container"
		run_scb 1 stats "$c"
		assert_output --partial "no traced container \"$c\""
	fi
}

@test "features: trace streams a traced cgroup's events where the kernel gives BPF the socket's cgroup; else it says in one line what is missing" {
	local name port=47393 out=$BATS_TEST_TMPDIR/trace.json tpid

	make_cgroup
	name=$(safename)
	run_scb attach --cgroup "/${SCB_CGROUP##*/}" --name "$name" --flags STATE
	if [ "$(feature "socket cgroup")" != true ]; then
		run_scb 1 trace "$name" --duration 1
		assert_output --regexp "trace. needs sock_cgroup_data.cgroup, a pointer BPF can follow \(Linux 5.15\), which this kernel lacks"
		return
	fi
	serve_in_cgroup "$SCB_CGROUP" "$port"
	"$SCB" trace "$name" --duration 4 --json >"$out" 3>&- &
	tpid=$!
	sleep 1.5
	connect_from_cgroup "$SCB_CGROUP" "$port" 3
	wait "$tpid"
	check "$(jq -s '[.[] | select(.event == "ACTIVE_ESTABLISHED")] | length' "$out")" . 3 \
		"ACTIVE_ESTABLISHED events"
}
