#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The OCI hook given bad input: annotations a tenant got wrong (through
# podman, where the user sees the hook's message in `podman run`'s error),
# and states, ids, pids and configs no runtime should send (the hook driven
# by hand with JSON on stdin).  Every case must fail with a message that
# says what was wrong, exit non-zero (podman: 126) without crashing, and
# leave nothing attached or written.

bats_require_minimum_version 1.5.0

load helpers

CONFIG='{
	"flagSets": {
		"full": ["STATE", "RTT", "RETRANS", "RTO"],
		"basic": ["STATE"]
	},
	"defaultFlagSet": null
}'

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary
	SCB_CONFIG=$BATS_TEST_TMPDIR/config.json
	scb_write_config "$SCB_CONFIG" "$CONFIG"
	STATE=$BATS_TEST_TMPDIR/state.json
}

# scb_teardown, and the private node of the test that has one.
teardown()
{
	scb_teardown
	scb_private_node_teardown
}

# A live process in a throwaway cgroup, for states whose only fault is
# elsewhere: $PID, $SCB_CGROUP.
live_process()
{
	make_cgroup
	start_in_cgroup "$SCB_CGROUP" sleep 600
	PID=$SCB_BG_PID
}

# assert_not_attached ID [NAME] [CGROUP]: nothing of ID (or NAME) is listed
# or pinned, and CGROUP (a directory) has no sock_ops program.
assert_not_attached()
{
	local id=$1 name=${2:-} cg=${3:-}

	run "$SCB" list --json
	assert_success
	run jq -c --arg id "$id" --arg n "$name" \
		'select(.id == $id or ($n != "" and .name == $n))' <<<"$output"
	[ -z "$output" ] || fail "listed although the hook failed: $output"
	if [ -n "$id" ]; then
		assert_file_not_exists "$SCB_PIN_LINKS/$id"
	fi
	if [ -n "$cg" ]; then
		run bpftool cgroup show "$cg"
		refute_output --partial sock_ops
	fi
}

# ls_bpffs: what bpffs holds of the node, for a before/after comparison.
# The node's directories exist only while it is loaded: a missing one is
# part of the answer, not an error (which would end the test under bats).
ls_bpffs()
{
	ls -A /sys/fs/bpf /sys/fs/bpf/sockops-cb "$SCB_PIN_LINKS" 2>/dev/null || true
}

# podman_annotated RC NAME ANNOTATION...: `podman run` NAME with the hook and
# these --annotation values, expecting exit code RC.
podman_annotated()
{
	local rc=$1 name=$2 args=() a

	shift 2
	for a in "$@"; do
		args+=(--annotation "$a")
	done
	scb_hooks_dir "$SCB_CONFIG"
	# crun drops a hook's stderr unless this annotation names a file
	# (crun(1)); runc passes it on to podman's error and ignores it.
	args+=(--annotation "run.oci.hooks.stderr=$BATS_TEST_TMPDIR/hook.stderr")
	run_podman "$rc" run --name "$name" "${args[@]}" "$SCB_IMAGE" true
	if [ -s "$BATS_TEST_TMPDIR/hook.stderr" ]; then
		output+=$'\n'$(cat "$BATS_TEST_TMPDIR/hook.stderr")
		rm -f "$BATS_TEST_TMPDIR/hook.stderr"
	fi
}

# The id podman gave NAME, if the failed run left the container behind.
maybe_id()
{
	$PODMAN inspect --format '{{.Id}}' "$1" 2>/dev/null || true
}

@test "hook faults: unknown flag-set annotation fails podman run with 126, names the set, attaches nothing" {
	local name

	name=$(safename)
	podman_annotated 126 "$name" sockops-cb.io/flag-set=no-such-set
	assert_output --partial 'unknown flag set "no-such-set"'
	assert_output --partial "known: full basic"
	assert_not_attached "$(maybe_id "$name")" "$name"
}

@test "hook faults: unknown flag in the flags annotation fails podman run, names the flag" {
	local name

	name=$(safename)
	podman_annotated 126 "$name" '"sockops-cb.io/flags=RTT,RTX"'
	assert_output --partial 'unknown flag "RTX"'
	assert_output --partial "sockops-cb.io/flags"
	assert_output --partial "known: RTO RETRANS STATE RTT"
	assert_not_attached "$(maybe_id "$name")" "$name"

	# A list with no flag in it at all.
	name=$(safename)
	podman_annotated 126 "$name" '"sockops-cb.io/flags=,,"'
	assert_output --partial "names no flag"
	assert_not_attached "$(maybe_id "$name")" "$name"
}

@test "hook faults: flag-set and flags annotations at once fail podman run" {
	local name

	name=$(safename)
	podman_annotated 126 "$name" sockops-cb.io/flag-set=full \
		sockops-cb.io/flags=RTT
	assert_output --partial "sockops-cb.io/flag-set and sockops-cb.io/flags are both set"
	assert_not_attached "$(maybe_id "$name")" "$name"
}

@test "hook faults: an annotation value with a NUL is refused, not cut at the NUL; a NUL elsewhere does not stop an unannotated container" {
	local id

	live_process
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"
	printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%d,"bundle":"/nonexistent","annotations":{"sockops-cb.io/flags":"RTT\\u0000RTO"}}' \
		"$id" "$PID" >"$STATE"
	run_hook '!' createRuntime "$SCB_CONFIG" "$STATE"
	assert_regex "$stderr" 'a NUL .* in a string'
	assert_not_attached "$id" "" "$SCB_CGROUP"

	printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%d,"bundle":"/nonexistent","annotations":{"other":"a\\u0000b"}}' \
		"$id" "$PID" >"$STATE"
	run_hook createRuntime "$SCB_CONFIG" "$STATE"
}

@test "hook faults: a 1 MiB annotation value is refused with a short message" {
	local id name big

	live_process
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"
	jq -nc --arg id "$id" --argjson pid "$PID" \
		--rawfile v <(head -c 1048576 /dev/zero | tr '\0' A) '{
		ociVersion: "1.0.2", id: $id, status: "creating", pid: $pid,
		bundle: "/nonexistent", annotations: { "sockops-cb.io/flag-set": $v }
	}' >"$STATE"

	run_hook '!' createRuntime "$SCB_CONFIG" "$STATE"
	assert_regex "$stderr" 'annotation sockops-cb.io/flag-set is 1048576 bytes \(max [0-9]+\)'
	[ "${#stderr}" -lt 1024 ] ||
		fail "the error message is ${#stderr} bytes; it should not echo the value"
	assert_not_attached "$id" "" "$SCB_CGROUP"

	# The same through podman, as large as one argument may be.
	name=$(safename)
	big=$(head -c 100000 /dev/zero | tr '\0' B)
	podman_annotated 126 "$name" "sockops-cb.io/flag-set=$big"
	assert_output --regexp 'annotation sockops-cb.io/flag-set is 100000 bytes \(max [0-9]+\)'
	assert_not_attached "$(maybe_id "$name")" "$name"
}

@test "hook faults: control and non-ASCII bytes in an annotation are escaped in the message" {
	local id name v

	live_process
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"

	# flag-set: ESC, SOH, a newline and a terminal colour sequence.
	scb_oci_state "$id" "$PID" \
		'{"sockops-cb.io/flag-set":"a\u0001b\u001b[31mred\nx\u007f"}' >"$STATE"
	run_hook '!' createRuntime "$SCB_CONFIG" "$STATE"
	assert_equal "$stderr" "$(printf '%s' "$stderr" | tr -d '\000-\010\013-\037\177')"
	[ "$(printf '%s' "$stderr" | wc -l)" -eq 0 ] ||
		fail "the message spans lines: the value's newline was not escaped"
	assert_regex "$stderr" 'unknown flag set "a\\x01b\\x1b\[31mred\\x0ax\\x7f"'
	assert_not_attached "$id" "" "$SCB_CGROUP"

	# flags: BEL and a UTF-8 "ÿ" among valid flags.
	scb_oci_state "$id" "$PID" '{"sockops-cb.io/flags":"RTT,\u0007\u00ff"}' >"$STATE"
	run_hook '!' createRuntime "$SCB_CONFIG" "$STATE"
	assert_regex "$stderr" 'unknown flag "\\x07\\xc3\\xbf"'
	assert_equal "$stderr" "$(printf '%s' "$stderr" | tr -d '\000-\010\013-\037\177-\377')"
	assert_not_attached "$id" "" "$SCB_CGROUP"

	# Through podman, what a user sees in `podman run`'s error.
	name=$(safename)
	v=$(printf 'x\001\033[31my')
	podman_annotated 126 "$name" "sockops-cb.io/flag-set=$v"
	assert_output --partial 'unknown flag set "x\x01\x1b[31my"'
	[[ $output != *$'\033'* ]] || fail "a raw ESC reached podman's output"
	assert_not_attached "$(maybe_id "$name")" "$name"
}

@test "hook faults: container ids with /, .., 200 characters or nothing are refused; nothing is written" {
	local mark id stage long before after

	live_process
	mark=scbmark$(random_string 8)
	long=$mark$(printf 'a%.0s' {1..200})
	before=$(ls_bpffs)

	for id in "$mark/x" "x/$mark" "../$mark" "../../$mark" "..$mark/../.." \
		"$long" "" "." ".." "$mark a" "$mark"$'\n'; do
		scb_oci_state "$id" "$PID" '{"sockops-cb.io/flag-set":"full"}' >"$STATE"
		for stage in createRuntime poststop; do
			run_hook '!' "$stage" "$SCB_CONFIG" "$STATE"
			assert_regex "$stderr" '^sockops-cb hook: container id ".*" is not 1-128 characters of \[A-Za-z0-9_.-\]$'
			[ "${#stderr}" -lt 300 ] ||
				fail "the message for a ${#id}-character id is ${#stderr} bytes"
		done
	done

	# Nothing anywhere under bpffs, its parents, or where a relative path
	# would land (the hook's working directory).
	run find /sys/fs/bpf /sys/fs /sys "$PWD" / -maxdepth 1 -name "*$mark*"
	assert_output ""
	run find /sys/fs/bpf -name "*$mark*"
	assert_output ""
	after=$(ls_bpffs)
	run grep -c "$mark" <<<"$after"
	assert_output 0
	echo "# bpffs before: $before"
	echo "# bpffs after:  $after"
	run bpftool cgroup show "$SCB_CGROUP"
	refute_output --partial sock_ops

	# The longest valid id (128 characters) is fine.
	id=${long:0:128}
	scb_track_attach "$id"
	scb_oci_state "$id" "$PID" '{"sockops-cb.io/flag-set":"full"}' >"$STATE"
	run_hook createRuntime "$SCB_CONFIG" "$STATE"
	assert_file_exists "$SCB_PIN_LINKS/$id"
	scb_oci_state "$id" 0 '{}' stopped >"$STATE"
	run_hook poststop "$SCB_CONFIG" "$STATE"
	assert_not_attached "$id" "" "$SCB_CGROUP"
}

@test "hook faults: a pid that has exited is an error naming the pid" {
	local id pid

	sleep 0 &
	pid=$!
	wait "$pid"
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"
	scb_oci_state "$id" "$pid" '{"sockops-cb.io/flag-set":"full"}' >"$STATE"

	run_hook '!' createRuntime "$SCB_CONFIG" "$STATE"
	assert_regex "$stderr" "(^|[^0-9])$pid([^0-9]|\$)"
	assert_regex "$stderr" "exited"
	assert_not_attached "$id"

	# pid 0 (no pid) at createRuntime: a state from a later stage.
	scb_oci_state "$id" 0 '{"sockops-cb.io/flag-set":"full"}' >"$STATE"
	run_hook '!' createRuntime "$SCB_CONFIG" "$STATE"
	assert_regex "$stderr" "no pid"
	assert_not_attached "$id"
}

@test "hook faults: malformed OCI state on stdin" {
	local id st

	live_process
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"

	for st in '' '{"id": ' 'null' '[]' '"id"' "{\"id\": \"$id\", \"pid\": $PID" \
		'{"pid": 1}' '{"id": 42}' "{\"id\": \"$id\", \"pid\": \"$PID\"}" \
		"{\"id\": \"$id\", \"pid\": -1}" "{\"id\": \"$id\", \"pid\": 1.5}" \
		"{\"id\": \"$id\", \"pid\": 1e30}" \
		"{\"id\": \"$id\", \"pid\": $PID, \"annotations\": []}" \
		"{\"id\": \"$id\", \"pid\": $PID, \"annotations\": {\"sockops-cb.io/flag-set\": 7}}"; do
		printf '%s' "$st" >"$STATE"
		run_hook '!' createRuntime "$SCB_CONFIG" "$STATE"
		assert_regex "$stderr" '^sockops-cb hook: .*(OCI state|annotation)'
		assert_not_attached "$id" "" "$SCB_CGROUP"
	done

	# Binary garbage.
	head -c 4096 /dev/urandom >"$STATE"
	run_hook '!' createRuntime "$SCB_CONFIG" "$STATE"
	assert_regex "$stderr" 'not a JSON object'
}

@test "hook faults: a missing --config file means the built-in defaults, said once on stderr" {
	local id missing=$BATS_TEST_TMPDIR/no-such-dir/config.json

	live_process
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"
	# The defaults have no flag sets: a set annotation names an unknown one.
	scb_oci_state "$id" "$PID" '{"sockops-cb.io/flag-set":"full"}' >"$STATE"
	run_hook '!' createRuntime "$missing" "$STATE"
	assert_regex "$stderr" "config $missing does not exist: built-in defaults apply"
	assert_regex "$stderr" 'unknown flag set "full" \(known: none configured\)'
	assert_not_attached "$id" "" "$SCB_CGROUP"
	# Explicit flags within the default ceiling are traced.
	scb_oci_state "$id" "$PID" '{"sockops-cb.io/flags":"RTT"}' >"$STATE"
	run_hook createRuntime "$missing" "$STATE"
	check "$(scb_target_json "$id")" .effective '["RTT"]' "traced with the defaults"
	run_hook poststop "$missing" "$STATE"
	assert_regex "$stderr" "config $missing does not exist"
	assert_no_target "$id"
}

@test "hook faults: a malformed config is an error naming the path and the fault" {
	local id cfg=$BATS_TEST_TMPDIR/bad.json

	live_process
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"
	scb_oci_state "$id" "$PID" '{"sockops-cb.io/flag-set":"full"}' >"$STATE"

	printf '{"flagSets": {"full": ["STATE"]' >"$cfg"
	run_hook '!' createRuntime "$cfg" "$STATE"
	assert_regex "$stderr" "config $cfg: .*not valid JSON"
	assert_not_attached "$id" "" "$SCB_CGROUP"

	echo '{"flagSets": {"full": ["STATE", "RTX"]}}' >"$cfg"
	run_hook '!' createRuntime "$cfg" "$STATE"
	assert_regex "$stderr" "config $cfg: "
	assert_regex "$stderr" 'unknown flag "RTX" in flagSets.full'
	assert_not_attached "$id" "" "$SCB_CGROUP"

	echo '{"flagSets": {"full": ["STATE"]}, "onError": "maybe"}' >"$cfg"
	run_hook '!' createRuntime "$cfg" "$STATE"
	assert_regex "$stderr" 'onError must be "fail" or "ignore"'
	assert_not_attached "$id" "" "$SCB_CGROUP"

	echo '{"flagSets": {"full": ["STATE"]}, "defaultFlagSet": "nope"}' >"$cfg"
	run_hook '!' createRuntime "$cfg" "$STATE"
	assert_regex "$stderr" 'defaultFlagSet "nope" is not in flagSets'
	assert_not_attached "$id" "" "$SCB_CGROUP"
}

@test "hook faults: onError=ignore with a dead pid exits 0, warns on stderr, attaches nothing" {
	local id pid cfg=$BATS_TEST_TMPDIR/ignore.json

	scb_write_config "$cfg" '{
		"flagSets": { "full": ["STATE", "RTT"] },
		"onError": "ignore"
	}'
	sleep 0 &
	pid=$!
	wait "$pid"
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"
	scb_oci_state "$id" "$pid" '{"sockops-cb.io/flag-set":"full"}' >"$STATE"

	run_hook 0 createRuntime "$cfg" "$STATE"
	assert_output ""
	assert_regex "$stderr" "^sockops-cb: warning: .*${id:0:12}.*untraced.*$pid"
	assert_not_attached "$id"
}

@test "hook faults: no bpffs mounted" {
	# The product mounts bpffs itself when /sys/fs/bpf is not one.  Tested
	# on a node of the test's own (scb_private_node) whose bpffs is then
	# unmounted, as on a host that never mounted one: the host's
	# /sys/fs/bpf, and whatever others pinned there, is never touched, so
	# the test runs whoever else is using the machine.
	local id

	scb_private_node
	scb_node_exec umount /sys/fs/bpf
	run scb_node_exec mountpoint -q /sys/fs/bpf
	assert_failure

	live_process
	id=scbtest-$(random_string 12)
	scb_track_attach "$id"
	scb_oci_state "$id" "$PID" '{"sockops-cb.io/flag-set":"full"}' >"$STATE"
	run_hook createRuntime "$SCB_CONFIG" "$STATE"
	run scb_node_exec findmnt -n -o FSTYPE /sys/fs/bpf
	assert_output bpf
	assert_file_exists "$SCB_PIN_LINKS/$id"
}
