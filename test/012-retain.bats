#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# retainStats: a removed container's counters stay readable until
# `detach`; without it poststop removes everything.

bats_require_minimum_version 1.5.0

load helpers

# traced_container CONFIG: a process in a throwaway cgroup, attached by the
# hook with CONFIG, that made one loopback connection; sets ID.
traced_container()
{
	local port=47411

	make_cgroup
	start_in_cgroup "$SCB_CGROUP" sleep 600
	ID=scbretain-$(random_string 12)
	scb_track_attach "$ID"
	scb_oci_state "$ID" "$SCB_BG_PID" '{"sockops-cb.io/flag-set":"full"}' >"$BATS_TEST_TMPDIR/state"
	run_hook createRuntime "$1" "$BATS_TEST_TMPDIR/state"
	start_in_cgroup "$SCB_CGROUP" socat -u TCP-LISTEN:$port,reuseaddr,bind=127.0.0.1 OPEN:/dev/null
	scb_wait_for_port "$SCB_BG_PID" "$port"
	run_in_cgroup "$SCB_CGROUP" sh -c "echo hi | socat -u - TCP:127.0.0.1:$port"
	scb_oci_state "$ID" 0 '{}' stopped >"$BATS_TEST_TMPDIR/poststop"
}

@test "retainStats keeps a removed container's counters until detach" {
	local cfg=$BATS_TEST_TMPDIR/config.json

	scb_write_config "$cfg" '{"flagSets":{"full":["STATE","RTT"]},"retainStats":true}'
	traced_container "$cfg"
	run_hook poststop "$cfg" "$BATS_TEST_TMPDIR/poststop"

	assert_file_not_exists "$SCB_PIN_LINKS/$ID"
	run_scb list --json
	run jq -c --arg id "$ID" 'select(.id == $id) | {removed, effective}' <<<"$output"
	assert_output '{"removed":true,"effective":[]}'
	run_scb stats "$ID" --json
	run jq -r .established_active <<<"$output"
	assert_output 1

	# A second poststop keeps it; detach purges it.
	run_hook poststop "$cfg" "$BATS_TEST_TMPDIR/poststop"
	run_scb list --json
	assert_output --partial "\"$ID\""
	run_scb detach "$ID"
	run_scb list --json
	refute_output --partial "\"$ID\""
	run_scb 1 stats "$ID"
	assert_output --partial "no traced container"
}

@test "without retainStats poststop removes the counters at once" {
	local cfg=$BATS_TEST_TMPDIR/config.json

	scb_write_config "$cfg" '{"flagSets":{"full":["STATE","RTT"]}}'
	traced_container "$cfg"
	run_hook poststop "$cfg" "$BATS_TEST_TMPDIR/poststop"
	run_scb list --json
	refute_output --partial "\"$ID\""
	assert_file_not_exists "$SCB_PIN_LINKS/$ID"
}

@test "retainStats under podman's own order: poststop runs after the runtime removed the cgroup, and the counters are still there" {
	local cfg=$BATS_TEST_TMPDIR/config.json name id cg

	scb_write_config "$cfg" '{"flagSets":{"full":["STATE","RTT"]},"retainStats":true}'
	scb_hooks_dir "$cfg"
	name=$(safename)
	# One connection over the container's loopback: an active and a
	# passive open.  --rm: podman returns once cleanup (cgroup removal,
	# then poststop) is done.
	run_podman run --rm --name "$name" --cidfile "$BATS_TEST_TMPDIR/cid" --network none \
		--annotation sockops-cb.io/flag-set=full "$SCB_IMAGE" sh -c \
		'nc -l -p 5000 >/dev/null & sleep 0.5; echo hi | nc 127.0.0.1 5000; wait'
	id=$(cat "$BATS_TEST_TMPDIR/cid")
	scb_track_attach "$id"

	run_scb list --json
	run jq -c --arg id "$id" 'select(.id == $id) | {removed, cgroup}' <<<"$output"
	[ -n "$output" ] || fail "the retained target of $id is gone"
	cg=$(jq -r .cgroup <<<"$output")
	check "$output" .removed true "removed"
	assert_dir_not_exists "$(cgroup2_mount)$cg"
	assert_file_not_exists "$SCB_PIN_LINKS/$id"
	stats_json "$id"
	check "$STATS" '[.established_active, .established_passive]' '[1,1]' \
		"the container's connection, counted before its cgroup went"
	check "$STATS" '.state_transitions["SYN_SENT->ESTABLISHED"]' 1 "its transitions"

	run_scb detach "$id"
	run_scb 1 stats "$id"
	assert_output --partial "no traced container"
}
