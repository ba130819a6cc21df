#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Nested targets: a container cgroup inside a traced pod cgroup. With
# multi-attach the kernel runs both links for the container's sockets;
# only the nearest traced cgroup counts them, once.

load helpers

@test "nested: a traced container inside a traced pod is counted once, for the container" {
	local pod ctr other port=47321 p c

	make_pod_cgroup ctr other
	pod=$SCB_CGROUP
	ctr=$pod/ctr
	other=$pod/other
	p=$(safename)-pod
	c=$(safename)-ctr
	run_scb attach --cgroup "/${pod##*/}" --name "$p" --flags STATE,RTT
	run_scb attach --cgroup "/${pod##*/}/ctr" --name "$c" --flags STATE,RTT

	# Server in the pod's untraced child, client in the traced container;
	# the server's ends close after the clients': count once all are shut.
	serve_in_cgroup "$other" "$port"
	connect_from_cgroup "$ctr" "$port" 3

	stats_json "$c"
	check "$STATS" .connect 3 "the container"
	check "$STATS" .established_active 3 "the container"
	check "$STATS" .established_passive 0 "the container"
	check "$STATS" '.state_transitions["SYN_SENT->ESTABLISHED"]' 3 "the container"
	stats_json "$p"
	# The pod has the server (its child 'other' is untraced), and none of
	# the container's sockets.
	check "$STATS" .connect 0 "the pod"
	check "$STATS" .established_active 0 "the pod"
	check "$STATS" .established_passive 3 "the pod"
	check "$STATS" .listen 1 "the pod"
	check "$STATS" '.state_transitions["SYN_SENT->ESTABLISHED"] // 0' 0 "the pod"
	check "$STATS" '.state_transitions["SYN_RECV->ESTABLISHED"]' 3 "the pod"

	# The container detached: the pod, now its nearest traced cgroup,
	# counts its new connections.
	run_scb detach "$c"
	run_in_cgroup "$ctr" sh -c "echo hi | socat -u - TCP:127.0.0.1:$port" || fail "client failed"
	wait_until 10 tcp_port_settled "$port"
	stats_json "$p"
	check "$STATS" .established_active 1 "the pod after the container's detach"
	run_scb detach "$p"
}

@test "nested: the pod attached after its container still leaves the container's sockets to the container" {
	local pod ctr port=47322 p c

	make_cgroup
	pod=$SCB_CGROUP
	ctr=$pod/ctr
	mkdir "$ctr" || fail "mkdir"
	SCB_CGROUPS+=("$ctr")
	p=$(safename)-pod
	c=$(safename)-ctr
	run_scb attach --cgroup "/${pod##*/}/ctr" --name "$c" --flags STATE
	run_scb attach --cgroup "/${pod##*/}" --name "$p" --flags STATE

	# Both ends in the container: every socket is the container's.
	serve_in_cgroup "$ctr" "$port"
	connect_from_cgroup "$ctr" "$port" 2
	stats_json "$c"
	check "$STATS" .established_active 2 "the container"
	check "$STATS" .established_passive 2 "the container"
	check "$STATS" .closed 4 "the container"
	stats_json "$p"
	check "$STATS" '[.established_active, .established_passive, .listen, .closed]' '[0,0,0,0]' "the pod"
	check "$STATS" '.state_transitions | length' 0 "the pod"
	run_scb detach "$p"
	run_scb detach "$c"
}
