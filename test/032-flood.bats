#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Nothing is lost silently (issue 7, part 6).  When the event ring buffer
# is full the program drops the event and counts it in the target's
# events_lost, and `trace` reports the loss at exit.  Counters do not go through the ring and must stay exact whatever
# happens to events.  Two ways to fill it:
#
#   (a) events switched on with no reader at all (control[0], the mask of
#       wanted event types, set to all by hand);
#   (b) a `trace --json` whose stdout is a pipe nobody reads for a while:
#       it blocks writing, stops consuming, and the ring fills behind it.
#
# In both, the books must balance exactly: every event the program tried
# to emit while events were on (computed from the counters: one per
# CONNECT, ESTABLISHED, LISTEN, state transition, CLOSE, RTT sample, RTO
# and retransmit) was either delivered or counted as lost.
#
# Runs on a private node (scb_private_node in helpers.bash): switching
# events on by hand, or filling the ring, on the host's node would make
# colleagues' traces and counters lose events.  The trace lock
# (/run/sockops-cb.trace.lock) is the host's, though: a colleague's running
# trace makes ours wait, and after a while skip.

bats_require_minimum_version 1.5.0

load helpers

PORT=8080
# Short connections are made in batches of this many until the ring has
# overflowed: about 17 events each with RTT,STATE on both ends, so a few
# hundred fill a 512 KiB ring and a few thousand a 4 MiB one.
BATCH=500
# Beyond this many connections the ring "never fills": a failure.
MAX_CONNS=30000

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary
	scb_private_node
	CONTROL=$SCB_NODE_BPF/control
	NAME=flood-$(random_string 6)
	TRACE_PID=
	READER_GATE=$BATS_TEST_TMPDIR/reader-gate
}

teardown()
{
	if [ -n "${TRACE_PID:-}" ]; then
		# Let the stuck reader go: the trace then drains and exits.
		timeout 5 bash -c 'exec 5>"$0"' "$READER_GATE" 2>/dev/null || true
		timeout 30 tail --pid="$TRACE_PID" -f /dev/null || true
		kill "$TRACE_PID" 2>/dev/null || true
		wait "$TRACE_PID" 2>/dev/null || true
	fi
	# Events off again, even when the test failed half-way.
	[ ! -e "$CONTROL" ] ||
		bpftool map update pinned "$CONTROL" key 0 0 0 0 value 0 0 0 0 || true
	scb_teardown
	scb_private_node_teardown
}

###############################################################################
# helpers of this file

# traced_server: a cgroup traced with RTT,STATE ($CG), a netns of its own
# ($NETNS) and a listener on 127.0.0.1:$PORT in both ($SERVER_PID), so that
# both ends of every connection are traced and nothing else is in the netns.
traced_server()
{
	NETNS=$(safename)
	make_netns "$NETNS"
	make_cgroup
	CG=$SCB_CGROUP
	run_scb attach --cgroup "${CG#"$(cgroup2_mount)"}" --name "$NAME" --flags RTT,STATE
	start_in_cgroup "$CG" nsenter --net="/run/netns/$NETNS" \
		socat -u "TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr" OPEN:/dev/null
	SERVER_PID=$SCB_BG_PID
	scb_wait_for_port "$SERVER_PID" "$PORT" || fail "no listener in $NETNS"
}

# connections N: N short connections from $CG to the listener, 4 at a
# time; each one sends nothing and closes.  Fails unless all N were made.
connections()
{
	local made

	made=$(run_in_cgroup "$CG" nsenter --net="/run/netns/$NETNS" bash -c '
		for ((j = 0; j < 4; j++)); do
			(
				made=0
				for ((i = j; i < $0; i += 4)); do
					socat -u OPEN:/dev/null "TCP:127.0.0.1:$1" &&
						made=$((made + 1))
				done
				echo "$made"
			) &
		done | awk "{ s += \$1 } END { print s }"' "$1" "$PORT")
	[ "$made" = "$1" ] || fail "only $made of $1 connections were made"
}

# flood LOST0: batches of connections until the target has lost events
# (events_lost above LOST0); the number made is left in $CONNS.
flood()
{
	local lost ring

	ring=$(bpftool -j map show pinned "$SCB_NODE_BPF/events" | jq .max_entries)
	CONNS=0
	while :; do
		connections "$BATCH"
		CONNS=$((CONNS + BATCH))
		lost=$(stats_json | jq .events_lost)
		[ "$lost" -le "$1" ] || break
		[ "$CONNS" -lt "$MAX_CONNS" ] ||
			fail "the $ring-byte ring never overflowed in $CONNS connections"
	done
	echo "# a $ring-byte ring overflowed within $CONNS connections"
}

# stats_json: this test's target's counters, one line.
stats_json()
{
	"$SCB" stats "$NAME" --json || fail "sockops-cb stats $NAME failed"
}

# wait_closed N: until N sockets of the target have closed.
wait_closed()
{
	local i closed

	for ((i = 0; i < 200; i++)); do
		closed=$(stats_json | jq .closed)
		[ "$closed" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "only $closed of $1 sockets closed"
}

# emitted BEFORE AFTER: how many events the program tried to emit between
# two stats_json snapshots taken while events were on: one per callback it
# counts (a CLOSE event with each transition to CLOSE; no event for
# header options).
emitted()
{
	jq -n --argjson b "$1" --argjson a "$2" '
		def d(f): ($a | f) - ($b | f);
		def states: [.state_transitions[]] | add // 0;
		d(.connect) + d(.established_active) + d(.established_passive) +
		d(.listen) + d(states) + d(.closed) + d(.rtt_samples) + d(.rto) +
		d(.retrans) + d(.retrans_failed)'
}

# control: the value of control[0]: the event types a reader wants (bit
# 1 << type), 0 while nobody reads.
control()
{
	bpftool -j map lookup pinned "$CONTROL" key 0 0 0 0 | jq -r .formatted.value
}

# run_trace ARGS...: `sockops-cb trace ARGS`, waiting (up to a minute) while
# a colleague's trace holds the trace lock (a file in /run, shared with the
# host's node), then skipping.
run_trace()
{
	local i

	for ((i = 0; i < 60; i++)); do
		run --separate-stderr "$SCB" trace "$@"
		[[ $stderr == *"another \`sockops-cb trace\` is running"* ]] || return 0
		sleep 1
	done
	skip "another sockops-cb trace held the trace lock for a minute"
}

# assert_exact BEFORE AFTER N: counters that must be exact whatever the
# events did, for N connections with both ends traced, all closed.
assert_exact()
{
	local b=$1 a=$2 n=$3 f t

	for f in connect established_active established_passive; do
		assert_equal "$f $(jq -n --argjson b "$b" --argjson a "$a" "\$a.$f - \$b.$f")" "$f $n"
	done
	assert_equal "closed $(jq -n --argjson b "$b" --argjson a "$a" '$a.closed - $b.closed')" \
		"closed $((2 * n))"
	# Each connection took the same path through the state machine.
	for t in SYN_SENT-\>ESTABLISHED SYN_RECV-\>ESTABLISHED \
		ESTABLISHED-\>FIN_WAIT1 FIN_WAIT1-\>FIN_WAIT2 FIN_WAIT2-\>CLOSE \
		ESTABLISHED-\>CLOSE_WAIT CLOSE_WAIT-\>LAST_ACK LAST_ACK-\>CLOSE; do
		assert_equal "$t $(jq -n --argjson b "$b" --argjson a "$a" --arg t "$t" \
			'($a.state_transitions[$t] // 0) - ($b.state_transitions[$t] // 0)')" "$t $n"
	done
	# closed is exactly the transitions into CLOSE.
	assert_equal "$(jq '.closed' <<<"$a")" \
		"$(jq '[.state_transitions | to_entries[] | select(.key | endswith("->CLOSE")) | .value] | add // 0' <<<"$a")"
}

###############################################################################

@test "flood: events on with no reader: the ring fills, losses are counted, counters stay exact" {
	local s0 s1 lost n_ring want active passive events

	traced_server
	s0=$(stats_json)
	assert_equal "$(jq .events_lost <<<"$s0")" 0

	# Events on, and nobody reads them.
	bpftool map update pinned "$CONTROL" key 0 0 0 0 value 0xff 0xff 0xff 0xff
	[ "$(control)" != 0 ] || fail "events not on"
	flood 0
	wait_closed $((2 * CONNS))
	s1=$(stats_json)
	bpftool map update pinned "$CONTROL" key 0 0 0 0 value 0 0 0 0
	echo "# after $CONNS connections: $(jq -c 'del(.rtt_hist_us)' <<<"$s1")"

	lost=$(jq .events_lost <<<"$s1")
	[ "$lost" -gt 0 ] || fail "the ring never filled: events_lost is $lost"

	# Counters are exact: ours, and against the kernel's own TCP counters
	# of the test's netns (nothing else ran in it).
	assert_exact "$s0" "$s1" "$CONNS"
	active=$(netns_tcp_counter "$SERVER_PID" ActiveOpens)
	passive=$(netns_tcp_counter "$SERVER_PID" PassiveOpens)
	assert_equal "established_active $(jq .established_active <<<"$s1")" \
		"established_active $active"
	assert_equal "established_passive $(jq .established_passive <<<"$s1")" \
		"established_passive $passive"

	# The books balance: what the ring holds plus what was lost is every
	# event emitted while events were on.  A trace drains the ring.
	want=$(emitted "$s0" "$s1")
	run_trace --json --duration 1
	assert_success
	events=$(jq -r .event <<<"$output") ||
		fail "trace wrote a line that is not JSON"
	n_ring=$(grep -c . <<<"$events" || true)
	echo "# emitted $want: $n_ring in the ring, $lost lost"
	refute_output --partial '"event":"LOST"'
	assert_equal "ring $n_ring + lost $lost = $((n_ring + lost))" \
		"ring $n_ring + lost $lost = $want"
	# Nothing more is lost once events are off.
	assert_equal "$(jq .events_lost <<<"$(stats_json)")" "$lost"
}

@test "flood: trace --json into a pipe nobody reads: the loss is reported and equals events_lost" {
	local s0 s1 s2 out=$BATS_TEST_TMPDIR/trace.out err=$BATS_TEST_TMPDIR/trace.err
	local i lost received want gate events

	traced_server
	s0=$(stats_json)

	# stdout is a pipe that is not read until the flood is over; the trace
	# wants to stop after 4 s.  Retried while a colleague's trace holds the
	# lock.
	mkfifo "$READER_GATE"
	for ((i = 0; i < 60; i++)); do
		rm -f "$err.rc"
		( { "$SCB" trace --duration 4 --json 2>"$err"; echo $? >"$err.rc"; } |
			{ read -r _ <"$READER_GATE" || true; cat; } >"$out" ) 3>&- &
		TRACE_PID=$!
		# Until it switches events on, or exits.
		while [ ! -e "$err.rc" ] && [ "$(control)" = 0 ]; do
			sleep 0.02
		done
		[ "$(control)" != 0 ] && break
		# Let the reader go (it waits at the gate), then retry.
		exec {gate}>"$READER_GATE"
		exec {gate}>&-
		wait "$TRACE_PID" || true
		TRACE_PID=
		grep -q 'another `sockops-cb trace` is running' "$err" ||
			fail "trace did not start: $(cat "$err")"
		sleep 1
	done
	[ -n "$TRACE_PID" ] ||
		skip "another sockops-cb trace held the trace lock for a minute"

	# Heavy traffic while the reader is stuck.
	flood "$(jq .events_lost <<<"$s0")"
	wait_closed $((2 * CONNS))
	s1=$(stats_json)
	# Still on: the trace was blocked writing all along.
	[ "$(control)" != 0 ] || fail "events went off while the trace was blocked"

	# The reader reads at last: the trace drains the ring and stops.
	exec {gate}>"$READER_GATE"
	exec {gate}>&-
	wait "$TRACE_PID"
	TRACE_PID=
	assert_equal "trace exit $(cat "$err.rc")" "trace exit 0"
	s2=$(stats_json)
	assert_equal "control $(control)" "control 0"
	echo "# stderr: $(cat "$err")"
	echo "# $(grep -c . "$out") lines; last: $(tail -n 1 "$out")"

	lost=$(($(jq .events_lost <<<"$s2") - $(jq .events_lost <<<"$s0")))
	[ "$lost" -gt 0 ] || fail "nothing was lost: the pipe never blocked the trace"
	# Reported on stderr and as the last JSON line, with the same count.
	run cat "$err"
	assert_output "sockops-cb: $lost events lost: the ring buffer was full"
	run tail -n 1 "$out"
	assert_output "{\"event\":\"LOST\",\"count\":$lost}"
	# Every line is JSON; the events plus the lost ones are all that were
	# emitted while the trace ran.
	events=$(jq -r 'select(.event != "LOST") | .event' "$out") ||
		fail "trace wrote a line that is not JSON"
	received=$(grep -c . <<<"$events" || true)
	want=$(emitted "$s0" "$s1")
	echo "# emitted $want: $received received, $lost lost"
	assert_equal "received $received + lost $lost = $((received + lost))" \
		"received $received + lost $lost = $want"
	assert_exact "$s0" "$s2" "$CONNS"
}
