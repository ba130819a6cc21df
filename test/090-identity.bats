#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Identity in the handshake (docs/identity.md): traced pods announce
# node:pod in a TCP option of their SYN and SYN-ACK and learn their peer's,
# so `sockops-cb peers` names whom a pod talks to where NAT hides the
# address.  Real podman containers on the test's own bridges: joined by a
# router netns that masquerades, or by the host with a DNAT rule (a
# Service VIP, as kube-proxy makes it); host processes in the test's own
# netns where a client must do what busybox cannot (TCP-MD5, forged SYNs
# with scapy).

bats_require_minimum_version 1.5.0

load helpers

PORT=8080
# The header-option flags are opt-in by maxFlags.
CONFIG='{
	"maxFlags": ["RTO", "RETRANS", "STATE", "RTT", "WRITE_HDR_OPT",
		     "PARSE_ALL_HDR_OPT", "PARSE_UNKNOWN_HDR_OPT"],
	"flagSets": {
		"ident": ["STATE", "RTT", "RETRANS", "RTO", "WRITE_HDR_OPT", "PARSE_ALL_HDR_OPT"]
	},
	"identity": { "enabled": true, "nodeName": "node-a", "node": 10 }
}'
FLAGS=STATE,RTT,RETRANS,RTO,WRITE_HDR_OPT,PARSE_ALL_HDR_OPT
# tcpdump's rendering of our option: kind 253, experiment id 0x5343.
OPT_RE='unknown-253 0x5343'

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary
	SCB_NAT_RULES=()
	SCB_CONFIG=$BATS_TEST_TMPDIR/config.json
	scb_write_config "$SCB_CONFIG" "$CONFIG"
	scb_hooks_dir "$SCB_CONFIG"
}

teardown()
{
	local r

	scb_trace_stop
	for r in ${SCB_NAT_RULES[@]+"${SCB_NAT_RULES[@]}"}; do
		# shellcheck disable=SC2086 # a rule is its words
		iptables -w -t nat -D $r || echo "# teardown: cannot delete nat rule: $r" >&2
	done
	scb_bg_stop_all
	scb_teardown
}

# nat_rule RULE...: insert a nat rule (iptables -t nat -I ...), deleted in
# teardown.
nat_rule()
{
	iptables -w -t nat -I "$@" || fail "iptables -t nat -I $*"
	SCB_NAT_RULES+=("$*")
}

# make_router NS NET-A SUBNET-A NET-B SUBNET-B: a router netns with a leg
# on each network's bridge (.254 of each /24) that forwards between them
# and masquerades what it sends into NET-B.  The networks need a container
# each first (CNI makes a bridge with its first container).
make_router()
{
	local ns=$1 i br sub

	make_netns "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
	for i in 0 1; do
		br=$($PODMAN network inspect "$2" | jq -r '.[0].network_interface')
		sub=$3
		shift 2
		[ -n "$br" ] && [ "$br" != null ] || fail "no bridge for network"
		ip link add "$ns-$i" type veth peer name "leg$i" netns "$ns" || fail "veth $ns-$i"
		ip link set "$ns-$i" master "$br" up
		ip -n "$ns" addr add "${sub%.0/24}.254/24" dev "leg$i"
		ip -n "$ns" link set "leg$i" up
	done
	ip netns exec "$ns" iptables -w -t nat -A POSTROUTING -o leg1 -j MASQUERADE ||
		fail "masquerade in $ns"
}

# echo_server NAME NET [PODMAN-OPTS...]: an annotated echo server container.
echo_server()
{
	local name=$1 net=$2

	shift 2
	run_podman run -d --name "$name" --network "$net" "$@" "$SCB_IMAGE" \
		nc -ll -p "$PORT" -e cat
	wait_for_port_in_container "$name" "$PORT"
}

# client NAME NET [PODMAN-OPTS...]: a container that sleeps; connections
# are made by `podman exec`.
client()
{
	local name=$1 net=$2

	shift 2
	run_podman run -d --name "$name" --network "$net" "$@" "$SCB_IMAGE" sleep 600
}

# connect_n CTR ADDR N: N echoed connections from CTR to ADDR:$PORT.
connect_n()
{
	run_podman exec "$1" sh -c \
		"for i in \$(seq $3); do echo hi-\$i | nc $2 $PORT || exit 1; done"
	assert_output "$(for ((i = 1; i <= $3; i++)); do echo "hi-$i"; done)"
}

# peers_json CTR: `peers CTR --json`, one object per line, in $PEERS.
peers_json()
{
	run_scb peers "$1" --json
	PEERS=$output
}

# peer_row FILTER: the one object of $PEERS matching FILTER, in $ROW.
peer_row()
{
	ROW=$(jq -c "select($1)" <<<"$PEERS")
	[ "$(jq -s length <<<"$ROW")" -eq 1 ] ||
		fail "peers: expected one row with $1, got: ${ROW:-none} (all: $PEERS)"
}

# settle CTR...: until every connection of the containers has closed on
# both ends (their counters are final).
settle()
{
	local c

	for c in "$@"; do
		wait_until 10 _no_conns "$c"
	done
}

# check_true JSON FILTER WHAT: FILTER (a jq boolean expression) holds.
check_true()
{
	jq -e "$2" <<<"$1" >/dev/null || fail "$3: $2 is not true (in: $1)"
}

_no_conns()
{
	[ -z "$(container_netns_exec "$1" ss -Htan exclude listening exclude time-wait \
		"( sport = :$PORT or dport = :$PORT )")" ]
}

ANN=(--annotation "sockops-cb.io/flag-set=ident")

@test "identity: through masquerade each side's peers name the other pod; per-peer counts match the pod's" {
	local neta netb srv cli sip cip gw rta sid

	neta=$(safename)
	netb=$(safename)
	make_bridge_network "$neta" "$(scb_subnet4 0)"
	make_bridge_network "$netb" "$(scb_subnet4 1)"
	srv=$(safename)
	cli=$(safename)
	echo_server "$srv" "$netb" "${ANN[@]}"
	client "$cli" "$neta" "${ANN[@]}"
	sip=$(container_ip "$srv")
	cip=$(container_ip "$cli")
	make_router "$(safename)" "$neta" "$(scb_subnet4 0)" "$netb" "$(scb_subnet4 1)"
	# The router's two legs: the client's route to the server's network,
	# and the address the server sees.
	rta=$(scb_subnet4 0)
	rta=${rta%.0/24}.254
	gw=$(scb_subnet4 1)
	gw=${gw%.0/24}.254
	container_netns_exec "$cli" ip route add "$(scb_subnet4 1)" via "$rta" ||
		fail "route to the server's network"

	connect_n "$cli" "$sip" 4
	settle "$cli" "$srv"
	# Each connection's record went with its CLOSE.
	run bpftool map dump pinned "${SCB_PIN_LINKS%/*}/peer_conns" -j
	assert_success
	[ "$(jq length <<<"$output")" -eq 0 ] || fail "connection records left after the close: $output"

	# The server sees the router's address (the client's is masqueraded) ...
	peers_json "$srv"
	peer_row ".passive > 0"
	check "$ROW" .address "\"$gw\"" "the server sees the router, not $cip"
	# ... and still the client pod's name, from the identity it announced.
	check "$ROW" .name "\"$cli\"" "server's peer name"
	check "$ROW" .passive 4 "server's passive connections from $cli"
	stats_json "$srv"
	check "$STATS" .identity.learned 4 "server learned 4 identities"
	check "$STATS" .established_passive 4 "server established_passive"
	check_true "$(jq -s --argjson s "$STATS" '[.[].rtt_samples] | add == $s.rtt_samples' <<<"$PEERS")" . \
		"server: the peers' RTT samples add up to the pod's"

	# The client names the server, at the address it connected to.
	peers_json "$cli"
	peer_row ".active > 0"
	check "$ROW" .name "\"$srv\"" "client's peer name"
	check "$ROW" .address "\"$sip\"" "client's peer address"
	check "$ROW" .active 4 "client's active connections to $srv"
	check "$ROW" .failed 0 "client's failed connects"
	stats_json "$cli"
	check "$STATS" .established_active 4 "client established_active"
	check "$STATS" .identity.sent 4 "client sent its identity in 4 SYNs"
	check_true "$(jq -s --argjson s "$STATS" '[.[].rtt_samples] | add == $s.rtt_samples' <<<"$PEERS")" . \
		"client: the peers' RTT samples add up to the pod's"
	check_true "$ROW" '.rtt_samples > 0' "client has RTT samples for $srv"

	# The identities are the ones the info series names.
	run_scb metrics
	assert_line --regexp "^sockops_cb_identity_info\\{identity=\"[0-9a-f]{8}:[0-9a-f]{8}\",node=\"node-a\",namespace=\"\",pod=\"$srv\",container=\"[0-9a-f]{64}\"\\} 1\$"
	assert_line --regexp "^sockops_cb_peer_connections_total\\{container_id=\"[0-9a-f]{64}\",container_name=\"$cli\",.*peer_address=\"$sip\",direction=\"active\"\\} 4\$"

	# The table a person reads.
	run_scb peers "$cli"
	assert_line --regexp "^0000000a:[0-9a-f]{8} +${srv:0:20} +$sip +4 +0 +0 "
	assert_output --partial "identity: sent 4, not sent 0; peers' learned 4"
	sid=$(jq -r .identity <<<"$ROW")

	# A live connection: conns and trace name the peer on both ends (they
	# need the socket's cgroup, Linux 5.15+; the counts above do not).
	btf_has_sock_cgroup || return 0
	scb_trace_start "$BATS_TEST_TMPDIR/trace.json" --duration 3
	run_podman exec -d "$cli" sh -c "sleep 20 | nc $sip $PORT"
	wait_until 10 _conn_with_peer "$cli" "$sid"
	scb_trace_wait
	run jq -r --arg n "$cli" 'select(.name == $n and .event == "ACTIVE_ESTABLISHED") | .peer' \
		"$BATS_TEST_TMPDIR/trace.json"
	assert_output "$sid"
	peers_json "$srv"
	wait_until 10 _conn_with_peer "$srv" "$(jq -r .identity <<<"$PEERS")"
}

# _conn_with_peer CTR IDENTITY: conns of CTR lists a connection with IDENTITY.
_conn_with_peer()
{
	"$SCB" conns "$1" --json | jq -e --arg p "$2" 'select(.peer == $p)' >/dev/null
}

@test "identity: behind a DNAT Service VIP the client's peers say which server pod each connection reached" {
	local neta netb s1 s2 cli vip

	neta=$(safename)
	netb=$(safename)
	make_bridge_network --gateway "$neta" "$(scb_subnet4 0)"
	make_bridge_network --gateway "$netb" "$(scb_subnet4 1)"
	s1=$(safename)
	s2=$(safename)
	cli=$(safename)
	echo_server "$s1" "$netb" "${ANN[@]}"
	echo_server "$s2" "$netb" "${ANN[@]}"
	client "$cli" "$neta" "${ANN[@]}"
	# The VIP: an address of the test's own range that no interface has.
	vip=$(scb_subnet4 2)
	vip=${vip%.0/24}.100
	nat_rule PREROUTING -d "$vip" -p tcp --dport "$PORT" -j DNAT \
		--to-destination "$(container_ip "$s2"):$PORT"
	nat_rule PREROUTING -d "$vip" -p tcp --dport "$PORT" -m statistic --mode nth \
		--every 2 --packet 0 -j DNAT --to-destination "$(container_ip "$s1"):$PORT"

	connect_n "$cli" "$vip" 6
	settle "$cli" "$s1" "$s2"

	peers_json "$cli"
	peer_row ".name == \"$s1\""
	check "$ROW" .address "\"$vip\"" "the address connected to is the VIP"
	check "$ROW" .active 3 "connections that reached $s1"
	peer_row ".name == \"$s2\""
	check "$ROW" .address "\"$vip\"" "the address connected to is the VIP"
	check "$ROW" .active 3 "connections that reached $s2"
	[ "$(jq -s length <<<"$PEERS")" -eq 2 ] || fail "expected two peers, got: $PEERS"
	# Each server counts its own three from the client.
	peers_json "$s1"
	peer_row ".name == \"$cli\""
	check "$ROW" .passive 3 "$s1's connections from $cli"
}

@test "identity: an untraced client is peer '?' at its address, counted as absent; nothing breaks" {
	local net srv cli cip

	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4 0)"
	srv=$(safename)
	cli=$(safename)
	echo_server "$srv" "$net" "${ANN[@]}"
	client "$cli" "$net"
	cip=$(container_ip "$cli")

	connect_n "$cli" "$(container_ip "$srv")" 3
	settle "$srv"

	peers_json "$srv"
	peer_row ".address == \"$cip\""
	check "$ROW" .identity '"?"' "an untraced peer has no identity"
	check "$ROW" .name '"?"' "nor a name"
	check "$ROW" .passive 3 "its connections"
	stats_json "$srv"
	check "$STATS" .identity.absent 3 "handshakes without an identity"
	check "$STATS" .identity.learned 0 "nothing learned"
	check "$STATS" .identity.sent 3 "the server still announced in its SYN-ACKs"
	run_scb peers "$srv"
	assert_line --regexp "^\\? +\\? +$cip +0 +3 +0 "
}

@test "identity: on the wire only in SYN and SYN-ACK; MSS unchanged; no callback per data segment" {
	local net srv cli mtu pcap=$BATS_TEST_TMPDIR/hs.pcap

	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4 0)"
	srv=$(safename)
	cli=$(safename)
	echo_server "$srv" "$net" "${ANN[@]}"
	client "$cli" "$net" "${ANN[@]}"
	mtu=$(container_netns_exec "$srv" ip -o link show eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')

	scb_bg_start nsenter -t "$(container_pid "$srv")" -n -- \
		tcpdump -i eth0 --immediate-mode -U -w "$pcap" tcp port "$PORT" 2>"$pcap.log"
	wait_until 10 grep -q "listening on" "$pcap.log"
	# 64 KiB each way: dozens of data segments.
	run_podman exec "$cli" sh -c \
		"head -c 65536 /dev/zero | nc $(container_ip "$srv") $PORT | wc -c"
	assert_output 65536
	settle "$cli" "$srv"
	# Both FINs written: the capture holds the whole connection.
	wait_until 10 _fins "$pcap" 2
	scb_bg_stop "$SCB_BG_PID"

	run tcpdump -nr "$pcap"
	assert_success
	local syn synack data
	syn=$(grep -c "Flags \[S\]," <<<"$output" || true)
	synack=$(grep -c "Flags \[S\.\]," <<<"$output" || true)
	data=$(grep -c "length [1-9]" <<<"$output" || true)
	[ "$syn" -eq 1 ] && [ "$synack" -eq 1 ] || fail "expected one handshake: $output"
	[ "$data" -ge 10 ] || fail "expected data segments, got $data: $output"
	grep "Flags \[S\]," <<<"$output" | grep -q "$OPT_RE" || fail "no identity in the SYN: $output"
	grep "Flags \[S\.\]," <<<"$output" | grep -q "$OPT_RE" || fail "no identity in the SYN-ACK: $output"
	[ "$(grep -c "$OPT_RE" <<<"$output")" -eq 2 ] || fail "identity beyond the handshake: $output"
	# The MSS both ends announce is the link's, as without the option.
	[ "$(grep -c "mss $((mtu - 40))," <<<"$output")" -eq 2 ] ||
		fail "SYN/SYN-ACK MSS is not $((mtu - 40)) (MTU $mtu): $output"
	# Two header-option callbacks per side (size, write: the SYN or the
	# SYN-ACK), none for the data segments.
	stats_json "$cli"
	check "$STATS" .hdr_opt 2 "client header-option callbacks"
	stats_json "$srv"
	check "$STATS" .hdr_opt 2 "server header-option callbacks"
}

@test "identity: a SYN with no room left (TCP-MD5) connects without it, counted as not sent" {
	local ns=$(safename)

	make_pod_cgroup srv cli
	make_netns "$ns"
	ip -n "$ns" link set lo up
	run_scb attach -c "$SCB_CONFIG" --cgroup "$SCB_CGROUP/srv" --name "$ns-srv" --flags "$FLAGS"
	run_scb attach -c "$SCB_CONFIG" --cgroup "$SCB_CGROUP/cli" --name "$ns-cli" --flags "$FLAGS"
	bg_in_ns "$SCB_CGROUP/srv" "$ns" /usr/bin/python3 "$SCB_TEST_DIR/identity/md5pair.py" \
		serve 127.0.0.1 "$PORT" 127.0.0.1
	wait_for_netns_ss "$ns" -l "sport = :$PORT"

	run in_ns "$SCB_CGROUP/cli" "$ns" /usr/bin/python3 "$SCB_TEST_DIR/identity/md5pair.py" \
		connect 127.0.0.1 "$PORT" 3
	assert_success
	assert_output "ok 3"
	stats_json "$ns-cli"
	check "$STATS" .identity.not_sent 3 "client: no room in 3 SYNs"
	check "$STATS" .identity.sent 0 "client: nothing sent"
	check "$STATS" .established_active 3 "client: connections established"
	stats_json "$ns-srv"
	check "$STATS" .identity.not_sent 3 "server: no room in 3 SYN-ACKs"
	check "$STATS" .identity.absent 3 "server: no identity in the SYNs"
}

# forge_target NS CONFIG: a learning server on 127.0.0.1:$PORT in a netns
# NS of the test's own, traced as NS, for forge.
forge_target()
{
	local ns=$1

	make_cgroup
	make_netns "$ns"
	ip -n "$ns" link set lo up
	# The forger's kernel knows no socket for its segments: no RSTs.
	ip netns exec "$ns" iptables -w -A OUTPUT -p tcp --dport "$PORT" --tcp-flags RST RST -j DROP
	run_scb attach -c "$2" --cgroup "$SCB_CGROUP" --name "$ns" --flags "$FLAGS"
	bg_in_ns "$SCB_CGROUP" "$ns" socat -u TCP-LISTEN:"$PORT",reuseaddr,fork,bind=127.0.0.1 OPEN:/dev/null
	wait_for_netns_ss "$ns" -l "sport = :$PORT"
}

# forge NS VALUE-HEX...: one forged handshake per option value, each
# answered; returns once the server accepted them all.
forge()
{
	local ns=$1 v n=0

	shift
	for v in "$@"; do
		run ip netns exec "$ns" /usr/bin/python3 "$SCB_TEST_DIR/identity/forge.py" \
			127.0.0.1 "$PORT" "$v"
		assert_success
		assert_output synack
		n=$((n + 1))
	done
	wait_until 10 _passive_n "$ns" "$n"
}

@test "identity: forged and malformed options are ignored and counted; a forged identity is a hint" {
	local ns=$(safename)

	forge_target "$ns" "$SCB_CONFIG"
	# Values after kind and length: too long, too short, pod 0, another
	# experiment (not ours: absent), and a well-formed forgery.
	forge "$ns" 534300000001000000020000 5343ff 53430000000100000000 \
		99990000000100000002 53430000abcd00001234

	stats_json "$ns"
	check "$STATS" .identity.malformed 3 "malformed options"
	check "$STATS" .identity.absent 1 "another experiment's option"
	check "$STATS" .identity.learned 1 "the forgery"
	peers_json "$ns"
	peer_row '.identity == "?"'
	check "$ROW" .passive 4 "connections without a usable identity"
	peer_row '.identity == "0000abcd:00001234"'
	check "$ROW" .name '"?"' "a forged identity names no pod of ours"
	# The server still serves.
	run in_ns "$SCB_CGROUP" "$ns" sh -c "echo hi | socat -u - TCP:127.0.0.1:$PORT"
	assert_success
}

@test "identity: a target's peers are capped (maxPeersPerTarget), past the cap counted as overflow; peerSeries false leaves its peer series out" {
	local ns=$(safename) cfg=$BATS_TEST_TMPDIR/cap.json

	jq '.identity.maxPeersPerTarget = 2 | .identity.peerSeries = false' <<<"$CONFIG" >"$cfg"
	forge_target "$ns" "$cfg"
	# Four peers by identity, the first twice.
	forge "$ns" 534300000001000000a1 534300000001000000a1 534300000001000000a2 \
		534300000001000000a3 534300000001000000a4

	peers_json "$ns"
	[ "$(jq -s length <<<"$PEERS")" -eq 2 ] || fail "expected the cap's 2 peers, got: $PEERS"
	peer_row '.identity == "00000001:000000a1"'
	check "$ROW" .passive 2 "the first peer's two connections"
	stats_json "$ns"
	check "$STATS" .identity.peers 2 "entries"
	check "$STATS" .identity.peer_overflow 2 "connections past the cap"
	check "$STATS" .identity.learned 5 "every identity was still read"
	run_scb metrics
	assert_line --regexp "^sockops_cb_peer_overflow_total\\{container_id=\"$ns\",.*\\} 2\$"
	# peerSeries false: no per-peer series for it, its own counters stay.
	refute_line --regexp "^sockops_cb_peer_.*container_id=\"$ns\".*peer_identity="
}

_fins()
{
	[ "$(tcpdump -nr "$1" 2>/dev/null | grep -c 'Flags \[F')" -ge "$2" ]
}

_passive_n()
{
	[ "$("$SCB" stats "$1" --json | jq .established_passive)" -ge "$2" ]
}

@test "identity: with syncookies the server has no saved SYN (counted); the client still learns the server" {
	local ns=$(safename)

	make_pod_cgroup srv cli
	make_netns "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_syncookies=2
	run_scb attach -c "$SCB_CONFIG" --cgroup "$SCB_CGROUP/srv" --name "$ns-srv" --flags "$FLAGS"
	run_scb attach -c "$SCB_CONFIG" --cgroup "$SCB_CGROUP/cli" --name "$ns-cli" --flags "$FLAGS"
	bg_in_ns "$SCB_CGROUP/srv" "$ns" socat -u TCP-LISTEN:"$PORT",reuseaddr,fork,bind=127.0.0.1 OPEN:/dev/null
	wait_for_netns_ss "$ns" -l "sport = :$PORT"

	run in_ns "$SCB_CGROUP/cli" "$ns" sh -c "for i in 1 2 3; do echo hi | socat -u - TCP:127.0.0.1:$PORT || exit 1; done"
	assert_success
	stats_json "$ns-srv"
	check "$STATS" .identity.no_saved_syn 3 "server: syncookie accepts have no saved SYN"
	check "$STATS" .identity.sent 3 "server: its SYN-ACKs carried its identity"
	peers_json "$ns-cli"
	peer_row ".name == \"$ns-srv\""
	check "$ROW" .active 3 "client learned the server from the cookie SYN-ACK"
}

@test "identity: off unless configured; a bad identity section is refused with the key named" {
	local cfg=$BATS_TEST_TMPDIR/bad.json name

	make_cgroup
	name=$(safename)
	scb_write_config "$cfg" '{"maxFlags": ["STATE", "WRITE_HDR_OPT"]}'
	run_scb attach -c "$cfg" --cgroup "$SCB_CGROUP" --name "$name" --flags STATE,WRITE_HDR_OPT
	run_scb 1 peers "$name"
	assert_output --partial "does not learn peer identities: enable identity in the config"
	stats_json "$name"
	check "$STATS" 'has("identity")' false "no identity counters while it is off"

	# check says what identity does with a config, and when it can do nothing.
	scb_write_config "$cfg" '{"identity": {"enabled": true, "node": 10, "nodeName": "n1"}}'
	run_scb '?' check -c "$cfg" --json
	grep -q '"check":"identity","level":"warn"' <<<"$output" ||
		fail "no identity warning for a ceiling without header-option flags: $output"
	run_scb '?' check -c "$SCB_CONFIG"
	assert_output --partial "identity on: node 0000000a (node-a), option kind 253 experiment id 0x5343"

	scb_write_config "$cfg" '{"identity": {"enabled": true, "kind": 252}}'
	run_scb 1 check -c "$cfg"
	assert_output --partial "identity.kind must be an integer from 253 to 254"
	scb_write_config "$cfg" '{"identity": {"enabled": true, "experimentID": 1}}'
	run_scb 1 check -c "$cfg"
	assert_output --partial 'unknown key "experimentID" in identity'
	scb_write_config "$cfg" '{"identity": {"enabled": "yes"}}'
	run_scb 1 check -c "$cfg"
	assert_output --partial "identity.enabled must be true or false"
}

@test "identity: the service-map PromQL of docs/identity.md joins peer identities to pod names" {
	local q t=$BATS_TEST_TMPDIR/map.yml

	# The doc's first promql block, as written there.
	q=$(awk '/^```promql$/ { n++; if (n == 1) { f = 1; next } } /^```$/ { f = 0 } f' \
		"$SCB_REPO/docs/identity.md")
	[ -n "$q" ] || fail "no promql block in docs/identity.md"
	cat >"$t" <<-YAML
		rule_files: []
		evaluation_interval: 1m
		tests:
		  - interval: 1m
		    input_series:
		      - series: 'sockops_cb_peer_connections_total{pod_namespace="a",pod_name="client",peer_identity="0000000a:00000001",peer_address="10.0.0.1",direction="active"}'
		        values: '0+60x10'
		      - series: 'sockops_cb_peer_connections_total{pod_namespace="a",pod_name="client",peer_identity="0000000b:00000002",peer_address="10.0.0.1",direction="active"}'
		        values: '0+120x10'
		      - series: 'sockops_cb_identity_info{identity="0000000a:00000001",node="n1",namespace="b",pod="server-1",container="x"}'
		        values: '1x10'
		      - series: 'sockops_cb_identity_info{identity="0000000b:00000002",node="n2",namespace="b",pod="server-2",container="y"}'
		        values: '1x10'
		    promql_expr_test:
		      - expr: |
		$(sed 's/^/          /' <<<"$q")
		        eval_time: 10m
		        exp_samples:
		          - labels: '{pod_namespace="a",pod_name="client",peer_namespace="b",peer_pod="server-1"}'
		            value: 1
		          - labels: '{pod_namespace="a",pod_name="client",peer_namespace="b",peer_pod="server-2"}'
		            value: 2
	YAML
	run promtool test rules "$t"
	[ "$status" -eq 0 ] || fail "promtool test rules: $output"
}
