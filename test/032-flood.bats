#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Nothing is lost silently, and nothing is produced for nobody.  Events
# come from a program each `trace` attaches for itself, with a ring of its
# own: when the reader dies, however it dies, the kernel drops its link,
# program and ring, and no event is made any more.  When its ring is full
# the program drops the event and counts it, and `trace` reports the loss
# at exit.  Counters do not go through the ring and stay exact whatever
# happens to events.
#
# The books must balance: every event the program tried to emit while the
# trace ran (computed from the counters: one per CONNECT, ESTABLISHED,
# LISTEN, state transition, CLOSE, RTT value, RTO and retransmit) was
# either delivered or reported lost.
#
# Runs on a private node (scb_private_node in helpers.bash).

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
	NAME=flood-$(random_string 6)
	TRACE_PID=
	READER_GATE=$BATS_TEST_TMPDIR/reader-gate
}

teardown()
{
	[ -z "${LOOP_PID:-}" ] || kill -9 "$LOOP_PID" 2>/dev/null || true
	if [ -n "${TRACE_PID:-}" ]; then
		# Let the stuck reader go: the trace then drains and exits.
		timeout 5 bash -c 'exec 5>"$0"' "$READER_GATE" 2>/dev/null || true
		timeout 30 tail --pid="$TRACE_PID" -f /dev/null || true
		kill "$TRACE_PID" 2>/dev/null || true
		wait "$TRACE_PID" 2>/dev/null || true
	fi
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

# flood OUT.ERR: batches of connections until the trace whose stderr is
# OUT.ERR... cannot say yet: until the trace's ring must have overflowed,
# that is until the events made exceed what the ring holds. The number
# made is left in $CONNS.
flood()
{
	local ring=$((4 * 1024 * 1024)) made s0 s1

	s0=$(stats_json)
	CONNS=0
	while :; do
		connections "$BATCH"
		CONNS=$((CONNS + BATCH))
		s1=$(stats_json)
		made=$(emitted "$s0" "$s1")
		# A record is 112 bytes with its 8-byte header.
		[ "$((made * 112))" -le "$ring" ] || break
		[ "$CONNS" -lt "$MAX_CONNS" ] ||
			fail "$made events in $CONNS connections never overflow a $ring-byte ring"
	done
	echo "# $made events in $CONNS connections: more than a $ring-byte ring holds"
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
		d(.retrans)'
}

# trace_prog PID: the id of the trace program PID's link runs (from the
# link's fdinfo), empty while it has none.
trace_prog()
{
	# fds come and go while it starts: cat skips the vanished ones.
	{ cat /proc/"$1"/fdinfo/* 2>/dev/null || true; } |
		awk '$1 == "link_type:" && $2 == "cgroup" { l = 1 } l && $1 == "prog_id:" { print $2; exit }'
}

# wait_trace_prog PID: until PID's trace is attached; its program's id in
# $PROG and its ring's map id in $RING.
wait_trace_prog()
{
	local i

	for ((i = 0; i < 100; i++)); do
		PROG=$(trace_prog "$1")
		[ -n "$PROG" ] && break
		kill -0 "$1" 2>/dev/null || fail "the trace exited before it attached"
		sleep 0.1
	done
	[ -n "$PROG" ] || fail "the trace did not attach within 10 s"
	RING=$(bpftool -j prog show id "$PROG" | jq -r '.map_ids[]' | while read -r m; do
		bpftool -j map show id "$m" | jq -r 'select(.type == "ringbuf") | .id'
	done)
	[ -n "$RING" ] || fail "the trace program $PROG has no ring"
}

# assert_gone PROG RING: neither the program nor its ring exists, nor is
# anything attached where the trace attached.
assert_gone()
{
	local i

	# The kernel frees them once the last reference is dropped (RCU).
	for ((i = 0; i < 50; i++)); do
		bpftool prog show id "$1" >/dev/null 2>&1 ||
			! bpftool map show id "$2" >/dev/null 2>&1 && break
		sleep 0.1
	done
	run bpftool prog show id "$1"
	assert_failure
	run bpftool map show id "$2"
	assert_failure
	bpftool -j cgroup show "$(cgroup2_mount)" | jq -e --argjson p "$1" \
		'all(.[]; .id != $p)' >/dev/null || fail "program $1 is still attached"
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

@test "flood: a trace killed with SIGKILL, ended by SIGHUP or by a closed pipe leaves no program, ring or event behind; counters stay exact" {
	local s0 s1 out=$BATS_TEST_TMPDIR/trace.json way pid n=0

	traced_server
	s0=$(stats_json)
	for way in KILL HUP PIPE; do
		if [ "$way" = PIPE ]; then
			# The reader takes one line and goes: the next write fails.
			"$SCB" trace --json 2>"$out.err" 3>&- > >(head -n 1 >"$out") &
		else
			"$SCB" trace --json >"$out" 2>"$out.err" 3>&- &
		fi
		pid=$!
		LOOP_PID=$pid
		wait_trace_prog "$pid"
		echo "# $way: trace $pid, program $PROG, ring $RING"
		connections 20
		n=$((n + 20))
		if [ "$way" = PIPE ]; then
			wait "$pid" || true
		else
			for ((i = 0; i < 50; i++)); do
				[ -s "$out" ] && break
				sleep 0.1
			done
			kill -"$way" "$pid"
			wait "$pid" || true
		fi
		[ -s "$out" ] || fail "$way: the trace got no event"
		assert_gone "$PROG" "$RING"
	done

	# Nobody reads: connections make no event and lose none.
	connections "$BATCH"
	n=$((n + BATCH))
	wait_closed $((2 * n))
	s1=$(stats_json)
	assert_exact "$s0" "$s1" "$n"
}

# node_trace_lost: sockops_cb_trace_events_lost_total of `metrics`.
node_trace_lost()
{
	"$SCB" metrics | awk '$1 == "sockops_cb_trace_events_lost_total" { print $2 }'
}

@test "flood: trace --json into a pipe nobody reads: the loss is reported (and counted in the node's metric), and received plus lost is every event made" {
	local s0 s1 s2 out=$BATS_TEST_TMPDIR/trace.out err=$BATS_TEST_TMPDIR/trace.err
	local lost received want gate events tpid m0

	traced_server
	s0=$(stats_json)
	m0=$(node_trace_lost)

	# stdout is a pipe that is not read until the flood is over; the trace
	# wants to stop after 4 s.
	mkfifo "$READER_GATE"
	rm -f "$err.rc"
	( { "$SCB" trace --duration 4 --json 2>"$err"; echo $? >"$err.rc"; } |
		{ read -r _ <"$READER_GATE" || true; cat; } >"$out" ) 3>&- &
	TRACE_PID=$!
	for ((i = 0; i < 100; i++)); do
		tpid=$(pgrep -n -f -- "trace --duration 4 --json" || true)
		[ -n "$tpid" ] && [ -n "$(trace_prog "$tpid")" ] && break
		sleep 0.1
	done
	wait_trace_prog "$tpid"

	# Heavy traffic while the reader is stuck.
	flood
	wait_closed $((2 * CONNS))
	s1=$(stats_json)
	[ -n "$(trace_prog "$tpid")" ] || fail "the trace detached while it was blocked"

	# The reader reads at last: the trace drains the ring and stops.
	exec {gate}>"$READER_GATE"
	exec {gate}>&-
	wait "$TRACE_PID"
	TRACE_PID=
	assert_equal "trace exit $(cat "$err.rc")" "trace exit 0"
	s2=$(stats_json)
	echo "# stderr: $(cat "$err")"
	echo "# $(grep -c . "$out") lines; last: $(tail -n 1 "$out")"
	assert_gone "$PROG" "$RING"

	lost=$(tail -n 1 "$out" | jq 'select(.event == "LOST") | .count')
	[ -n "$lost" ] && [ "$lost" -gt 0 ] ||
		fail "nothing was lost: the pipe never blocked the trace"
	# Reported on stderr too, with the same count.
	run cat "$err"
	assert_output "sockops-cb: $lost events lost: the ring buffer was full"
	# And in the node's metric, for an alert.
	assert_equal "metric $(($(node_trace_lost) - m0))" "metric $lost"
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

@test "flood: a trace stops, saying why, when the node is unloaded under it" {
	local out=$BATS_TEST_TMPDIR/trace.json pid rc=0 i

	traced_server
	"$SCB" trace --json >"$out" 2>"$out.err" 3>&- &
	pid=$!
	LOOP_PID=$pid
	wait_trace_prog "$pid"
	run_scb unload --force
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "the trace kept running after unload --force"
	wait "$pid" || rc=$?
	assert_equal "exit $rc" "exit 1"
	run cat "$out.err"
	assert_output --partial "the node was unloaded"
	assert_gone "$PROG" "$RING"
}
