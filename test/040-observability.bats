#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Observability: `metrics` (Prometheus text format) against
# `stats --json`, `serve` scraped by a real Prometheus, `conns` against
# `ss -tin`, the CLOSE summary of `trace`, `stats --plot`, and the
# Kubernetes examples (examples/kubernetes/, docs/kubernetes.md).
#
# Targets are throwaway cgroups attached by hand (`attach --cgroup`), each
# with a network namespace of its own, so that loopback traffic is the
# test's alone and counts are exact.  A process joins the cgroup before it
# enters the netns (see run_in_cgroup).  A server in an *untraced* cgroup
# keeps the accepted sockets out of the counts where a test wants only the
# client side.  Prometheus and `serve` listen on free ports of 127.0.0.1.

bats_require_minimum_version 1.5.0
load helpers

# In the test's own netns: any port works.
PORT=8080
FULL=RTO,RETRANS,STATE,RTT
CONFIG='{ "flagSets": { "full": ["STATE", "RTT", "RETRANS", "RTO"] } }'
K8S=$SCB_REPO/examples/kubernetes

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary
	SCB_BG_PIDS=()
	SCB_CONFIG=$BATS_TEST_TMPDIR/config.json
	scb_write_config "$SCB_CONFIG" "$CONFIG"
	HOOK_IDS=()
}

teardown()
{
	local id

	scb_trace_stop
	scb_bg_stop_all
	for id in ${HOOK_IDS[@]+"${HOOK_IDS[@]}"}; do
		scb_oci_state "$id" 0 '{}' stopped |
			"$SCB" hook poststop >/dev/null 2>&1 || true
	done
	scb_teardown
}

###############################################################################
# targets and traffic

# new_target NAME: a netns and a cgroup of this test, the cgroup attached
# as NAME with flag set full; they are left in $NS and $CG.
new_target()
{
	NS=$(safename)
	make_netns "$NS"
	make_cgroup
	CG=$SCB_CGROUP
	run_scb attach --cgroup "$CG" --name "$1" --config "$SCB_CONFIG" \
		--flag-set full
}

# discard_server CG NS: a server on 127.0.0.1:$PORT that reads and drops
# whatever each client sends.
discard_server()
{
	bg_in_ns "$1" "$2" socat -u \
		"TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr" OPEN:/dev/null
	scb_wait_for_port "$SCB_BG_PID" "$PORT" || fail "no server on $PORT in $2"
}

# connect_n CG NS N BYTES: N connections one after the other, each sending
# BYTES and closing.
connect_n()
{
	in_ns "$1" "$2" sh -c "for i in \$(seq $3); do
		head -c $4 /dev/zero | socat -u - TCP:127.0.0.1:$PORT || exit 1
	done" || fail "connect_n: a client failed"
}

# wait_quiet NAME: until two reads of NAME's counters 0.3 s apart agree
# (the last ACKs and state changes of closed connections have landed).
wait_quiet()
{
	local a b i

	a=$("$SCB" stats "$1" --json)
	for ((i = 0; i < 30; i++)); do
		sleep 0.3
		b=$("$SCB" stats "$1" --json)
		[ "$a" != "$b" ] || return 0
		a=$b
	done
	fail "the counters of $1 kept moving: $b"
}

# metrics_of NAME [FILE]: the samples of target NAME (in `metrics` output,
# or in FILE) as prom_samples JSON lines, into $SAMPLES.
metrics_of()
{
	local file=${2:-$BATS_TEST_TMPDIR/metrics.prom}

	[ -n "${2:-}" ] || "$SCB" metrics >"$file" || fail "sockops-cb metrics failed"
	SAMPLES=$(prom_samples <"$file" | jq -c --arg n "$1" \
		'select(.labels.container_name == $n)') || fail "cannot parse $file"
}

# mval METRIC [LABEL=VALUE...]: the value of the one sample of METRIC in
# $SAMPLES with those labels; fails unless there is exactly one.
mval()
{
	local name=$1 sel='.name == $n' kv i=0 args got

	shift
	args=(--arg n "$name")
	for kv in "$@"; do
		args+=(--arg "k$i" "${kv%%=*}" --arg "v$i" "${kv#*=}")
		sel+=" and .labels[\$k$i] == \$v$i"
		i=$((i + 1))
	done
	got=$(jq -s -c "${args[@]}" "[.[] | select($sel) | .value]" <<<"$SAMPLES")
	[ "$(jq length <<<"$got")" -eq 1 ] ||
		fail "metrics: expected one sample $name{$*}, got $got"
	jq -r '.[0]' <<<"$got"
}

# expect WHAT GOT WANT: a named equality.
expect()
{
	[ "$2" = "$3" ] || fail "$1: got $2, expected $3"
}

###############################################################################
# Prometheus

# retrans_seen NAME: wait until Prometheus's last scrape of NAME's
# retransmits equals `stats --json` (at most 20 s), the count in $RETRANS.
retrans_seen()
{
	local got want i

	for ((i = 0; i < 80; i++)); do
		got=$(prom_value "sum(sockops_cb_retransmits_total{container_name=\"$1\"})")
		stats_json "$1"
		want=$(jq .retrans <<<"$STATS")
		[ "$got" != "$want" ] || break
		sleep 0.25
	done
	echo "# $1: retransmits in prometheus $got, in stats $want"
	expect "prometheus retransmits of $1 == stats retrans" "$got" "$want"
	RETRANS=$want
}

# wait_prom WHAT SECONDS CMD...: until CMD succeeds.
wait_prom()
{
	local what=$1 timeout=$2 i

	shift 2
	for ((i = 0; i < timeout * 4; i++)); do
		"$@" && return 0
		sleep 0.25
	done
	fail "$what: not within ${timeout}s"
}

###############################################################################
# trace

# start_trace OUT [TRACE-ARGS...]: scb_trace_start (readers are
# independent: another trace on the node does not matter).
start_trace()
{
	scb_trace_start "$@"
}

# stop_trace: SIGTERM the trace, which then exits 0 with its events flushed.
stop_trace()
{
	kill -TERM "$SCB_TRACE_PID"
	scb_trace_wait
}

###############################################################################
# Python bits for traffic that shell tools cannot shape

# close_client PORT SIZE...: one connection per SIZE: send SIZE bytes,
# half-close, read the reply to EOF, close.  One JSON line per connection.
CLOSE_CLIENT_PY='
import json, socket, sys
port = int(sys.argv[1])
for n in map(int, sys.argv[2:]):
    s = socket.create_connection(("127.0.0.1", port))
    sport = s.getsockname()[1]
    s.sendall(b"x" * n)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    print(json.dumps({"sport": sport, "sent": n, "received": len(got),
                      "reply": got.decode().strip()}), flush=True)
'

# hold_client PORT SEND EXPECT READY: send SEND bytes, read EXPECT bytes,
# write the local port to READY, then keep the connection open.
HOLD_CLIENT_PY='
import socket, sys, time
port, send, expect, ready = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"x" * send)
got = 0
while got < expect:
    d = s.recv(65536)
    if not d:
        sys.exit("EOF after %d bytes" % got)
    got += len(d)
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
import os; os.rename(ready + ".tmp", ready)
time.sleep(600)
'

# slow_ack_server PORT: a receiver that delays every ACK (TCP_QUICKACK
# off before each read): the sender sees RTT samples of ~40 ms.
SLOW_ACK_SERVER_PY='
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen()
c, _ = l.accept()
while True:
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
    if not c.recv(100):
        break
'

# ticker PORT N INTERVAL: N one-byte segments, INTERVAL s apart.
TICKER_PY='
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(int(sys.argv[2])):
    s.send(b"x")
    time.sleep(float(sys.argv[3]))
s.close()
'

# wait_file FILE [TIMEOUT]
wait_file()
{
	local i

	for ((i = 0; i < ${2:-10} * 10; i++)); do
		[ ! -s "$1" ] || return 0
		sleep 0.1
	done
	fail "$1 did not appear"
}

###############################################################################
# metrics

@test "metrics: promtool accepts it, and every family equals stats --json" {
	local name le_check n1 n2 i targets

	name=$(safename)
	new_target "$name"
	discard_server "$CG" "$NS"
	connect_n "$CG" "$NS" 3 20000
	# A fourth connection loses its segments for a second: retransmits
	# and RTOs to compare too.
	bg_in_ns "$CG" "$NS" python3 -c "$TICKER_PY" "$PORT" 25 0.1
	sleep 0.5
	ip netns exec "$NS" iptables -w -I INPUT -p tcp --dport "$PORT" -j DROP
	sleep 1
	ip netns exec "$NS" iptables -w -D INPUT -p tcp --dport "$PORT" -j DROP
	wait "$SCB_BG_PID" || fail "the ticking client failed"
	wait_quiet "$name"

	"$SCB" metrics >"$BATS_TEST_TMPDIR/metrics.prom"
	run promtool check metrics <"$BATS_TEST_TMPDIR/metrics.prom"
	[ "$status" -eq 0 ] || fail "promtool check metrics: $output"
	assert_output ""

	metrics_of "$name" "$BATS_TEST_TMPDIR/metrics.prom"
	stats_json "$name"
	echo "# stats: $STATS"
	echo "# metrics: $SAMPLES"

	# The target itself.
	expect "target_info" "$(mval sockops_cb_target_info kind=cgroup \
		container_id="$name" flag_set=full effective=$FULL \
		requested=$FULL pod_namespace= pod_name=)" 1

	# Connections: the clients' 4 active opens, the server's 4 passive.
	expect "established active" \
		"$(mval sockops_cb_connections_established_total direction=active)" \
		"$(jq .established_active <<<"$STATS")"
	expect "established passive" \
		"$(mval sockops_cb_connections_established_total direction=passive)" \
		"$(jq .established_passive <<<"$STATS")"
	expect "stats established_active" "$(jq .established_active <<<"$STATS")" 4
	expect "stats established_passive" "$(jq .established_passive <<<"$STATS")" 4
	jq -e '.retrans > 0 and .rto > 0' <<<"$STATS" >/dev/null ||
		fail "no retransmit or RTO while the port was dropped: $STATS"
	expect "closed" "$(mval sockops_cb_connections_closed_total)" \
		"$(jq .closed <<<"$STATS")"
	expect "retransmits ok" "$(mval sockops_cb_retransmits_total result=ok)" \
		"$(jq '.retrans - .retrans_failed' <<<"$STATS")"
	expect "retransmits failed" \
		"$(mval sockops_cb_retransmits_total result=failed)" \
		"$(jq .retrans_failed <<<"$STATS")"
	expect "rto" "$(mval sockops_cb_rto_total)" "$(jq .rto <<<"$STATS")"
	expect "header options" "$(mval sockops_cb_header_option_callbacks_total)" \
		"$(jq .hdr_opt <<<"$STATS")"
	expect "smoothed RTT values" "$(mval sockops_cb_rtt_smoothed_values_total)" \
		"$(jq .rtt_smoothed <<<"$STATS")"
	expect "retransmits after an RTO" "$(mval sockops_cb_retransmits_after_rto_total)" \
		"$(jq .retrans_loss <<<"$STATS")"
	expect "RTOs in a row" "$(mval sockops_cb_rto_streak_max)" \
		"$(jq .rto_streak_max <<<"$STATS")"
	jq -e '.rto_streak_max >= 1 and .retrans_loss >= 1' <<<"$STATS" >/dev/null ||
		fail "RTOs but no streak or no retransmit in loss: $STATS"
	expect "connect refused" "$(mval sockops_cb_connect_failures_total reason=refused)" \
		"$(jq .connect_refused <<<"$STATS")"
	expect "connect timeout" "$(mval sockops_cb_connect_failures_total reason=timeout)" \
		"$(jq .connect_timeout <<<"$STATS")"
	expect "connect failed other" "$(mval sockops_cb_connect_failures_total reason=other)" \
		"$(jq '.connect_failed - .connect_refused - .connect_timeout' <<<"$STATS")"
	expect "resets received" "$(mval sockops_cb_resets_total side=received)" \
		"$(jq .reset_received <<<"$STATS")"
	expect "resets sent" "$(mval sockops_cb_resets_total side=sent)" \
		"$(jq .reset_sent <<<"$STATS")"
	expect "established timeouts" "$(mval sockops_cb_established_timeouts_total)" \
		"$(jq .timeout_established <<<"$STATS")"
	grep -qx "sockops_cb_build_info{version=\"$("$SCB" --version | awk '{print $2}')\",bpf_id=\"[0-9a-f]\{16\}\"} 1" \
		"$BATS_TEST_TMPDIR/metrics.prom" || fail "no sockops_cb_build_info of this build"

	# Every state transition, and no other.
	run jq -n -c --argjson s "$STATS" --slurpfile m <(echo "$SAMPLES") '
		[$m[] | select(.name == "sockops_cb_state_transitions_total") |
		 {key: "\(.labels.from)->\(.labels.to)", value: .value}] |
		from_entries as $got |
		if $got == $s.state_transitions then "ok"
		else {got: $got, stats: $s.state_transitions} end'
	expect "state transitions" "$output" '"ok"'

	# The RTT histogram: count, sum in seconds, and 93 cumulative buckets
	# (4 per power of two, 8 us to 67 s), each the count of stats'
	# buckets below it, ending with +Inf.
	expect "stats rtt_samples > 0" "$(jq '.rtt_samples > 0' <<<"$STATS")" true
	expect "rtt _count" "$(mval sockops_cb_rtt_seconds_count)" \
		"$(jq .rtt_samples <<<"$STATS")"
	expect "rtt +Inf bucket" "$(mval sockops_cb_rtt_seconds_bucket le=+Inf)" \
		"$(jq .rtt_samples <<<"$STATS")"
	run jq -n -r --argjson s "$STATS" --arg sum "$(mval sockops_cb_rtt_seconds_sum)" '
		($sum | tonumber) - $s.rtt_sum_us / 1e6 |
		if . < 1e-6 and . > -1e-6 then "ok" else "off by \(.)" end'
	expect "rtt _sum == rtt_sum_us / 1e6" "$output" ok
	le_check='
		[$m[] | select(.name == "sockops_cb_rtt_seconds_bucket" and
			       .labels.le != "+Inf") |
		 {le: (.labels.le | tonumber), v: .value}] | sort_by(.le) as $b |
		[$b[] | . as $x |
		 ([$s.rtt_hist_us[] | select((.high + 1) / 1e6 <= $x.le + 1e-12) | .count] |
		  add // 0) as $want | select($want != $x.v) | {le: $x.le, got: $x.v, want: $want}]
		as $wrong |
		if ($b | length) == 93 and ($wrong | length) == 0 and $b[0].le == 8e-6 then "ok"
		else {n: ($b | length), wrong: $wrong} end'
	run jq -n -c --argjson s "$STATS" --slurpfile m <(echo "$SAMPLES") "$le_check"
	expect "rtt buckets" "$output" '"ok"'

	# sockops_cb_targets counts every target (others' too: the node is
	# shared, so read it between two equal `list`s).
	for ((i = 0; i < 10; i++)); do
		n1=$("$SCB" list --json | wc -l)
		"$SCB" metrics >"$BATS_TEST_TMPDIR/all.prom"
		n2=$("$SCB" list --json | wc -l)
		[ "$n1" -ne "$n2" ] || break
	done
	targets=$(prom_samples <"$BATS_TEST_TMPDIR/all.prom" |
		jq -s '[.[] | select(.name == "sockops_cb_targets")] |
		       if length == 1 then .[0].value else "not one: \(.)" end')
	expect "sockops_cb_targets == list --json lines" "$targets" "$n1"
	expect "one target_info per target" "$(prom_samples \
		<"$BATS_TEST_TMPDIR/all.prom" | jq -s \
		'[.[] | select(.name == "sockops_cb_target_info")] | length')" "$n1"
}

@test "metrics: every target's RTT histogram has the same buckets, so sum by (le) adds up" {
	local fast slow ns cg fast_le slow_le

	# fast: loopback RTTs of a few microseconds.
	fast=$(safename)
	new_target "$fast"
	discard_server "$CG" "$NS"
	connect_n "$CG" "$NS" 2 1000
	wait_quiet "$fast"

	# slow: a receiver that delays its ACKs: samples of ~40 ms.
	slow=$(safename)
	new_target "$slow"
	bg_in_ns "$CG" "$NS" python3 -c "$SLOW_ACK_SERVER_PY" "$PORT"
	scb_wait_for_port "$SCB_BG_PID" "$PORT" || fail "no slow-ACK server"
	in_ns "$CG" "$NS" python3 -c "$TICKER_PY" "$PORT" 10 0.1
	wait_quiet "$slow"

	stats_json "$slow"
	[ "$(jq '[.rtt_hist_us[] | select(.low >= 16384)] | length' <<<"$STATS")" -gt 0 ] ||
		fail "precondition: no RTT sample >= 16 ms from delayed ACKs: $STATS"
	stats_json "$fast"
	[ "$(jq '[.rtt_hist_us[] | select(.low >= 16384)] | length' <<<"$STATS")" -eq 0 ] ||
		fail "precondition: a loopback RTT sample >= 16 ms: $STATS"

	"$SCB" metrics >"$BATS_TEST_TMPDIR/metrics.prom"
	metrics_of "$fast" "$BATS_TEST_TMPDIR/metrics.prom"
	fast_le=$(jq -s -c '[.[] | select(.name == "sockops_cb_rtt_seconds_bucket") |
		.labels.le]' <<<"$SAMPLES")
	metrics_of "$slow" "$BATS_TEST_TMPDIR/metrics.prom"
	slow_le=$(jq -s -c '[.[] | select(.name == "sockops_cb_rtt_seconds_bucket") |
		.labels.le]' <<<"$SAMPLES")

	# PromQL aggregates histograms per le (histogram_quantile(0.9, sum by
	# (le) (...))): a bucket one target leaves out is counted as empty, so
	# the summed histogram is no longer cumulative.
	[ "$fast_le" = "$slow_le" ] ||
		fail "le values differ between targets: $fast: $fast_le; $slow: $slow_le"
}

###############################################################################
# serve and Prometheus

@test "prometheus scrapes serve: retransmits of the right container equal stats, an RTT quantile, detached series go" {
	local a b nsa nsb cga cgb port_serve port_prom i got q ra

	port_serve=$(scb_free_port)
	start_serve "$port_serve"
	port_prom=$(scb_free_port)
	start_prometheus "$port_prom" "127.0.0.1:$port_serve"

	# Two traced cgroups, each with its own netns, server and clients:
	# connections over and over, and in a one long-lived one that ticks.
	a=$(safename)
	new_target "$a"
	nsa=$NS cga=$CG
	b=$(safename)
	new_target "$b"
	nsb=$NS cgb=$CG
	discard_server "$cga" "$nsa"
	discard_server "$cgb" "$nsb"
	for i in "$cga $nsa" "$cgb $nsb"; do
		# shellcheck disable=SC2086
		bg_in_ns $i sh -c "while :; do head -c 3000 /dev/zero |
			socat -u - TCP:127.0.0.1:$PORT; sleep 0.2; done"
	done
	bg_in_ns "$cga" "$nsa" sh -c "while :; do echo tick; sleep 0.1; done |
		socat -u - TCP:127.0.0.1:$PORT"

	# Prometheus sees both, through serve, which reads the pins per scrape.
	wait_prom "up == 1" 20 eval '[ "$(prom_value "up{job=\"sockops-cb\"}")" = 1 ]'
	for i in "$a" "$b"; do
		wait_prom "target_info of $i" 10 eval \
			"[ \"\$(prom_value 'sockops_cb_target_info{container_name=\"$i\"}')\" = 1 ]"
	done

	# Retransmits in a only: its server's port is dropped for 3 s.
	ip netns exec "$nsa" iptables -w -I INPUT -p tcp --dport "$PORT" -j DROP
	sleep 3
	ip netns exec "$nsa" iptables -w -D INPUT -p tcp --dport "$PORT" -j DROP

	# Prometheus has a's count once a scrape follows the last retransmit.
	retrans_seen "$a"
	[ "$RETRANS" -ge 3 ] || fail "$RETRANS retransmits counted for $a: $STATS"
	ra=$RETRANS
	got=$(prom_value "sockops_cb_rto_total{container_name=\"$a\"}")
	[ -n "$got" ] && [ "$got" -gt 0 ] || fail "prometheus rto of $a: '$got'"

	# b lost nothing (loopback on a busy machine may retransmit now and
	# then, but not as a's dropped seconds did).
	retrans_seen "$b"
	[ "$RETRANS" -lt "$ra" ] || fail "$b has $RETRANS retransmits, $a $ra"
	[ "$(jq .established_active <<<"$STATS")" -gt 10 ] ||
		fail "$b made few connections: $STATS"

	# An RTT quantile over a's buckets: a number of seconds.
	q=$(prom_value "histogram_quantile(0.9, sum by (le) (sockops_cb_rtt_seconds_bucket{container_name=\"$a\"}))")
	echo "# p90 RTT of $a: $q s"
	[[ $q =~ ^[0-9.]+(e-?[0-9]+)?$ ]] || fail "histogram_quantile gave '$q'"
	jq -e -n --argjson q "$q" '$q > 0 and $q < 1' >/dev/null ||
		fail "p90 RTT of $a is $q s"

	# Detached: b's series leave `metrics` and go stale in Prometheus.
	run_scb detach "$b"
	metrics_of "$b"
	[ -z "$SAMPLES" ] || fail "metrics still has $b after detach: $SAMPLES"
	metrics_of "$a" "$BATS_TEST_TMPDIR/metrics.prom"
	[ -n "$SAMPLES" ] || fail "metrics lost $a when $b was detached"
	wait_prom "$b's series go stale" 10 eval \
		"[ \"\$(prom_query '{container_name=\"$b\"}')\" = '[]' ]"
	expect "target_info of $a after detaching $b" \
		"$(prom_value "sockops_cb_target_info{container_name=\"$a\"}")" 1
}

@test "serve: 404 outside /metrics, the same samples as metrics, a clean restart on the same port" {
	local name port before after

	name=$(safename)
	new_target "$name"
	discard_server "$CG" "$NS"
	connect_n "$CG" "$NS" 2 5000
	wait_quiet "$name"

	port=$(scb_free_port)
	start_serve "$port"

	scb_http "http://127.0.0.1:$port/"
	expect "GET /" "$SCB_HTTP_STATUS" "HTTP 404 text/plain"
	scb_http "http://127.0.0.1:$port/metricsx"
	expect "GET /metricsx" "${SCB_HTTP_STATUS%% text*}" "HTTP 404"
	scb_http "http://127.0.0.1:$port/metrics" -X POST
	expect "POST /metrics" "${SCB_HTTP_STATUS%% text*}" "HTTP 405"

	scb_http "http://127.0.0.1:$port/metrics"
	expect "GET /metrics" "$SCB_HTTP_STATUS" \
		"HTTP 200 text/plain; version=0.0.4; charset=utf-8"
	echo "$SCB_HTTP_BODY" >"$BATS_TEST_TMPDIR/scrape1.prom"
	run promtool check metrics <"$BATS_TEST_TMPDIR/scrape1.prom"
	[ "$status" -eq 0 ] || fail "promtool check metrics on a scrape: $output"
	metrics_of "$name" "$BATS_TEST_TMPDIR/scrape1.prom"
	before=$(sort <<<"$SAMPLES")
	metrics_of "$name"
	expect "scrape == metrics for $name" "$(sort <<<"$SAMPLES")" "$before"
	[ "$(wc -l <<<"$before")" -gt 20 ] || fail "few samples for $name: $before"

	# A second serve on the same port fails at once, naming it.
	run timeout 5 "$SCB" serve --listen "127.0.0.1:$port"
	echo "$output"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ] ||
		fail "a second serve on port $port: exit status $status"
	assert_output --partial "127.0.0.1:$port"
	run timeout 5 "$SCB" serve --listen nonsense
	echo "$output"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ] ||
		fail "serve --listen nonsense: exit status $status"
	assert_output --partial "ADDR:PORT"

	# SIGTERM: exits 0 and frees the port; a new one serves the same.
	scb_bg_stop "$SERVE_PID"
	expect "serve's exit status after SIGTERM" "$SCB_BG_RC" 0
	! scb_http "http://127.0.0.1:$port/metrics" ||
		fail "port $port still answers after serve exited: $SCB_HTTP_STATUS"
	start_serve "$port"
	scb_http "http://127.0.0.1:$port/metrics"
	expect "GET /metrics after the restart" "${SCB_HTTP_STATUS%% text*}" "HTTP 200"
	echo "$SCB_HTTP_BODY" >"$BATS_TEST_TMPDIR/scrape2.prom"
	metrics_of "$name" "$BATS_TEST_TMPDIR/scrape2.prom"
	after=$(sort <<<"$SAMPLES")
	expect "samples of $name after the restart" "$after" "$before"
	scb_bg_stop "$SERVE_PID"
	expect "exit status of the restarted serve" "$SCB_BG_RC" 0
}

###############################################################################
# conns

@test "conns: a long-lived connection matches ss -tin in its netns; untraced sockets are not listed" {
	local name cgu ready=$BATS_TEST_TMPDIR/ready sport uport conns ss line

	name=$(safename)
	new_target "$name"
	make_cgroup
	cgu=$SCB_CGROUP

	# The server is untraced: its accepted sockets must not show up.
	bg_in_ns "$cgu" "$NS" socat "TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr" \
		SYSTEM:'head -c 7777 /dev/zero; cat >/dev/null'
	scb_wait_for_port "$SCB_BG_PID" "$PORT" || fail "no server"

	bg_in_ns "$CG" "$NS" python3 -c "$HOLD_CLIENT_PY" "$PORT" 123456 7777 "$ready.traced"
	bg_in_ns "$cgu" "$NS" python3 -c "$HOLD_CLIENT_PY" "$PORT" 4321 7777 "$ready.untraced"
	wait_file "$ready.traced"
	wait_file "$ready.untraced"
	sport=$(cat "$ready.traced")
	uport=$(cat "$ready.untraced")
	sleep 0.5	# delayed ACKs

	run_scb conns "$name" --json
	conns=$output
	expect "connections of $name" "$(jq -s length <<<"$conns")" 1
	ss=$(ip netns exec "$NS" ss -Htin state established "( sport = :$sport )")
	echo "# ss: $ss"
	line=$(head -n1 <<<"$ss")

	# 4-tuple and state.
	expect "saddr:sport" "$(jq -r '"\(.saddr):\(.sport)"' <<<"$conns")" \
		"$(awk '{ print $3 }' <<<"$line")"
	expect "daddr:dport" "$(jq -r '"\(.daddr):\(.dport)"' <<<"$conns")" \
		"$(awk '{ print $4 }' <<<"$line")"
	expect "sport" "$(jq .sport <<<"$conns")" "$sport"
	expect "dport" "$(jq .dport <<<"$conns")" "$PORT"
	expect "family" "$(jq -r .family <<<"$conns")" ipv4
	expect "state" "$(jq -r .state <<<"$conns")" ESTABLISHED
	expect "flags" "$(jq -c .flags <<<"$conns")" '["RTO","RETRANS","STATE","RTT"]'

	# tcp_info as ss prints it: bytes within a byte or two (SYN and FIN
	# take a sequence number each), the rest exactly (the link is idle).
	ss_field() { grep -oE "(^|[[:space:]])$1:[0-9./]+" <<<"$ss" | head -n1 | cut -d: -f2; }
	jq -e -n --argjson c "$conns" --argjson s "$(ss_field bytes_acked)" \
		'($c.bytes_acked - $s) | (. >= -2 and . <= 2)' >/dev/null ||
		fail "bytes_acked: conns $(jq .bytes_acked <<<"$conns"), ss $(ss_field bytes_acked)"
	jq -e -n --argjson c "$conns" '$c.bytes_acked >= 123456 and $c.bytes_acked <= 123458' \
		>/dev/null || fail "bytes_acked $(jq .bytes_acked <<<"$conns") for 123456 bytes sent"
	jq -e -n --argjson c "$conns" --argjson s "$(ss_field bytes_received)" \
		'($c.bytes_received - $s) | (. >= -2 and . <= 2)' >/dev/null ||
		fail "bytes_received: conns $(jq .bytes_received <<<"$conns"), ss $(ss_field bytes_received)"
	expect "bytes_received" "$(jq .bytes_received <<<"$conns")" 7777
	expect "segs_out" "$(jq .segs_out <<<"$conns")" "$(ss_field segs_out)"
	expect "segs_in" "$(jq .segs_in <<<"$conns")" "$(ss_field segs_in)"
	expect "cwnd" "$(jq .cwnd <<<"$conns")" "$(ss_field cwnd)"
	expect "srtt_us/rttvar_us (ss rtt: ms)" \
		"$(jq -r '"\(.srtt_us)/\(.rttvar_us)"' <<<"$conns")" \
		"$(ss_field rtt | awk -F/ '{ printf "%d/%d", $1 * 1000 + 0.5, $2 * 1000 + 0.5 }')"
	expect "min_rtt_us (ss minrtt: ms)" "$(jq .min_rtt_us <<<"$conns")" \
		"$(ss_field minrtt | awk '{ printf "%d", $1 * 1000 + 0.5 }')"
	# ss: retrans:<unrecovered>/<total> (absent when none); loopback on a
	# busy machine does see the odd spurious retransmit.
	expect "retrans (ss total_retrans)" "$(jq .retrans <<<"$conns")" \
		"$(ss_field retrans | awk -F/ '{ n = $2 } END { print n + 0 }')"
	# A cgroup target keeps no per-connection record: no age, and the
	# text column says so.
	jq -e 'has("age_s") | not' <<<"$conns" >/dev/null ||
		fail "age_s for a cgroup target: $(jq .age_s <<<"$conns")"

	# The untraced client and the server side appear nowhere.
	run_scb conns --wide "$name"
	assert_line --regexp "^ESTABLISHED +127\.0\.0\.1:$sport +127\.0\.0\.1:$PORT .* - +\\? +RTO,RETRANS,STATE,RTT$"
	refute_output --partial ":$uport"
	expect "text lines (header + 1)" "${#lines[@]}" 2
	# The default table: 80 columns.
	run_scb conns "$name"
	assert_line --regexp "^ESTABLISHED +127\.0\.0\.1:$sport +127\.0\.0\.1:$PORT +[0-9]+ +[0-9]+ +[0-9.]+[KMG]?$"
	for line in "${lines[@]}"; do
		[ "${#line}" -le 80 ] || fail "a line of conns is ${#line} columns: $line"
	done
	run_scb '?' conns "nosuch-$(random_string 8)"
	[ "$status" -ne 0 ] || fail "conns of an unknown target succeeded"
}

###############################################################################
# trace CLOSE

# traced_with_count_server NAME: target NAME (new_target) and, in an
# untraced cgroup of the same netns, a server on 127.0.0.1:$PORT that
# answers each connection with its byte count.
traced_with_count_server()
{
	new_target "$1"
	make_cgroup
	bg_in_ns "$SCB_CGROUP" "$NS" socat "TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr" \
		SYSTEM:'wc -c'
	scb_wait_for_port "$SCB_BG_PID" "$PORT" || fail "no server"
}

@test "trace: a CLOSE summary per closed connection with its bytes; stats closed moves by as many" {
	local name trace=$BATS_TEST_TMPDIR/trace.json closed0 retrans0 out c ev n

	name=$(safename)
	traced_with_count_server "$name"

	stats_json "$name"
	closed0=$(jq .closed <<<"$STATS")
	retrans0=$(jq .retrans <<<"$STATS")
	start_trace "$trace" "$name"
	out=$(in_ns "$CG" "$NS" python3 -c "$CLOSE_CLIENT_PY" "$PORT" 1000 65536 300000) ||
		fail "client failed: $out"
	echo "# clients: $out"
	wait_quiet "$name"
	stop_trace

	stats_json "$name"
	expect "stats closed moved by" "$(jq ".closed - $closed0" <<<"$STATS")" 3
	expect "CLOSE events of $name" "$(jq -s --arg n "$name" \
		'[.[] | select(.name == $n and .event == "CLOSE")] | length' "$trace")" 3
	# Loopback on a busy machine may retransmit now and then: the CLOSE
	# summaries account for every retransmit stats counted.
	expect "retransmits in the CLOSE summaries" "$(jq -s --arg n "$name" \
		'[.[] | select(.name == $n and .event == "CLOSE") | .retransmits] | add' "$trace")" \
		"$(jq ".retrans - $retrans0" <<<"$STATS")"

	while read -r c; do
		expect "server's reply" "$(jq -r .reply <<<"$c")" "$(jq .sent <<<"$c")"
		n=$(jq .sport <<<"$c")
		ev=$(jq -c --arg n "$name" --argjson p "$n" \
			'select(.name == $n and .event == "CLOSE" and .sport == $p)' "$trace")
		[ "$(wc -l <<<"$ev")" -eq 1 ] && [ -n "$ev" ] ||
			fail "expected one CLOSE for port $n, got: $ev"
		echo "# CLOSE: $ev"
		expect "4-tuple of the CLOSE of $n" \
			"$(jq -r '"\(.family) \(.saddr) \(.daddr):\(.dport)"' <<<"$ev")" \
			"ipv4 127.0.0.1 127.0.0.1:$PORT"
		# The kernel counts SYN and FIN in bytes_acked and FIN in
		# bytes_received (as ss does): allow 2 bytes over the data.
		jq -e -n --argjson e "$ev" --argjson c "$c" '
			$e.bytes_acked >= $c.sent and $e.bytes_acked <= $c.sent + 2 and
			$e.bytes_received >= $c.received and
			$e.bytes_received <= $c.received + 2 and
			$e.srtt_us > 0 and
			$e.duration_ms >= 0 and $e.duration_ms < 10000' >/dev/null ||
			fail "CLOSE of port $n does not match the client ($c): $ev"
		expect "retransmitted segments of port $n: RETRANS events" \
			"$(jq .retransmits <<<"$ev")" \
			"$(jq -s --argjson ck "$(jq .cookie <<<"$ev")" \
			'[.[] | select(.cookie == $ck and .event == "RETRANS") | .segs] | add // 0' \
			"$trace")"
		# Reported once the socket reached CLOSE.
		jq -e -s --argjson ck "$(jq .cookie <<<"$ev")" \
			'any(.[]; .cookie == $ck and .event == "STATE" and .new_state == "CLOSE")' \
			"$trace" >/dev/null || fail "no STATE ... -> CLOSE before the CLOSE of port $n"
	done <<<"$out"
}

@test "trace --events: only the types asked for; CLOSE still timed; counters unaffected; a bad type is refused" {
	local name trace=$BATS_TEST_TMPDIR/trace.json rtt0 out

	name=$(safename)
	traced_with_count_server "$name"

	stats_json "$name"
	rtt0=$(jq .rtt_samples <<<"$STATS")
	start_trace "$trace" "$name" --events state+close
	out=$(in_ns "$CG" "$NS" python3 -c "$CLOSE_CLIENT_PY" "$PORT" 1000 65536) ||
		fail "client failed: $out"
	wait_quiet "$name"
	stop_trace

	expect "event types" "$(jq -r .event "$trace" | sort -u | tr '\n' ' ')" "CLOSE STATE "
	expect "CLOSE events" "$(jq -s '[.[] | select(.event == "CLOSE")] | length' "$trace")" 2
	# Timed from the connection's start, which the reader saw but did not print.
	jq -e -s 'all(.[] | select(.event == "CLOSE"); .duration_ms >= 0 and .duration_ms < 10000)' \
		"$trace" >/dev/null || fail "a CLOSE without a duration: $(grep CLOSE "$trace")"
	stats_json "$name"
	[ "$(jq ".rtt_samples - $rtt0" <<<"$STATS")" -gt 0 ] ||
		fail "no RTT sample counted while RTT events were off: $STATS"

	run_scb '?' trace --events STATE,NOPE
	[ "$status" -ne 0 ] || fail "an unknown event type was accepted"
	assert_output --partial 'unknown event type "NOPE"'
}

###############################################################################
# stats --plot

@test "stats --plot: an SVG and a PNG; a bad extension and a missing CONTAINER fail" {
	local name svg=$BATS_TEST_TMPDIR/rtt.svg png=$BATS_TEST_TMPDIR/rtt.png

	name=$(safename)
	new_target "$name"
	discard_server "$CG" "$NS"
	connect_n "$CG" "$NS" 3 4000

	run_scb stats "$name" --plot "$svg" --interval 0.2 --count 3
	assert_output --partial "wrote $svg"
	run xmllint --noout "$svg"
	[ "$status" -eq 0 ] || fail "xmllint: $output"
	run python3 -c 'import sys, xml.etree.ElementTree as ET
print(ET.parse(sys.argv[1]).getroot().tag)' "$svg"
	expect "SVG root element" "$output" "{http://www.w3.org/2000/svg}svg"
	grep -q RTT "$svg" || fail "no RTT in $svg"
	grep -q "$name" "$svg" || fail "the target's name is not in $svg"

	run_scb stats "$name" --plot "$png" --interval 0.2 --count 2
	expect "PNG signature" "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" \
		89504e470d0a1a0a
	expect "PNG IHDR size" "$(python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read(24)
print("%dx%d" % struct.unpack(">II", d[16:24]))' "$png")" 1000x700

	run_scb '?' stats "$name" --plot "$BATS_TEST_TMPDIR/rtt.txt" --count 1
	[ "$status" -ne 0 ] || fail "--plot rtt.txt succeeded"
	assert_output --partial ".svg"
	assert_file_not_exists "$BATS_TEST_TMPDIR/rtt.txt"

	run_scb '?' stats --plot "$BATS_TEST_TMPDIR/all.svg" --count 1
	[ "$status" -ne 0 ] || fail "--plot without CONTAINER succeeded"
	assert_output --partial "CONTAINER"
	assert_file_not_exists "$BATS_TEST_TMPDIR/all.svg"

	run_scb '?' stats "nosuch-$(random_string 8)" --plot "$BATS_TEST_TMPDIR/x.svg" --count 1
	[ "$status" -ne 0 ] || fail "--plot of an unknown target succeeded"
	assert_file_not_exists "$BATS_TEST_TMPDIR/x.svg"
}

###############################################################################
# examples/kubernetes and every other example

# yaml_docs: every YAML document under examples/ as one JSON line
# {"file": relative path, "kind": ..., "doc": {...}}; fails on a parse error.
yaml_docs()
{
	(cd "$SCB_REPO" && find examples -name '*.yaml' -o -name '*.yml') | sort |
		(cd "$SCB_REPO" && xargs python3 -c '
import json, sys, yaml
for f in sys.argv[1:]:
    try:
        docs = [d for d in yaml.safe_load_all(open(f)) if d is not None]
    except yaml.YAMLError as e:
        sys.exit("%s: %s" % (f, e))
    if not docs:
        sys.exit("%s: no YAML document" % f)
    for d in docs:
        print(json.dumps({"file": f, "kind": d.get("kind") if isinstance(d, dict) else None, "doc": d}))
')
}

# cni_entry_from_configmap: the ConfigMap's cni-entry.json (daemonset.yaml).
cni_entry_from_configmap()
{
	python3 -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap" and "cni-entry.json" in d.get("data", {}):
        print(d["data"]["cni-entry.json"])' "$K8S/daemonset.yaml"
}

@test "examples: every YAML parses; the DaemonSet, Service, ServiceMonitor, Pods and scrape config fit together" {
	local docs

	docs=$(yaml_docs) || fail "a YAML example does not parse: $docs"
	echo "$docs" | jq -r '"# \(.file): \(.kind)"'

	run python3 -c '
import json, sys
docs = [json.loads(l) for l in sys.stdin]
k8s = [d for d in docs if d["file"].startswith("examples/kubernetes/")]
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
def one(kind):
    found = [d["doc"] for d in k8s if d["kind"] == kind]
    check(len(found) >= 1, "no %s in examples/kubernetes" % kind)
    return found[0] if found else {}
for kind in ("Namespace", "ConfigMap", "DaemonSet", "Service", "ServiceMonitor", "Pod"):
    one(kind)

ds = one("DaemonSet")
check(ds.get("apiVersion") == "apps/v1", "DaemonSet apiVersion apps/v1")
ns = ds.get("metadata", {}).get("namespace")
tmpl = ds.get("spec", {}).get("template", {})
spec = tmpl.get("spec", {})
labels = tmpl.get("metadata", {}).get("labels", {})
sel = ds.get("spec", {}).get("selector", {}).get("matchLabels", {})
check(sel and all(labels.get(k) == v for k, v in sel.items()),
      "DaemonSet selector %s matches its pod labels %s" % (sel, labels))
check(spec.get("hostNetwork") is True, "DaemonSet hostNetwork: true")
vols = {v["name"]: v for v in spec.get("volumes", [])}
def host_path(mount):
    return vols.get(mount["name"], {}).get("hostPath", {}).get("path")
for c in spec.get("initContainers", []) + spec.get("containers", []):
    for m in c.get("volumeMounts", []):
        check(m["name"] in vols, "volume %s of %s exists" % (m["name"], c["name"]))
serve = [c for c in spec.get("containers", [])
         if "serve" in c.get("command", []) + c.get("args", [])]
check(len(serve) == 1, "one container runs serve")
if serve:
    c = serve[0]
    argv = c.get("command", []) + c.get("args", [])
    check(argv[-3:] == ["serve", "--listen", "0.0.0.0:9464"],
          "serve --listen 0.0.0.0:9464 (argv %s)" % argv)
    check(c.get("securityContext", {}).get("privileged") is True, "serve is privileged")
    check(any(p.get("containerPort") == 9464 and p.get("name") == "metrics"
              for p in c.get("ports", [])), "port 9464 named metrics")
    mounts = {m["mountPath"]: host_path(m) for m in c.get("volumeMounts", [])}
    check(mounts.get("/sys/fs/bpf") == "/sys/fs/bpf", "serve mounts the host /sys/fs/bpf")
    check(mounts.get("/sys/fs/cgroup") == "/sys/fs/cgroup", "serve mounts the host /sys/fs/cgroup")
    bpf = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/sys/fs/bpf"]
    check(bpf and bpf[0].get("mountPropagation") == "Bidirectional",
          "/sys/fs/bpf is mounted Bidirectional")
inits = spec.get("initContainers", [])
check(len(inits) == 1, "one init container")
if inits:
    i = inits[0]
    check(any("install-cni.sh" in a for a in i.get("command", []) + i.get("args", [])),
          "the init container runs install-cni.sh")
    paths = {host_path(m) for m in i.get("volumeMounts", [])}
    for p in ("/opt/cni/bin", "/etc/cni/net.d"):
        check(p in paths, "the init container mounts the host %s" % p)
    if serve:
        check(i.get("image") == serve[0].get("image"), "init and serve use one image")

svc = next((d["doc"] for d in k8s if d["kind"] == "Service" and
            d["doc"].get("metadata", {}).get("namespace") == ns), {})
check(svc, "a Service in the DaemonSet namespace %s" % ns)
ssel = svc.get("spec", {}).get("selector", {})
check(ssel and all(labels.get(k) == v for k, v in ssel.items()),
      "Service selector %s picks the DaemonSet pods" % ssel)
ports = svc.get("spec", {}).get("ports", [])
check(any(p.get("name") == "metrics" and p.get("port") == 9464 for p in ports),
      "Service port metrics 9464")

sm = one("ServiceMonitor")
check(sm.get("apiVersion") == "monitoring.coreos.com/v1", "ServiceMonitor apiVersion")
msel = sm.get("spec", {}).get("selector", {}).get("matchLabels", {})
slabels = svc.get("metadata", {}).get("labels", {})
check(msel and all(slabels.get(k) == v for k, v in msel.items()),
      "ServiceMonitor selector %s matches the Service labels %s" % (msel, slabels))
check(ns in sm.get("spec", {}).get("namespaceSelector", {}).get("matchNames", []) or
      sm.get("metadata", {}).get("namespace") == ns,
      "the ServiceMonitor looks in the namespace %s" % ns)
eps = sm.get("spec", {}).get("endpoints", [])
check(eps and all(e.get("port") == "metrics" and e.get("path", "/metrics") == "/metrics"
                  for e in eps), "ServiceMonitor endpoints scrape port metrics at /metrics")

cms = [d["doc"] for d in k8s if d["kind"] == "ConfigMap"]
entry = {}
for cm in cms:
    if "cni-entry.json" in cm.get("data", {}):
        entry = json.loads(cm["data"]["cni-entry.json"])
check(entry.get("type") == "sockops-cb", "the ConfigMap holds a sockops-cb CNI entry")
sets = entry.get("flagSets", {})
pods = [d for d in docs if d["kind"] == "Pod"]
annotated = 0
for p in pods:
    ann = p["doc"].get("metadata", {}).get("annotations", {}) or {}
    if "sockops-cb.io/flag-set" in ann:
        annotated += 1
        check(ann["sockops-cb.io/flag-set"] in sets,
              "%s: flag set %s is defined" % (p["file"], ann["sockops-cb.io/flag-set"]))
check(any(d["file"].startswith("examples/kubernetes/") and
          (d["doc"]["metadata"].get("annotations") or {}).get("sockops-cb.io/flag-set") == "full"
          for d in pods), "an example pod in examples/kubernetes asks for flag-set full")

scrape = [d["doc"] for d in k8s if isinstance(d["doc"], dict) and "scrape_configs" in d["doc"]]
check(len(scrape) == 1, "one Prometheus scrape config snippet")
if scrape:
    jobs = scrape[0]["scrape_configs"]
    check(any(j.get("job_name") == "sockops-cb" and j.get("kubernetes_sd_configs")
              for j in jobs), "a sockops-cb job with kubernetes_sd_configs")
for e in errors:
    print("FAIL: " + e)
sys.exit(1 if errors else 0)
' <<<"$docs"
	[ "$status" -eq 0 ] || fail "$output"

	# promtool on the scrape snippet.  Debian builds Prometheus without
	# Kubernetes service discovery, so it checks a copy whose
	# kubernetes_sd_configs became static_configs; the rest is as shipped.
	python3 -c 'import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for j in c["scrape_configs"]:
    j.pop("kubernetes_sd_configs")
    j["static_configs"] = [{"targets": ["127.0.0.1:9464"]}]
print(yaml.safe_dump(c))' "$K8S/prometheus-scrape.yaml" >"$BATS_TEST_TMPDIR/scrape.yml"
	run promtool check config "$BATS_TEST_TMPDIR/scrape.yml"
	[ "$status" -eq 0 ] || fail "promtool check config: $output"
}

# hook_try CONFIG WHAT: drive `hook createRuntime --config CONFIG` for a
# sleeping process in a throwaway cgroup, the way a runtime would, then
# poststop; both must exit 0, and list must show the target in between.
# The annotation picks defaultFlagSet when set, else "full" or the first set.
hook_try()
{
	local config=$1 what=$2 set ann id state=$BATS_TEST_TMPDIR/state.json entry

	set=$(jq -r 'if .defaultFlagSet then "" elif (.flagSets | has("full")) then "full"
		     else (.flagSets | keys | first) end' "$config")
	ann='{}'
	[ -z "$set" ] || ann=$(jq -nc --arg s "$set" '{"sockops-cb.io/flag-set": $s}')
	make_cgroup
	start_in_cgroup "$SCB_CGROUP" sleep 600
	id=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
	HOOK_IDS+=("$id")

	scb_oci_state "$id" "$SCB_BG_PID" "$ann" >"$state"
	run_hook 0 createRuntime "$config" "$state"
	entry=$(scb_target_json "$id")
	[ -n "$entry" ] || fail "$what: createRuntime attached nothing"
	expect "$what: cgroup" "$(jq -r .cgroup <<<"$entry")" \
		"${SCB_CGROUP#"$(cgroup2_mount)"}"
	expect "$what: flag_set" "$(jq -r .flag_set <<<"$entry")" \
		"$(jq -r --arg s "$set" 'if $s == "" then .defaultFlagSet else $s end' "$config")"
	scb_oci_state "$id" 0 "$ann" stopped >"$state"
	run_hook 0 poststop "$config" "$state"
	assert_no_target "$id"
}

@test "examples: every JSON parses, and each conflist's sockops-cb entry and config.json work as the hook's --config" {
	local f n entry supported

	supported=$(env -i CNI_COMMAND=VERSION "$SCB" </dev/null | jq -c .supportedVersions)
	n=0
	while read -r f; do
		run jq empty "$f"
		[ "$status" -eq 0 ] || fail "$f is not JSON: $output"
		n=$((n + 1))
		case "$f" in
		*.conflist)
			run jq -c --argjson v "$supported" '
				[(.plugins | type == "array"),
				 ([.plugins[] | select(.type == "sockops-cb")] | length == 1),
				 (.plugins[0].type != "sockops-cb"),
				 (.plugins[-1].type == "sockops-cb"),
				 (.cniVersion as $c | $v | index($c) != null)]' "$f"
			expect "$f: plugins, one sockops-cb entry chained last, supported cniVersion" \
				"$output" "[true,true,true,true,true]"
			entry=$BATS_TEST_TMPDIR/$(basename "$f").entry.json
			jq '.plugins[] | select(.type == "sockops-cb")' "$f" >"$entry"
			hook_try "$entry" "$f"
			;;
		*config.json)
			hook_try "$f" "$f"
			;;
		esac
	done < <(find "$SCB_REPO/examples" -name '*.json' -o -name '*.conflist' | sort)
	[ "$n" -ge 4 ] || fail "only $n JSON examples found"

	# The ConfigMap's entry (JSON inside YAML) too.
	cni_entry_from_configmap >"$BATS_TEST_TMPDIR/configmap-entry.json"
	run jq -e '.type == "sockops-cb"' "$BATS_TEST_TMPDIR/configmap-entry.json"
	[ "$status" -eq 0 ] || fail "the ConfigMap's cni-entry.json: $output"
	hook_try "$BATS_TEST_TMPDIR/configmap-entry.json" "ConfigMap cni-entry.json"
}

@test "install-cni.sh: installs a self-contained plugin, chains the entry once, refuses an unsupported cniVersion, unchains" {
	local host=$BATS_TEST_TMPDIR/host net bin wrapper conf sum other
	local env

	net=$host/etc/cni/net.d
	bin=$host/opt/cni/bin
	mkdir -p "$net"
	# The node's pod network: the containerd example without our entry,
	# and a later conflist the runtime ignores.
	jq '.plugins |= map(select(.type != "sockops-cb"))' \
		"$SCB_REPO/examples/containerd/10-sockops-cb.conflist" >"$net/10-pods.conflist"
	echo '{"cniVersion":"1.0.0","name":"other","plugins":[{"type":"loopback"}]}' \
		>"$net/20-other.conflist"
	other=$(cksum <"$net/20-other.conflist")
	cni_entry_from_configmap >"$BATS_TEST_TMPDIR/entry.json"
	env=(HOST_ROOT= SCB_HOST_DIR="$host/opt/sockops-cb" CNI_BIN_DIR="$bin"
	     CNI_NET_DIR="$net" SCB_BIN="$SCB" SCB_ENTRY="$BATS_TEST_TMPDIR/entry.json"
	     CONF_WAIT_SECONDS=0)

	run env "${env[@]}" sh "$K8S/install-cni.sh"
	[ "$status" -eq 0 ] || fail "install-cni.sh: $output"
	wrapper=$bin/sockops-cb
	assert_file_executable "$wrapper"
	conf=$net/10-pods.conflist
	expect "plugins" "$(jq -c '[.plugins[].type]' "$conf")" '["bridge","portmap","sockops-cb"]'
	expect "the chained entry is the ConfigMap's" "$(jq -S -c '.plugins[-1]' "$conf")" \
		"$(jq -S -c . "$BATS_TEST_TMPDIR/entry.json")"
	expect "the other conflist" "$(cksum <"$net/20-other.conflist")" "$other"

	# The wrapper runs the copy with its own loader and libraries only.
	run env -i "$wrapper" --version
	expect "wrapper --version" "$output" "$("$SCB" --version)"
	run env -i CNI_COMMAND=VERSION "$wrapper"
	expect "wrapper CNI VERSION" "$(jq -c .supportedVersions <<<"$output")" \
		"$(env -i CNI_COMMAND=VERSION "$SCB" | jq -c .supportedVersions)"
	run bash -c "ld=\$(ls $host/opt/sockops-cb/lib/ld-*); \$ld --library-path $host/opt/sockops-cb/lib --list $host/opt/sockops-cb/bin/sockops-cb"
	[ "$status" -eq 0 ] || fail "ld.so --list: $output"
	refute_output --regexp "=> (/lib|/usr)"
	refute_output --partial "not found"

	# The patched conflist's entry, through the wrapper, as the hook's config.
	jq '.plugins[-1]' "$conf" >"$BATS_TEST_TMPDIR/patched-entry.json"
	SCB=$wrapper hook_try "$BATS_TEST_TMPDIR/patched-entry.json" "installed entry via the wrapper"

	# Again: nothing changes.
	sum=$(cksum <"$conf")
	run env "${env[@]}" sh "$K8S/install-cni.sh"
	[ "$status" -eq 0 ] || fail "install-cni.sh, second run: $output"
	assert_output --partial "up to date"
	expect "conflist after a second run" "$(cksum <"$conf")" "$sum"

	# A cniVersion sockops-cb cannot speak: refused, the conflist untouched.
	jq '.cniVersion = "0.2.0" | .plugins |= map(select(.type != "sockops-cb"))' "$conf" \
		>"$conf.new" && mv "$conf.new" "$conf"
	sum=$(cksum <"$conf")
	run env "${env[@]}" sh "$K8S/install-cni.sh"
	[ "$status" -ne 0 ] || fail "install-cni.sh chained into a 0.2.0 conflist"
	assert_output --partial '"0.2.0"'
	expect "0.2.0 conflist" "$(cksum <"$conf")" "$sum"

	# A single-plugin .conf becomes a conflist.
	rm "$conf"
	echo '{"cniVersion":"1.0.0","name":"single","type":"bridge","bridge":"cni9"}' \
		>"$net/05-single.conf"
	run env "${env[@]}" sh "$K8S/install-cni.sh"
	[ "$status" -eq 0 ] || fail "install-cni.sh on a .conf: $output"
	assert_file_not_exists "$net/05-single.conf"
	expect "converted conflist" \
		"$(jq -c '[.cniVersion, .name, [.plugins[].type], .plugins[0].bridge]' "$net/05-single.conflist")" \
		'["1.0.0","single",["bridge","sockops-cb"],"cni9"]'

	run env "${env[@]}" sh "$K8S/install-cni.sh" --uninstall
	[ "$status" -eq 0 ] || fail "install-cni.sh --uninstall: $output"
	expect "plugins after --uninstall" "$(jq -c '[.plugins[].type]' "$net/05-single.conflist")" \
		'["bridge"]'
	# Kept: pods started with the entry still get their CNI DEL.
	assert_file_executable "$wrapper"
}

@test "examples/kubernetes/Dockerfile: its COPY sources exist, its runtime packages cover the binary's libraries" {
	local df=$K8S/Dockerfile src lib pkg

	assert_file_exists "$df"
	# COPY without --from: paths relative to the repository (the context).
	while read -r src; do
		[ -e "$SCB_REPO/$src" ] || fail "Dockerfile: COPY $src: no such file in the repository"
	done < <(awk '$1 == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) print $i }' "$df")

	# The last stage installs the package of every library the binary
	# links directly (libc6 comes with the base image).
	for lib in $(readelf -d "$SCB" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		pkg=$(dpkg -S "*/$lib" 2>/dev/null | head -n1 | cut -d: -f1)
		[ -n "$pkg" ] || fail "no Debian package ships $lib"
		[ "$pkg" = libc6 ] && continue
		sed -n '/^FROM .*slim/,$p' "$df" | grep -qw -- "$pkg" ||
			fail "Dockerfile: the runtime stage does not install $pkg (for $lib)"
	done

	# The paths the DaemonSet runs are the ones the image has.
	grep -q '^COPY --from=build /src/sockops-cb /sockops-cb$' "$df" ||
		fail "Dockerfile does not put the binary at /sockops-cb"
	grep -q '^COPY examples/kubernetes/install-cni.sh /install-cni.sh$' "$df" ||
		fail "Dockerfile does not put install-cni.sh at /install-cni.sh"
	grep -q 'command: \["/sockops-cb"\]' "$K8S/daemonset.yaml" ||
		fail "daemonset.yaml does not run /sockops-cb"
	grep -q 'command: \["sh", "/install-cni.sh"\]' "$K8S/daemonset.yaml" ||
		fail "daemonset.yaml does not run /install-cni.sh"
	run sh -n "$K8S/install-cni.sh"
	[ "$status" -eq 0 ] || fail "install-cni.sh: $output"
}
