#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# `attach` on a running workload: connections opened before the attach get
# the flags too (Linux >= 6.12: bpf_setsockopt TCP_BPF_SOCK_OPS_CB_FLAGS
# from a tcp iterator), and list says how many.

load helpers

# A server and a client in one cgroup, connected before the attach; the
# client sends DATA_BYTES after DELAY seconds and then holds the socket.
start_pair()
{
	local cg=$1 port=$2

	start_in_cgroup "$cg" socat -u TCP-LISTEN:"$port",reuseaddr,bind=127.0.0.1 OPEN:/dev/null
	scb_wait_for_port "$SCB_BG_PID" "$port"
	start_in_cgroup "$cg" sh -c \
		"{ sleep 2; head -c 200000 /dev/zero; sleep 3; } | socat -u - TCP:127.0.0.1:$port"
	CLIENT_PID=$SCB_BG_PID
	# Established before the attach: wait until ss sees it.
	for _ in $(seq 50); do
		ss -tn state established "( dport = :$port )" | grep -q "$port" && return 0
		sleep 0.1
	done
	fail "the client never connected"
}

@test "attach enables connections that existed before it" {
	local name port=47311

	make_cgroup
	name=$(safename)
	start_pair "$SCB_CGROUP" "$port"

	run_scb attach --cgroup "/${SCB_CGROUP##*/}" --name "$name" --flags RTT,STATE
	assert_output --partial "enabled 2 existing connection(s)"

	run_scb list --json
	run jq -r --arg n "$name" 'select(.id == $n) | .existing_enabled' <<<"$output"
	assert_output 2

	# The data is sent after the attach: RTT samples and the close come
	# from connections the kernel would otherwise never have called back.
	wait "$CLIENT_PID" || true
	run_scb stats "$name" --json
	local rtt est
	rtt=$(jq -r .rtt_samples <<<"$output")
	est=$(jq -r '.established_active + .established_passive' <<<"$output")
	[ "$rtt" -gt 0 ] || fail "no RTT samples from the pre-existing connection: $output"
	[ "$est" -eq 0 ] || fail "established counted $est: nothing connected after the attach"
	run jq -r '.state_transitions["ESTABLISHED->FIN_WAIT1"] // 0' <<<"$output"
	assert_output 1

	run_scb conns "$name" --json
	refute_output --partial '"sport":0'
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
