#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# `attach` on a running workload: connections opened before the attach get
# the flags too (Linux >= 6.12: bpf_setsockopt TCP_BPF_SOCK_OPS_CB_FLAGS
# from a tcp iterator), and list says how many.

load helpers

# What the client sends once the test says so.
DATA_BYTES=200000

# start_pair CG PORT: a server and a client in cgroup CG, connected over
# loopback PORT before the attach.  The client sends DATA_BYTES when the
# test writes a line into the FIFO $GO, then holds the connection open
# until a line in $STOP: the data and the close come after the attach,
# whenever the attach is done, and the connection is alive meanwhile.
start_pair()
{
	local cg=$1 port=$2

	GO=$BATS_TEST_TMPDIR/go
	STOP=$BATS_TEST_TMPDIR/stop
	mkfifo "$GO" "$STOP"
	start_in_cgroup "$cg" socat -u TCP-LISTEN:"$port",reuseaddr,bind=127.0.0.1 OPEN:/dev/null
	scb_wait_for_port "$SCB_BG_PID" "$port"
	start_in_cgroup "$cg" sh -c "{ read -r _ <'$GO'; head -c $DATA_BYTES /dev/zero;
		read -r _ <'$STOP'; } | socat -u - TCP:127.0.0.1:$port"
	CLIENT_PID=$SCB_BG_PID
	# Established before the attach: wait until ss sees both ends.
	wait_until 10 pair_established "$port"
}

# pair_established PORT: both ends of the loopback connection to PORT are
# established.
pair_established()
{
	[ "$(ss -Htn state established "( sport = :$1 or dport = :$1 )" | wc -l)" -eq 2 ]
}

# ss_field FILTER FIELD: FIELD (bytes_acked, bytes_received, ...) of the
# one established socket that the ss FILTER selects, as `ss -ti` shows it:
# the kernel's own view of the connection.
ss_field()
{
	ss -Htin state established "$1" | grep -o "\b$2:[0-9]*" | cut -d: -f2
}

# data_acked PORT: the client of PORT has all its DATA_BYTES acknowledged.
data_acked()
{
	local acked

	acked=$(ss_field "( dport = :$1 )" bytes_acked)
	[ -n "$acked" ] && [ "$acked" -ge "$DATA_BYTES" ]
}

@test "attach enables connections that existed before it" {
	local name port=47311 want got c conns

	make_cgroup
	name=$(safename)
	start_pair "$SCB_CGROUP" "$port"

	run_scb attach --cgroup "/${SCB_CGROUP##*/}" --name "$name" --flags RTT,STATE
	if ! kernel_at_least 6 12; then
		# Before 6.12 bpf_setsockopt cannot set another socket's
		# callback flags: the attach says so and traces new ones only.
		assert_output --partial "this kernel cannot enable connections opened before the attach"
		check "$(scb_target_json "$name")" .existing_enabled 0 "enabled before 6.12"
		return
	fi
	assert_output --partial "enabled 2 existing connection(s)"

	run_scb list --json
	run jq -r --arg n "$name" 'select(.id == $n) | .existing_enabled' <<<"$output"
	assert_output 2

	# The data is sent after the attach, and the connection stays open.
	echo >"$GO"
	wait_until 10 data_acked "$port"

	# conns, while the connection is alive, lists exactly its two ends:
	# the ports ss shows, and the flags the kernel holds on each socket.
	run_scb conns "$name" --json
	conns=$output
	want=$(ss -Htn state established "( sport = :$port or dport = :$port )" |
		awk '{ l = $3; r = $4; sub(/.*:/, "", l); sub(/.*:/, "", r); print l, r }' |
		jq -R -s -c 'split("\n") | map(select(. != "") | split(" ") | map(tonumber)) | sort')
	got=$(jq -s -c 'map([.sport, .dport]) | sort' <<<"$conns")
	assert_equal "ports $got" "ports $want"
	assert_equal "flags $(jq -s -c 'map(.flags) | unique' <<<"$conns")" \
		'flags [["STATE","RTT"]]'
	# Its byte counts are the kernel's for the same sockets (the
	# connection is quiet: all data acknowledged, nothing more sent).
	c=$(jq -s -c --argjson p "$port" 'map(select(.dport == $p)) | .[0]' <<<"$conns")
	assert_equal "client bytes_acked $(jq .bytes_acked <<<"$c")" \
		"client bytes_acked $(ss_field "( dport = :$port )" bytes_acked)"
	c=$(jq -s -c --argjson p "$port" 'map(select(.sport == $p)) | .[0]' <<<"$conns")
	assert_equal "server bytes_received $(jq .bytes_received <<<"$c")" \
		"server bytes_received $(ss_field "( sport = :$port )" bytes_received)"

	# The client closes.  RTT samples and the close come from
	# connections the kernel would otherwise never have called back.
	echo >"$STOP"
	wait "$CLIENT_PID" || fail "the client failed"
	run_scb stats "$name" --json
	local rtt est
	rtt=$(jq -r .rtt_samples <<<"$output")
	est=$(jq -r '.established_active + .established_passive' <<<"$output")
	[ "$rtt" -gt 0 ] || fail "no RTT samples from the pre-existing connection: $output"
	[ "$est" -eq 0 ] || fail "established counted $est: nothing connected after the attach"
	run jq -r '.state_transitions["ESTABLISHED->FIN_WAIT1"] // 0' <<<"$output"
	assert_output 1
}

@test "attach in a cgroup with no connections enables none and says nothing" {
	local name

	make_cgroup
	name=$(safename)
	run_scb attach --cgroup "/${SCB_CGROUP##*/}" --name "$name" --flags STATE
	refute_output --partial "existing"
	run_scb list --json
	run jq -r --arg n "$name" 'select(.id == $n) | .existing_enabled' <<<"$output"
	assert_output 0
}
