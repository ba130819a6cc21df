#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Every number against an oracle: the kernel's own accounting of the same
# sockets (/proc/net/snmp and netstat of a network namespace that holds
# nothing else, the sock:inet_sock_set_state tracepoint, ss -ti), under
# traffic that would show a difference: bulk with random loss (multi-
# segment retransmits), many short connections with refused ones, IPv4
# and IPv6, request/response.
#
# Two network namespaces of the test's own joined by a veth pair; the
# client's processes run in one traced cgroup, the server's in another.

bats_require_minimum_version 1.5.0

load helpers

PORT=5001
CLOSED=5002	# nothing listens here: connects are refused
SRV4=10.254.0.2	# scb_two_hosts
SRV6=fd00:fe::2
TCPLOAD=$BATS_TEST_DIRNAME/oracle/tcpload.py

setup()
{
	basic_setup
	skip_if_rootless
	scb_require_binary
	scb_two_hosts
	CLI=cli-$(random_string 6)
	SRV=srv-$(random_string 6)
	SCB_BG_PIDS=()
}

teardown()
{
	scb_trace_stop
	scb_bg_stop_all
	scb_teardown
}

# traced NAME FLAGS: a cgroup traced as NAME with FLAGS, in $SCB_CGROUP.
traced()
{
	make_cgroup
	scb_track_attach "$1"
	run_scb attach --cgroup "${SCB_CGROUP#"$(cgroup2_mount)"}" --name "$1" --flags "$2"
}

# server CG [sink]: the echo server of tcpload.py (or one that drops what
# it reads) in $NS_S, in cgroup CG.
server()
{
	bg_in_ns "$1" "$NS_S" python3 "$TCPLOAD" "${2:-serve}" "$PORT"
	SERVER_PID=$SCB_BG_PID
	scb_wait_listen "$NS_S" "$PORT"
}

# expect_equal WHAT OURS KERNEL
expect_equal()
{
	[ "$2" = "$3" ] || fail "$1: ours $2, kernel $3"
	echo "# $1: ours $2 = kernel $3"
}

# drop_randomly P: the server's netns drops each segment to $PORT with
# probability P (IPv4 and IPv6): loss the kernel recovers from by fast
# retransmits and by RTOs.
drop_randomly()
{
	ip netns exec "$NS_S" iptables -w -A INPUT -p tcp --dport "$PORT" \
		-m statistic --mode random --probability "$1" -j DROP
	ip netns exec "$NS_S" ip6tables -w -A INPUT -p tcp --dport "$PORT" \
		-m statistic --mode random --probability "$1" -j DROP
}

# bulk_to_server CG: from cgroup CG in $NS_C, 2 s of bulk data to the
# server over IPv4, then 2 s over IPv6.
bulk_to_server()
{
	local host

	for host in "$SRV4" "$SRV6"; do
		in_ns "$1" "$NS_C" timeout 2 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = bytes(1 << 16)
while True:
    s.sendall(buf)' "$host" "$PORT" || true
	done
}

# hist_min_high STATS: the upper bound (µs) of the lowest non-empty RTT
# bucket, or -1.
hist_min_high()
{
	jq '[.rtt_hist_us[] | select(.count > 0) | .high] | min // -1' <<<"$1"
}

@test "oracle: retransmitted segments, RTOs and failed retransmits equal the client netns' TcpRetransSegs, TCPTimeouts and TCPRetransFail under 3% random loss, IPv4 and IPv6" {
	local out=$BATS_TEST_TMPDIR/retrans.json cg r0 t0 f0
	local calls segs

	traced "$CLI" RTO+RETRANS+STATE+RTT
	cg=$SCB_CGROUP
	make_cgroup
	server "$SCB_CGROUP" sink
	drop_randomly 0.03

	# Every retransmit callback, as trace sees it, to show the traffic
	# tells segments from callbacks.
	scb_trace_start "$out" "$CLI" --events RETRANS
	r0=$(ns_tcp_counter "$NS_C" RetransSegs)
	t0=$(ns_tcp_counter "$NS_C" TCPTimeouts)
	f0=$(ns_tcp_counter "$NS_C" TCPRetransFail)
	bulk_to_server "$cg"
	wait_netns_quiet "$NS_C"
	stats_json "$CLI"
	kill -INT "$SCB_TRACE_PID"
	scb_trace_wait

	[ "$(jq .retrans <<<"$STATS")" -gt 100 ] ||
		fail "too few retransmits to tell anything: $STATS"
	expect_equal "retransmitted segments" "$(jq .retrans <<<"$STATS")" \
		$(($(ns_tcp_counter "$NS_C" RetransSegs) - r0))
	expect_equal "RTOs" "$(jq .rto <<<"$STATS")" $(($(ns_tcp_counter "$NS_C" TCPTimeouts) - t0))
	expect_equal "failed retransmits" "$(jq .retrans_failed <<<"$STATS")" \
		$(($(ns_tcp_counter "$NS_C" TCPRetransFail) - f0))

	# The same segments through the events, whose callbacks are fewer:
	# counting callbacks would have been wrong here.
	refute grep -q '"LOST"' "$out"
	calls=$(jq -s 'map(select(.event == "RETRANS")) | length' "$out")
	segs=$(jq -s 'map(select(.event == "RETRANS") | .segs) | add // 0' "$out")
	echo "# $calls RETRANS callbacks carried $segs segments"
	expect_equal "segments in RETRANS events" "$segs" "$(jq .retrans <<<"$STATS")"
	[ "$calls" -lt "$segs" ] ||
		fail "every retransmit was one segment: this traffic cannot tell segments from callbacks"
}

@test "oracle: per-peer retransmits and RTOs (identity) equal the client netns' TcpRetransSegs and TCPTimeouts under 3% random loss, IPv4 and IPv6" {
	local cfg=$BATS_TEST_TMPDIR/id.json cgc cgs r0 t0 peers

	# Both ends traced with identity on: the client learns, the server
	# announces; the client's per-peer rows must add up to the kernel's.
	scb_write_config "$cfg" '{"maxFlags": ["RTO", "RETRANS", "STATE", "RTT", "WRITE_HDR_OPT",
		"PARSE_ALL_HDR_OPT"], "identity": {"enabled": true, "node": 7}}'
	make_cgroup
	cgc=$SCB_CGROUP
	run_scb attach -c "$cfg" --cgroup "$cgc" --name "$CLI" --flags RTO,RETRANS,STATE,RTT,PARSE_ALL_HDR_OPT
	make_cgroup
	cgs=$SCB_CGROUP
	run_scb attach -c "$cfg" --cgroup "$cgs" --name "$SRV" --flags STATE,WRITE_HDR_OPT
	server "$cgs" sink
	drop_randomly 0.03

	r0=$(ns_tcp_counter "$NS_C" RetransSegs)
	t0=$(ns_tcp_counter "$NS_C" TCPTimeouts)
	bulk_to_server "$cgc"
	wait_netns_quiet "$NS_C"

	run_scb peers "$CLI" --json
	peers=$output
	[ "$(jq -s 'map(select(.name == "'"$SRV"'")) | length' <<<"$peers")" -eq 2 ] ||
		fail "expected the server at its IPv4 and IPv6 address, named: $peers"
	[ "$(jq -s 'map(.retrans) | add' <<<"$peers")" -gt 100 ] ||
		fail "too few retransmits to tell anything: $peers"
	expect_equal "per-peer retransmitted segments" "$(jq -s 'map(.retrans) | add' <<<"$peers")" \
		$(($(ns_tcp_counter "$NS_C" RetransSegs) - r0))
	expect_equal "per-peer RTOs" "$(jq -s 'map(.rto) | add' <<<"$peers")" \
		$(($(ns_tcp_counter "$NS_C" TCPTimeouts) - t0))
}

@test "oracle: connects, active and passive opens equal TcpActiveOpens, ActiveOpens - AttemptFails and PassiveOpens for many short IPv4 and IPv6 connections, some refused" {
	local cgc cgs a0 af0 p0 made

	traced "$CLI" STATE
	cgc=$SCB_CGROUP
	traced "$SRV" STATE
	cgs=$SCB_CGROUP
	server "$cgs"
	a0=$(ns_tcp_counter "$NS_C" ActiveOpens)
	af0=$(ns_tcp_counter "$NS_C" AttemptFails)
	p0=$(ns_tcp_counter "$NS_S" PassiveOpens)

	made=$(in_ns "$cgc" "$NS_C" python3 "$TCPLOAD" short "$SRV4" "$SRV6" "$PORT" 150 "$CLOSED")
	echo "# $made"
	assert_equal "$made" "made 300 refused 30"
	wait_netns_quiet "$NS_C"
	wait_netns_quiet "$NS_S"

	stats_json "$CLI"
	expect_equal "connects" "$(jq .connect <<<"$STATS")" $(($(ns_tcp_counter "$NS_C" ActiveOpens) - a0))
	expect_equal "active opens established" "$(jq .established_active <<<"$STATS")" \
		$(($(ns_tcp_counter "$NS_C" ActiveOpens) - a0 - ($(ns_tcp_counter "$NS_C" AttemptFails) - af0)))
	stats_json "$SRV"
	expect_equal "passive opens" "$(jq .established_passive <<<"$STATS")" \
		$(($(ns_tcp_counter "$NS_S" PassiveOpens) - p0))
	expect_equal "listeners" "$(jq .listen <<<"$STATS")" 2
}

@test "oracle: connect failures (refused, timed out) and resets after establishment (received, sent) equal AttemptFails, EstabResets and TCPAbortOnClose of each netns, IPv4 and IPv6" {
	local cgc cgs af0 ce0 se0 sa0 made blackhole=5003

	traced "$CLI" STATE
	cgc=$SCB_CGROUP
	traced "$SRV" STATE
	cgs=$SCB_CGROUP
	bg_in_ns "$cgs" "$NS_S" python3 "$TCPLOAD" abort "$PORT"
	scb_wait_listen "$NS_S" "$PORT"
	# SYNs to the black hole vanish; two SYN retries, then ETIMEDOUT.
	ip netns exec "$NS_S" iptables -w -A INPUT -p tcp --dport "$blackhole" -j DROP
	ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_syn_retries=1
	af0=$(ns_tcp_counter "$NS_C" AttemptFails)
	ce0=$(ns_tcp_counter "$NS_C" EstabResets)
	se0=$(ns_tcp_counter "$NS_S" EstabResets)
	sa0=$(ns_tcp_counter "$NS_S" TCPAbortOnClose)

	made=$(in_ns "$cgc" "$NS_C" python3 "$TCPLOAD" fail "$SRV4" "$SRV6" "$PORT" 10 \
		"$CLOSED" "$blackhole" 3)
	assert_equal "$made" "reset 20 refused 20 timedout 3"
	wait_netns_quiet "$NS_C"
	wait_netns_quiet "$NS_S"

	stats_json "$CLI"
	expect_equal "failed connects" "$(jq .connect_failed <<<"$STATS")" \
		$(($(ns_tcp_counter "$NS_C" AttemptFails) - af0))
	expect_equal "refused, timed out" "$(jq -c '[.connect_refused, .connect_timeout]' <<<"$STATS")" \
		"[20,3]"
	expect_equal "client resets (received + sent + timeouts)" \
		"$(jq '.reset_received + .reset_sent + .timeout_established' <<<"$STATS")" \
		$(($(ns_tcp_counter "$NS_C" EstabResets) - ce0))
	expect_equal "client resets received" "$(jq .reset_received <<<"$STATS")" 20
	stats_json "$SRV"
	expect_equal "server resets (received + sent + timeouts)" \
		"$(jq '.reset_received + .reset_sent + .timeout_established' <<<"$STATS")" \
		$(($(ns_tcp_counter "$NS_S" EstabResets) - se0))
	expect_equal "server resets sent" "$(jq .reset_sent <<<"$STATS")" \
		$(($(ns_tcp_counter "$NS_S" TCPAbortOnClose) - sa0))
	expect_equal "server connect failures" "$(jq .connect_failed <<<"$STATS")" 0
}

# ss_data_segs NS FILTER: data_segs_out of the one established socket of
# NS that the ss FILTER selects, as `ss -ti` shows it.
ss_data_segs()
{
	ip netns exec "$1" ss -Htin state established "$2" |
		grep -o '\bdata_segs_out:[0-9]*' | cut -d: -f2
}

@test "oracle: segments sent by closed connections equal ss -ti data_segs_out of the same sockets, both ends" {
	local cgc cgs out=$BATS_TEST_TMPDIR/rr lport cli srv

	traced "$CLI" STATE
	cgc=$SCB_CGROUP
	traced "$SRV" STATE
	cgs=$SCB_CGROUP
	server "$cgs"
	# 200 request/answer exchanges over one connection, held open until
	# ss has read both ends.
	bg_in_ns "$cgc" "$NS_C" python3 "$TCPLOAD" rr "$SRV4" "$PORT" 200 0 "$out"
	wait_until 30 test -s "$out"
	lport=$(cat "$out")
	cli=$(ss_data_segs "$NS_C" "sport = :$lport")
	srv=$(ss_data_segs "$NS_S" "dport = :$lport")
	[ "${cli:-0}" -ge 200 ] && [ "${srv:-0}" -ge 200 ] ||
		fail "ss: client data_segs_out '$cli', server '$srv'"
	touch "$out.done"
	wait_netns_quiet "$NS_C"
	wait_netns_quiet "$NS_S"
	stats_json "$CLI"
	expect_equal "client data segments" "$(jq .segs_out_closed <<<"$STATS")" "$cli"
	stats_json "$SRV"
	expect_equal "server data segments" "$(jq .segs_out_closed <<<"$STATS")" "$srv"
}

# The states the kernel reaches before it lets a program ask for
# callbacks (tcp_connect, listen, accept): no STATE_CB can see them.
BEFORE_FLAGS='SYN_SENT|LISTEN|SYN_RECV|NEW_SYN_RECV'

# tracepoint_states OUT: the kernel's own transitions of the sockets of
# this test (client: to $PORT or $CLOSED; server: from $PORT), counted by
# bpftrace on sock:inet_sock_set_state, as "side OLD->NEW COUNT" lines
# in OUT once bpftrace gets SIGINT; $BPFTRACE_PID.
tracepoint_states()
{
	local i names='"CLOSE0","ESTABLISHED","SYN_SENT","SYN_RECV","FIN_WAIT1","FIN_WAIT2","TIME_WAIT","CLOSE","CLOSE_WAIT","LAST_ACK","LISTEN","CLOSING","NEW_SYN_RECV"'

	mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing ||
		fail "cannot mount tracefs"
	scb_bg_start bpftrace -e "
tracepoint:sock:inet_sock_set_state /args->protocol == 6 && (args->dport == $PORT || args->dport == $CLOSED)/
{ @cli[args->oldstate, args->newstate] = count(); }
tracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->sport == $PORT/
{ @srv[args->oldstate, args->newstate] = count(); }" >"$1"
	BPFTRACE_PID=$SCB_BG_PID
	for ((i = 0; i < 300; i++)); do
		grep -q '^Attaching' "$1" && return 0
		kill -0 "$BPFTRACE_PID" 2>/dev/null || fail "bpftrace exited: $(cat "$1")"
		sleep 0.1
	done
	fail "bpftrace did not attach in 30 s"
}

# kernel_transitions FILE SIDE: bpftrace's @SIDE map as {"OLD->NEW": n},
# without the states reached before flags can be set.
kernel_transitions()
{
	# TCP_ESTABLISHED is 1: index 0 is unused.
	awk -v side="@$2" '
		BEGIN { split("ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN CLOSING NEW_SYN_RECV", s, " ") }
		index($0, side "[") == 1 {
			gsub(/[^0-9]+/, " "); split($0, f, " ")
			printf "%s->%s %s\n", s[f[1]], s[f[2]], f[3]
		}' "$1" | grep -vE -- "->($BEFORE_FLAGS) " |
		jq -Rn '[inputs | split(" ") | {(.[0]): (.[1] | tonumber)}] | add // {}'
}

@test "oracle: state transitions equal the kernel's inet_sock_set_state tracepoint for the same sockets, both ends, after the states no program can see" {
	local cgc cgs bt=$BATS_TEST_TMPDIR/bpftrace.out ours kernel

	traced "$CLI" STATE
	cgc=$SCB_CGROUP
	traced "$SRV" STATE
	cgs=$SCB_CGROUP
	tracepoint_states "$bt"
	server "$cgs"
	in_ns "$cgc" "$NS_C" python3 "$TCPLOAD" short "$SRV4" "$SRV6" "$PORT" 100 "$CLOSED"
	wait_netns_quiet "$NS_C"
	wait_netns_quiet "$NS_S"
	# The listeners' own LISTEN -> CLOSE too.
	kill "$SERVER_PID"
	wait "$SERVER_PID" || true
	wait_netns_quiet "$NS_S"
	kill -INT "$BPFTRACE_PID"
	wait "$BPFTRACE_PID" || true

	for side in cli srv; do
		if [ "$side" = cli ]; then stats_json "$CLI"; else stats_json "$SRV"; fi
		ours=$(jq -cS .state_transitions <<<"$STATS")
		kernel=$(kernel_transitions "$bt" "$side" | jq -cS .)
		echo "# $side: ours   $ours"
		echo "# $side: kernel $kernel"
		[ "$ours" = "$kernel" ] || fail "$side: state transitions differ from the tracepoint's"
		[ "$(jq '[.[]] | add' <<<"$ours")" -gt 300 ] ||
			fail "$side: too few transitions to tell anything"
	done
}

@test "oracle: the RTT histogram holds one kernel sample per round trip, none below the connection's minrtt in ss -ti" {
	local cg out=$BATS_TEST_TMPDIR/rr line minrtt_us n=200 values

	traced "$CLI" RTT
	cg=$SCB_CGROUP
	make_cgroup
	server "$SCB_CGROUP"
	bg_in_ns "$cg" "$NS_C" python3 "$TCPLOAD" rr "$SRV4" "$PORT" "$n" 2 "$out"
	wait_for_file "$out" 30
	[ -e "$out" ] || fail "the request/response client did not finish"
	line=$(ip netns exec "$NS_C" ss -Htin "sport = :$(cat "$out")")
	touch "$out.done"
	echo "# ss: $line"
	[[ $line =~ minrtt:([0-9.]+) ]] || fail "no minrtt in ss -ti: $line"
	minrtt_us=$(awk -v m="${BASH_REMATCH[1]}" 'BEGIN { printf "%d", m * 1000 }')
	stats_json "$CLI"
	echo "# $(jq -c '{rtt_samples, rtt_sum_us, rtt_values, rtt_hist_us}' <<<"$STATS")"

	# Each exchange is one RTT window: one value each, plus the
	# handshake's; an RTT callback per ACK would be about twice as many.
	values=$(jq .rtt_samples <<<"$STATS")
	[ "$values" -ge $((n - 5)) ] && [ "$values" -le $((n + 5)) ] ||
		fail "$values RTT values for $n round trips"
	# A sample is never below the connection's minimum: no 0 µs
	# placeholder, no value from before the first sample.
	[ "$(hist_min_high "$STATS")" -ge "$minrtt_us" ] ||
		fail "a value below minrtt ${minrtt_us} us: $(jq -c .rtt_hist_us <<<"$STATS")"
}

@test "oracle: with 20 ms netem delay each way the RTT values are in the bucket holding 40 ms (every one without emulation)" {
	local cg out=$BATS_TEST_TMPDIR/rr

	ip netns exec "$NS_C" tc qdisc add dev vc root netem delay 20ms 2>/dev/null ||
		skip "this kernel has no sch_netem"
	ip netns exec "$NS_S" tc qdisc add dev vs root netem delay 20ms
	traced "$CLI" RTT
	cg=$SCB_CGROUP
	make_cgroup
	server "$SCB_CGROUP"
	bg_in_ns "$cg" "$NS_C" python3 "$TCPLOAD" rr "$SRV4" "$PORT" 20 0 "$out"
	wait_for_file "$out" 30
	touch "$out.done"
	stats_json "$CLI"
	echo "# $(jq -c '{rtt_samples, rtt_values, rtt_hist_us}' <<<"$STATS")"
	[ "$(jq .rtt_samples <<<"$STATS")" -ge 19 ] || fail "too few RTT values"
	check_rtt_40ms "$STATS"
}

@test "oracle: a createRuntime repeated 40 times during traffic loses no increment: connects still equal TcpActiveOpens" {
	local cg id a0 made pid cfg=$BATS_TEST_TMPDIR/config.json

	scb_write_config "$cfg" '{"flagSets":{"full":["STATE","RTT"]}}'
	make_cgroup
	cg=$SCB_CGROUP
	make_cgroup
	server "$SCB_CGROUP"
	start_in_cgroup "$cg" sleep 600
	pid=$SCB_BG_PID
	id=race-$(random_string 8)
	scb_track_attach "$id"
	scb_oci_state "$id" "$pid" '{"sockops-cb.io/flag-set":"full"}' >"$BATS_TEST_TMPDIR/state"
	run_hook createRuntime "$cfg" "$BATS_TEST_TMPDIR/state"
	a0=$(ns_tcp_counter "$NS_C" ActiveOpens)

	bg_in_ns "$cg" "$NS_C" python3 "$TCPLOAD" short "$SRV4" "$SRV6" "$PORT" 400 "$CLOSED"
	pid=$SCB_BG_PID
	for ((i = 0; i < 40; i++)); do
		"$SCB" hook createRuntime --config "$cfg" <"$BATS_TEST_TMPDIR/state" ||
			fail "createRuntime $i failed"
	done
	wait "$pid" || fail "the client failed"
	wait_netns_quiet "$NS_C"
	stats_json "$id"
	expect_equal "connects" "$(jq .connect <<<"$STATS")" $(($(ns_tcp_counter "$NS_C" ActiveOpens) - a0))
	expect_equal "established" "$(jq .established_active <<<"$STATS")" 800
}

@test "oracle: WRITE_HDR_OPT makes the kernel call the program for every segment sent (hdr_opt >= Tcp: OutSegs), and list says so" {
	local cg cfg=$BATS_TEST_TMPDIR/config.json o0 out

	make_cgroup
	cg=$SCB_CGROUP
	scb_write_config "$cfg" '{"maxFlags":["STATE","WRITE_HDR_OPT"]}'
	scb_track_attach "$CLI"
	run_scb attach --cgroup "${cg#"$(cgroup2_mount)"}" --name "$CLI" \
		--flags STATE+WRITE_HDR_OPT --config "$cfg"
	make_cgroup
	server "$SCB_CGROUP"
	o0=$(ns_tcp_counter "$NS_C" OutSegs)
	out=$(in_ns "$cg" "$NS_C" python3 "$TCPLOAD" short "$SRV4" "$SRV6" "$PORT" 20 "$CLOSED")
	wait_netns_quiet "$NS_C"
	stats_json "$CLI"
	echo "# $out; hdr_opt $(jq .hdr_opt <<<"$STATS"), OutSegs +$(($(ns_tcp_counter "$NS_C" OutSegs) - o0))"
	[ "$(jq .hdr_opt <<<"$STATS")" -ge $(($(ns_tcp_counter "$NS_C" OutSegs) - o0)) ] ||
		fail "fewer header-option callbacks than segments sent"

	run_scb list --wide
	assert_line --partial "note: $CLI: WRITE_HDR_OPT: the program runs at least once for every segment sent"
	run_scb list
	assert_line --partial "note: $CLI: WRITE_HDR_OPT: the program runs at least once"
	run_scb list --json
	run jq -r --arg n "$CLI" 'select(.name == $n) | .note' <<<"$output"
	assert_output --partial "nothing is written"
}
