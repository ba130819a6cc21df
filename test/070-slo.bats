#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Per-pod TCP SLOs as an SRE wires them: the alert rules under promtool's
# unit tests, every query of the Grafana dashboard against the real
# Prometheus scraping `serve` while traced pods make traffic that fails in
# every way the panels show, and the RTT percentiles of `stats` and of
# histogram_quantile within their documented bounds of the exact
# percentiles of the same RTT values (trace's RTT events).
#
# Two network namespaces of the test's own joined by a veth pair, the
# client's processes in one traced cgroup, the server's in another.

bats_require_minimum_version 1.5.0

load helpers

PORT=5001
CLOSED=5002
BLACKHOLE=5003
SRV4=10.254.0.2	# scb_two_hosts
SRV6=fd00:fe::2
TCPLOAD=$BATS_TEST_DIRNAME/oracle/tcpload.py
PROMDIR=$SCB_REPO/examples/prometheus
DASHBOARD=$SCB_REPO/examples/grafana/sockops-cb.json

setup()
{
	basic_setup
	SCB_BG_PIDS=()
}

teardown()
{
	scb_trace_stop
	scb_bg_stop_all
	scb_teardown
}

# two_hosts: $NS_C and $NS_S joined by a veth pair; $CLI and $SRV traced
# with FLAGS in $CG_C and $CG_S.
two_hosts()
{
	skip_if_rootless
	scb_require_binary
	scb_two_hosts
	CLI=cli-$(random_string 6)
	SRV=srv-$(random_string 6)
	make_cgroup
	CG_C=$SCB_CGROUP
	scb_track_attach "$CLI"
	run_scb attach --cgroup "${CG_C#"$(cgroup2_mount)"}" --name "$CLI" --flags "$1"
	make_cgroup
	CG_S=$SCB_CGROUP
	scb_track_attach "$SRV"
	run_scb attach --cgroup "${CG_S#"$(cgroup2_mount)"}" --name "$SRV" --flags "$1"
}

# server_and_scraper MODE: tcpload.py's MODE server on $PORT in $NS_S
# ($CG_S), `serve` on a free port and a Prometheus scraping it ($PROM).
server_and_scraper()
{
	local port_serve port_prom

	bg_in_ns "$CG_S" "$NS_S" python3 "$TCPLOAD" "$1" "$PORT"
	scb_wait_listen "$NS_S" "$PORT"
	port_serve=$(scb_free_port)
	start_serve "$port_serve"
	port_prom=$(scb_free_port)
	start_prometheus "$port_prom" "127.0.0.1:$port_serve"
}

# bulk SECONDS: the client sends to the sink server for SECONDS over IPv4
# and IPv6 (timeout ends it).
bulk()
{
	local host

	for host in "$SRV4" "$SRV6"; do
		in_ns "$CG_C" "$NS_C" timeout "$1" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = bytes(1 << 16)
while True:
    s.sendall(buf)' "$host" "$PORT" || true
	done
}

# rr_load N GAP_MS: N request/answer exchanges on one connection, then close.
rr_load()
{
	local out=$BATS_TEST_TMPDIR/rr.$RANDOM

	touch "$out.done"
	in_ns "$CG_C" "$NS_C" python3 "$TCPLOAD" rr "$SRV4" "$PORT" "$1" "$2" "$out" ||
		fail "rr traffic failed"
}

# prom_nonempty EXPR: the instant query EXPR returns a series.
prom_nonempty()
{
	[ -n "$(prom_value "$1")" ]
}

# dashboard_queries: every PromQL of the dashboard, one a line: panel
# targets, then the variables' label_values() as the series they read.
dashboard_queries()
{
	jq -r '.panels[].targets[].expr,
	       (.templating.list[] | select(.type == "query") | .query.query |
		capture("label_values\\((?<s>.*), *[a-z_]+\\)").s)' "$DASHBOARD"
}

@test "alert rules: promtool loads them, every rule fires on the pod that should page and not on its neighbour, and the PrometheusRule holds the same groups" {
	run promtool check rules "$PROMDIR/rules.yaml"
	assert_success
	assert_output --partial "SUCCESS: 7 rules found"
	run promtool test rules "$PROMDIR/rules.test.yaml"
	assert_success
	assert_output --partial SUCCESS
	# Every alert has a firing and a silent case in the tests.
	run python3 -c '
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
op = yaml.safe_load(open(sys.argv[3]))
alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
fire, quiet = set(), set()
for t in tests["tests"]:
    for a in t["alert_rule_test"]:
        (fire if a.get("exp_alerts") else quiet).add(a["alertname"])
print("untested firing:", sorted(alerts - fire), "untested silent:", sorted(alerts - quiet))
print("operator groups equal:", op["kind"] == "PrometheusRule" and op["spec"]["groups"] == rules["groups"])
' "$PROMDIR/rules.yaml" "$PROMDIR/rules.test.yaml" "$PROMDIR/prometheusrule.yaml"
	assert_output "untested firing: [] untested silent: []
operator groups equal: True"
}

@test "grafana dashboard: every panel's query and variable, run on the real Prometheus scraping serve during failing traffic, parses and returns series" {
	local made q r empty=() n=0

	two_hosts STATE,RTT,RTO,RETRANS
	server_and_scraper sink

	# Loss for retransmits, a blackout for RTOs, then refused, timed-out
	# and reset connections (the abort server on another port).
	ip netns exec "$NS_S" iptables -w -A INPUT -p tcp --dport "$PORT" \
		-m statistic --mode random --probability 0.03 -j DROP
	ip netns exec "$NS_S" ip6tables -w -A INPUT -p tcp --dport "$PORT" \
		-m statistic --mode random --probability 0.03 -j DROP
	bulk 2
	ip netns exec "$NS_S" iptables -w -I INPUT -p tcp --dport "$PORT" -j DROP
	in_ns "$CG_C" "$NS_C" timeout 3 python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
while True:
    s.send(b"x" * 100)
    time.sleep(0.1)' "$SRV4" "$PORT" &
	sleep 1.5
	ip netns exec "$NS_S" iptables -w -D INPUT -p tcp --dport "$PORT" -j DROP
	wait $! || true
	ip netns exec "$NS_S" iptables -w -A INPUT -p tcp --dport "$BLACKHOLE" -j DROP
	ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_syn_retries=1
	bg_in_ns "$CG_S" "$NS_S" python3 "$TCPLOAD" abort 5004
	scb_wait_listen "$NS_S" 5004
	made=$(in_ns "$CG_C" "$NS_C" python3 "$TCPLOAD" fail "$SRV4" "$SRV6" 5004 5 \
		"$CLOSED" "$BLACKHOLE" 2)
	assert_equal "$made" "reset 10 refused 10 timedout 2"
	stats_json "$CLI"
	jq -e '.retrans > 0 and .rto > 0 and .connect_refused > 0 and .connect_timeout > 0 and
	       .reset_received > 0 and .segs_out_closed > 0 and .rtt_samples > 0' <<<"$STATS" >/dev/null ||
		fail "the traffic did not make every kind of event: $STATS"

	# Prometheus has the client's failures once a scrape after them is in.
	wait_until 30 prom_nonempty "sum(sockops_cb_connect_failures_total{container_name=\"$CLI\",reason=\"timeout\"}) > 0"
	sleep 3	# rates need two samples after the last change
	while read -r q; do
		n=$((n + 1))
		q=${q//\$__rate_interval/1m}
		q=${q//\$namespace/.*}
		q=${q//\$pod/.*}
		r=$(prom_query "$q")
		echo "# $(jq length <<<"$r") series: $q"
		[ "$(jq length <<<"$r")" -gt 0 ] || empty+=("$q")
	done < <(dashboard_queries)
	[ "$n" -ge 14 ] || fail "only $n queries found in $DASHBOARD"
	[ "${#empty[@]}" -eq 0 ] || fail "queries with no series: ${empty[*]}"
	# The panels that need the failing traffic see the client's.
	r=$(prom_query "sum by (reason) (sockops_cb_connect_failures_total{container_name=\"$CLI\"})")
	jq -e 'map({(.metric.reason): (.value[1] | tonumber)}) | add |
	       .refused == 10 and .timeout == 2' <<<"$r" >/dev/null ||
		fail "connect failures by reason in Prometheus: $r"
}

@test "RTT percentiles: stats within 12.5% and histogram_quantile through Prometheus within 25% of the exact p50 and p99 of the same RTT values; the maximum exact" {
	local trace=$BATS_TEST_TMPDIR/trace.json exact q stats prom

	two_hosts STATE,RTT
	server_and_scraper serve

	# Every RTT value of the client, as trace sees it: the truth.
	scb_trace_start "$trace" "$CLI" --events RTT
	# A spread of RTTs: request/answer at several paces, bulk with loss.
	rr_load 200 0
	rr_load 100 5
	ip netns exec "$NS_S" iptables -w -A INPUT -p tcp --dport "$PORT" \
		-m statistic --mode random --probability 0.02 -j DROP
	bulk 1
	ip netns exec "$NS_S" iptables -w -D INPUT -p tcp --dport "$PORT" \
		-m statistic --mode random --probability 0.02 -j DROP
	rr_load 100 1
	sleep 0.5
	kill -INT "$SCB_TRACE_PID"
	scb_trace_wait
	refute grep -q '"LOST"' "$trace"
	stats_json "$CLI"
	assert_equal "$(jq -s 'map(select(.event == "RTT")) | length' "$trace")" \
		"$(jq .rtt_samples <<<"$STATS")"
	wait_until 20 prom_nonempty "sum(sockops_cb_rtt_seconds_count{container_name=\"$CLI\"}) == $(jq .rtt_samples <<<"$STATS")"

	for q in 0.5 0.99; do
		# Nearest rank of the sorted values.
		exact=$(jq -s --argjson q "$q" '[.[] | select(.event == "RTT") | .rtt_us] | sort |
			.[((length * $q) | ceil) - 1]' "$trace")
		stats=$(jq --arg p "p$(awk -v q="$q" 'BEGIN { print q * 100 }')" \
			'.rtt_percentiles_us[$p]' <<<"$STATS")
		prom=$(prom_value "histogram_quantile($q, sum by (le) (sockops_cb_rtt_seconds_bucket{container_name=\"$CLI\"})) * 1e6")
		echo "# p$q: exact $exact us, stats $stats us, prometheus $prom us"
		awk -v e="$exact" -v s="$stats" -v p="$prom" 'BEGIN {
			exit !(s >= e * 0.875 - 1 && s <= e * 1.125 + 1 &&
			       p >= e * 0.75 - 1 && p <= e * 1.25 + 1) }' ||
			fail "p$q: exact $exact us, stats $stats us (12.5%), prometheus $prom us (25%)"
	done
	# The maximum is exact.
	assert_equal "max $(jq .rtt_max_us <<<"$STATS")" \
		"max $(jq -s '[.[] | select(.event == "RTT") | .rtt_us] | max' "$trace")"
	# The spread is real: p99 is well above p50.
	awk -v a="$(jq .rtt_percentiles_us.p50 <<<"$STATS")" \
		-v b="$(jq .rtt_percentiles_us.p99 <<<"$STATS")" 'BEGIN { exit !(b > 2 * a) }' ||
		fail "too narrow a distribution to tell anything: $STATS"
}
