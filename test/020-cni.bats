#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The CNI role end to end, with real traffic:
#
#  - podman 4's CNI backend runs sockops-cb chained in a network's conflist,
#    with no hook.  It passes no cgroup and no annotations (ENVIRONMENT.md
#    item 6): the pod is registered by its netns cookie, behind one
#    node-wide link on the cgroup2 root, and gets the network's
#    defaultFlagSet.  K8S_POD_NAME in CNI_ARGS is the container name.
#  - containerd and CRI-O pass runtimeConfig.cgroupPath and the pod's
#    annotations.  No such runtime runs here, so the tests call the plugin
#    the way they do: a real bridge + host-local ADD first (its result is
#    our prevResult), then sockops-cb with the pod's own netns and cgroup.
#
# The protocol details and error paths are in 021-cni-protocol.bats.

bats_require_minimum_version 1.5.0
load helpers

PORT=8080
# flags_to_json order: the kernel's bit order.
FULL=RTO,RETRANS,STATE,RTT
PODMAN_EXAMPLE=$SCB_REPO/examples/podman-cni/sockops-cb.conflist

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary

	# What teardown undoes besides scb_teardown's: sockops-cb ADDs,
	# bridge plugin ADDs ("NET BRIDGE SUBNET ID NETNS"), bridges and
	# host-local state made by hand.
	CNI_SCB_IDS=()
	CNI_BRIDGE_ADDS=()
	CNI_BRIDGES=()
	CNI_IPAM_NETS=()
}

teardown()
{
	local id e i

	# Whatever the test left: every network of the container.
	for id in ${CNI_SCB_IDS[@]+"${CNI_SCB_IDS[@]}"}; do
		"$SCB" detach "$id" >/dev/null 2>&1 || true
	done
	# A runtime DELs in reverse order; the netns still exist here.
	for ((i = ${#CNI_BRIDGE_ADDS[@]} - 1; i >= 0; i--)); do
		# shellcheck disable=SC2086
		cni_bridge DEL ${CNI_BRIDGE_ADDS[i]} >/dev/null 2>&1 || true
	done
	for e in ${CNI_BRIDGES[@]+"${CNI_BRIDGES[@]}"}; do
		ip link del "$e" 2>/dev/null || true
	done
	for e in ${CNI_IPAM_NETS[@]+"${CNI_IPAM_NETS[@]}"}; do
		rm -rf "/var/lib/cni/networks/$e"
	done
	scb_teardown
}

###############################################################################
# helpers of this file

# The sockops-cb entry of the shipped podman example conflist.
example_entry()
{
	jq -c '.plugins[] | select(.type == "sockops-cb")' "$PODMAN_EXAMPLE" ||
		fail "cannot read $PODMAN_EXAMPLE"
}

# start_httpd NAME NETWORK: a busybox web server container on NETWORK.
start_httpd()
{
	run_podman run -d --name "$1" --network "$2" "$SCB_IMAGE" \
		sh -c "echo hi >/var/www/index.html && exec httpd -f -p $PORT -h /var/www"
	wait_for_port_in_container "$1" "$PORT"
}

# target_fields ID JQ-EXPR: values from the `list --json` line of ID.
target_fields()
{
	local json

	json=$(scb_target_json "$1")
	[ -n "$json" ] || fail "target $1 is not listed"
	jq -r "$2" <<<"$json"
}

# netns_targets: how many netns targets are on the node (some may be other
# tests').
netns_targets()
{
	"$SCB" list --json | jq -s '[.[] | select(.kind == "netns" and
		(.removed | not))] | length'
}

# cni_bridge CMD NET BRIDGE SUBNET ID NETNS: the bridge plugin with
# host-local IPAM, the first plugin of a runtime's chain; prints its result.
cni_bridge()
{
	jq -n --arg name "$2" --arg br "$3" --arg subnet "$4" '{
		cniVersion: "1.0.0", name: $name, type: "bridge", bridge: $br,
		isGateway: false,
		ipam: { type: "host-local", ranges: [[{ subnet: $subnet }]] }
	}' | env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="$5" \
		CNI_NETNS="/run/netns/$6" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
		/usr/lib/cni/bridge
}

# bridge_add NET BRIDGE SUBNET ID NETNS: a bridge ADD that teardown undoes;
# the result (the next plugin's prevResult) is left in $BRIDGE_RESULT.
bridge_add()
{
	CNI_BRIDGE_ADDS+=("$*")
	CNI_BRIDGES+=("$2")
	CNI_IPAM_NETS+=("$1")
	BRIDGE_RESULT=$(cni_bridge ADD "$@") ||
		fail "bridge ADD failed: $BRIDGE_RESULT"
	echo "bridge ADD $*: $BRIDGE_RESULT"
}

# scb_cni [EXPECTED_RC] CMD ID NETNS STDIN [VAR=VALUE...]: sockops-cb as a
# runtime calls it for pod ID (also its K8S_POD_NAME) in netns NETNS.
scb_cni()
{
	local rc=() cmd id ns stdin

	case "$1" in
	[0-9] | [0-9][0-9] | [0-9][0-9][0-9] | '?')
		rc=("$1")
		shift
		;;
	esac
	cmd=$1 id=$2 ns=$3 stdin=$4
	shift 4
	[ "$cmd" != ADD ] || CNI_SCB_IDS+=("$id")
	run_cni ${rc[@]+"${rc[@]}"} "$stdin" CNI_COMMAND="$cmd" \
		CNI_CONTAINERID="$id" CNI_NETNS="/run/netns/$ns" CNI_IFNAME=eth0 \
		"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$id" \
		"$@"
}

# pod_conf NET PREV-JSON RUNTIME-CONFIG-JSON: the sockops-cb entry of a
# containerd conflist as the runtime sends it: defaultFlagSet "basic", so a
# pod that gets "full" got it from its annotation.
pod_conf()
{
	jq -c -n --arg net "$1" --argjson prev "$2" --argjson rc "$3" '{
		cniVersion: "1.0.0", name: $net, type: "sockops-cb",
		capabilities: { cgroupPath: true,
				"io.kubernetes.cri.pod-annotations": true },
		flagSets: { basic: ["STATE"], full: ["STATE", "RTT", "RETRANS", "RTO"] },
		defaultFlagSet: "basic",
		prevResult: $prev,
		runtimeConfig: $rc
	}' || fail "pod_conf: bad JSON"
}

# A prevResult for tests whose interface does not matter.
SYNTHETIC_PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"interface":0,"address":"10.89.0.2/24"}]}'

# loopback_traffic CG NETNS N: a listener and N connections to it over
# loopback, all in cgroup CG and netns NETNS.
loopback_traffic()
{
	local cg=$1 ns=$2 n=$3 i pid

	start_in_cgroup "$cg" ip netns exec "$ns" \
		socat -u "TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr" OPEN:/dev/null
	pid=$SCB_BG_PID
	scb_wait_for_port "$pid" "$PORT" || fail "no listener in $ns"
	for ((i = 0; i < n; i++)); do
		run_in_cgroup "$cg" ip netns exec "$ns" \
			socat -u OPEN:/dev/null "TCP:127.0.0.1:$PORT" ||
			fail "connection $i in $ns failed"
	done
	kill "$pid" 2>/dev/null || true
}

###############################################################################
# podman's CNI backend

@test "podman CNI: a container on a sockops-cb network is traced by its netns, with no hook" {
	local net other srv cli osrv ocli ip oip id srv_id n=5 left

	# No hook anywhere: basic_setup's private hooks dir is empty.
	run ls -A "$SCB_HOOKS_DIR"
	assert_output ""

	net=$(safename)
	other=$(safename)
	make_bridge_network "$net" "$(scb_subnet4)"
	network_add_plugin "$net" "$(example_entry)"
	make_bridge_network "$other" "$(scb_subnet4 1)"

	srv=$(safename)
	start_httpd "$srv" "$net"
	ip=$(container_ip "$srv" "$net")
	osrv=$(safename)
	start_httpd "$osrv" "$other"
	oip=$(container_ip "$osrv" "$other")

	cli=$(safename)
	run_podman run -d --name "$cli" --network "$net" "$SCB_IMAGE" sleep 600
	# A pair on the other network talks before, during and after ours.
	ocli=$(safename)
	run_podman run -d --name "$ocli" --network "$other" "$SCB_IMAGE" sh -c "
		i=0
		while [ ! -e /tmp/stop ]; do
			wget -q -O /dev/null http://$oip:$PORT/ && i=\$((i + 1))
			usleep 20000
		done
		echo done \$i
		sleep 600"
	wait_for_port_in_container "$srv" "$PORT"
	run_podman exec "$cli" sh -c "for i in \$(seq $n); do
		wget -q -O /dev/null http://$ip:$PORT/ || exit 1; done"
	run_podman exec "$ocli" touch /tmp/stop
	wait_for_output "$ocli" '^done [1-9]'

	id=$(container_id "$cli")
	srv_id=$(container_id "$srv")
	run target_fields "$id" '[.name, .pod_name, .kind, .origin, .network,
		.flag_set, (.effective | join(","))] | join(" ")'
	assert_output "$cli $cli netns cni $net rtt STATE,RTT"
	run target_fields "$srv_id" '[.name, .kind, .origin, .network] | join(" ")'
	assert_output "$srv netns cni $net"

	run_scb stats "$cli" --json
	run jq -r '[.established_active, .established_passive, .connect,
		    .state_transitions["SYN_SENT->ESTABLISHED"],
		    (.rtt_samples > 0)] | join(" ")' <<<"$output"
	assert_output "$n 0 $n $n true"
	run_scb stats "$srv" --json
	run jq -r '[.established_active, .established_passive, .listen,
		    .state_transitions["SYN_RECV->ESTABLISHED"],
		    (.rtt_samples > 0)] | join(" ")' <<<"$output"
	assert_output "0 $n 1 $n true"

	# The other network's containers are nobody's: no target, and the
	# totals of our network are exactly our own connections.
	run "$SCB" list --json
	run jq -s --arg other "$other" --arg a "$(container_id "$osrv")" \
		--arg b "$(container_id "$ocli")" --arg n1 "$osrv" --arg n2 "$ocli" \
		'[.[] | select(.network == $other or .id == $a or .id == $b or
			       .name == $n1 or .name == $n2)] | length' <<<"$output"
	assert_output 0
	run "$SCB" list --json
	run jq -s --arg net "$net" '[.[] | select(.network == $net)] |
		"\(length) \(map(.connections) | add)"' <<<"$output"
	assert_output "\"2 $((2 * n))\""

	# podman rm: CNI DEL.  The server still needs the node-wide link.
	run_podman rm -f -t 0 "$cli"
	assert_no_target "$id"
	[ -n "$(scb_target_json "$srv_id")" ] || fail "DEL of $cli removed $srv"
	assert_file_exists "$SCB_NETNS_LINK"
	root_netns_prog_attached ||
		fail "the netns program is not on the cgroup2 root while $srv is registered"

	run_podman rm -f -t 0 "$srv"
	assert_no_target "$srv_id"
	run "$SCB" list --json
	run jq -s --arg net "$net" '[.[] | select(.network == $net)] | length' \
		<<<"$output"
	assert_output 0
	assert_netns_link_consistent
	left=$(netns_targets)
	if [ "$left" -eq 0 ]; then
		! root_netns_prog_attached ||
			fail "no netns target is left, the netns program is still on the cgroup2 root: $(bpftool cgroup show "$(cgroup2_mount)")"
	else
		echo "# $left netns target(s) of other tests keep the node-wide link"
	fi

	# And the next ADD works again, from fresh counters.
	srv=$(safename)
	start_httpd "$srv" "$net"
	ip=$(container_ip "$srv" "$net")
	cli=$(safename)
	run_podman run -d --name "$cli" --network "$net" "$SCB_IMAGE" sleep 600
	run_podman exec "$cli" sh -c "wget -q -O /dev/null http://$ip:$PORT/ &&
		wget -q -O /dev/null http://$ip:$PORT/"
	run_scb stats "$cli" --json
	run jq -r '[.established_active, .connect] | join(" ")' <<<"$output"
	assert_output "2 2"
	assert_file_exists "$SCB_NETNS_LINK"
	root_netns_prog_attached || fail "the node-wide link was not attached again"
}

@test "podman CNI and the hook on one container: one row, every number its own, selectable by name and id" {
	local net srv cli ip id n=4 trace=$BATS_TEST_TMPDIR/trace.json

	scb_write_config "$BATS_TEST_TMPDIR/config.json" \
		'{"flagSets":{"full":["STATE","RTT","RETRANS","RTO"]}}'
	scb_hooks_dir "$BATS_TEST_TMPDIR/config.json"
	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4)"
	network_add_plugin "$net" "$(example_entry)"
	srv=$(safename)
	start_httpd "$srv" "$net"
	ip=$(container_ip "$srv" "$net")
	cli=$(safename)
	run_podman run -d --name "$cli" --network "$net" \
		--annotation sockops-cb.io/flag-set=full "$SCB_IMAGE" sleep 600
	id=$(container_id "$cli")

	# Two targets (the hook's cgroup, CNI's netns), one container.
	run "$SCB" list --json
	run jq -sc --arg id "$id" '[.[] | select(.id == $id) |
		[.name, .origin, .kind, .network]]' <<<"$output"
	assert_output "[[\"$cli\",\"hook+cni\",\"cgroup+netns\",\"$net\"]]"
	run_scb list
	assert_equal "$(grep -c "^${id:0:12} " <<<"$output")" 1

	scb_trace_start "$trace" "$cli" --duration 3 --events ACTIVE_ESTABLISHED
	run_podman exec "$cli" sh -c "for i in \$(seq $n); do
		wget -q -O /dev/null http://$ip:$PORT/ || exit 1; done"
	scb_trace_wait
	run jq -s --arg id "$id" '[.[] | select(.event == "ACTIVE_ESTABLISHED" and
		.id == $id)] | length' "$trace"
	assert_output "$n"

	# The name and the full id both reach the data (the hook's target).
	for ref in "$cli" "$id" "${id:0:12}"; do
		run_scb stats "$ref" --json
		run jq -r '[.established_active, .connect] | join(" ")' <<<"$output"
		assert_output "$n $n"
	done
	run "$SCB" metrics
	run grep -c "^sockops_cb_connections_established_total{container_id=\"$id\".*direction=\"active\"} $n\$" <<<"$output"
	assert_output 1

	# A live connection: conns finds it under the container's name.
	run_podman exec -d "$cli" sh -c "sleep 600 | nc $ip $PORT"
	wait_until 10 sh -c "\"$SCB\" conns $cli | grep -q ESTABLISHED"

	run_podman rm -f -t 0 "$cli"
	assert_no_target "$id"
}

@test "podman CNI: the example conflist works as shipped" {
	local net subnet srv cli ip

	net=$(safename)
	subnet=$(scb_subnet4)
	# Only what must be unique changes: name, bridge, subnet.
	SCB_NETWORKS+=("$net")
	jq --arg name "$net" --arg br "scb$(random_string 8)" \
		--arg subnet "$subnet" --arg gw "${subnet%.0/24}.1" '
		.name = $name | .plugins[0].bridge = $br |
		.plugins[0].ipam.ranges = [[{ subnet: $subnet, gateway: $gw }]]' \
		"$PODMAN_EXAMPLE" >"$(network_conflist "$net")"
	run_podman network inspect "$net"

	srv=$(safename)
	start_httpd "$srv" "$net"
	ip=$(container_ip "$srv" "$net")
	cli=$(safename)
	run_podman run -d --name "$cli" --network "$net" "$SCB_IMAGE" sleep 600
	run_podman exec "$cli" wget -q -O - "http://$ip:$PORT/"
	assert_output hi

	run target_fields "$(container_id "$cli")" '[.name, .kind, .origin,
		.flag_set, (.effective | join(",")), .connections] | join(" ")'
	assert_output "$cli netns cni rtt STATE,RTT 1"
	# The set as the kernel runs it: RTT callbacks on the answered request.
	run_scb stats "$cli" --json
	run jq -r '[.established_active, (.rtt_samples > 0)] | join(" ")' <<<"$output"
	assert_output "1 true"
}

###############################################################################
# containerd / CRI-O: cgroupPath and pod annotations

@test "containerd-style ADD: the pod's cgroupPath and annotated set, after a real bridge ADD" {
	local net br subnet ns srvns cg cg_rel srvcg id srvid pod ip prev conf i n=4

	net=$(safename)
	br=scb$(random_string 8)
	subnet=$(scb_subnet4)
	ns=$(safename)
	srvns=$(safename)
	make_netns "$ns"
	make_netns "$srvns"
	make_cgroup
	cg=$SCB_CGROUP
	cg_rel=${cg#"$(cgroup2_mount)"}
	make_cgroup
	srvcg=$SCB_CGROUP
	# containerd's sandbox ids: 64 hex digits.
	id=$(safename | sha256sum | cut -c1-64)
	srvid=$(safename | sha256sum | cut -c1-64)
	pod=$(safename)

	# A server pod on the same bridge: networked, not traced.
	bridge_add "$net" "$br" "$subnet" "$srvid" "$srvns"
	ip=$(jq -r '.ips[0].address | split("/")[0]' <<<"$BRIDGE_RESULT")
	start_in_cgroup "$srvcg" ip netns exec "$srvns" \
		socat -u "TCP-LISTEN:$PORT,fork,reuseaddr" OPEN:/dev/null
	scb_wait_for_port "$SCB_BG_PID" "$PORT" || fail "no server in $srvns"

	# The client pod: bridge, then sockops-cb with the bridge's result
	# and what containerd puts in runtimeConfig.
	bridge_add "$net" "$br" "$subnet" "$id" "$ns"
	prev=$BRIDGE_RESULT
	conf=$(pod_conf "$net" "$prev" "$(jq -n --arg cg "$cg_rel" '{
		cgroupPath: $cg,
		"io.kubernetes.cri.pod-annotations": {
			"sockops-cb.io/flag-set": "full",
			"kubernetes.io/config.seen": "2026-11-25T00:00:00.000000000Z",
			"kubernetes.io/config.source": "api"
		},
		portMappings: []
	}')")
	scb_cni ADD "$id" "$ns" "$conf" \
		"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$pod;K8S_POD_INFRA_CONTAINER_ID=$id;K8S_POD_UID=$(safename)"
	assert_equal "$(jq -S 'del(.cniVersion)' <<<"$output")" \
		"$(jq -S 'del(.cniVersion)' <<<"$prev")"

	run target_fields "$id" '[.name, .pod_namespace, .pod_name, .kind,
		.origin, .cgroup, .network, .flag_set, (.requested | join(",")),
		(.effective | join(",")), (.clamped | length)] |
		join(" ")'
	assert_output "$pod default $pod cgroup cni $cg_rel $net full $FULL $FULL 0"
	assert_file_exists "$SCB_PIN_LINKS/$id"
	[ -n "$(cgroup_sockops_attached "$cg")" ] || fail "nothing attached to $cg"

	# A process of the pod: in its cgroup (joined first) and its netns.
	for ((i = 0; i < n; i++)); do
		run_in_cgroup "$cg" ip netns exec "$ns" \
			socat -u OPEN:/dev/null "TCP:$ip:$PORT" ||
			fail "connection $i to $ip failed"
	done
	run_scb stats "$pod" --json
	run jq -r '[.established_active, .established_passive, .connect,
		    .listen, .state_transitions["SYN_SENT->ESTABLISHED"],
		    (.rtt_samples > 0), .retrans, .rto,
		    (.effective | join(","))] | join(" ")' <<<"$output"
	assert_output "$n 0 $n 0 $n true 0 0 $FULL"

	# The runtime tears down in reverse: sockops-cb, then the bridge.
	scb_cni DEL "$id" "$ns" "$conf"
	assert_output ""
	assert_no_target "$id"
	assert_equal "$(cgroup_sockops_attached "$cg")" ""

	cni_bridge DEL "$net" "$br" "$subnet" "$id" "$ns" ||
		fail "bridge DEL of the client failed"
	cni_bridge DEL "$net" "$br" "$subnet" "$srvid" "$srvns" ||
		fail "bridge DEL of the server failed"
	# The bridge plugin leaves its bridge and host-local its lease dir.
	ip link del "$br"
	rm -rf "/var/lib/cni/networks/$net"
	run ip link show "$br"
	assert_failure
	assert_dir_not_exists "/var/lib/cni/networks/$net"
}

@test "containerd-style ADD: a systemd slice cgroupPath is expanded to its nested cgroups" {
	local p cg2 dir ns id rel

	# No dash in the prefix: each dash makes a parent slice.
	p=scbt$(random_string 8)
	cg2=$(cgroup2_mount)
	dir=$cg2
	for rel in "$p.slice" "$p-b.slice" "$p-b-c.slice"; do
		dir=$dir/$rel
		SCB_CGROUPS+=("$dir")
		mkdir "$dir" || fail "mkdir $dir"
	done
	ns=$(safename)
	make_netns "$ns"
	id=$(safename)

	scb_cni ADD "$id" "$ns" "$(pod_conf "$(safename)" "$SYNTHETIC_PREV" \
		"{\"cgroupPath\": \"$p-b-c.slice\",
		  \"io.kubernetes.cri.pod-annotations\":
			{\"sockops-cb.io/flags\": \"RTT,STATE\"}}")"
	run target_fields "$id" '[.cgroup, .flag_set, (.effective | join(","))] |
		join(" ")'
	assert_output "/$p.slice/$p-b.slice/$p-b-c.slice  STATE,RTT"
	[ -n "$(cgroup_sockops_attached "$dir")" ] || fail "nothing attached to $dir"

	loopback_traffic "$dir" "$ns" 3
	run_scb stats "$id" --json
	run jq -r '[.established_active, .established_passive, .listen,
		    (.rtt_samples > 0)] | join(" ")' <<<"$output"
	assert_output "3 3 1 true"

	scb_cni DEL "$id" "$ns" "$SYNTHETIC_PREV"
	assert_no_target "$id"
	assert_equal "$(cgroup_sockops_attached "$dir")" ""
}

# Both kinds on one node: a podman-CNI pod puts the program on the cgroup2
# root (node-wide link), a containerd pod puts it on its cgroup.  A socket
# of the containerd pod then runs the program once per link; each run must
# not count it again.
@test "a cgroupPath pod is counted once while a netns-registered pod exists" {
	local nsa nsb cg a b

	nsa=$(safename)
	nsb=$(safename)
	make_netns "$nsa"
	make_netns "$nsb"
	make_cgroup
	cg=$SCB_CGROUP
	a=$(safename)
	b=$(safename)

	# Pod a as podman registers it (netns): the node-wide link appears.
	scb_cni ADD "$a" "$nsa" "$(pod_conf "$(safename)" "$SYNTHETIC_PREV" '{}')"
	run target_fields "$a" .kind
	assert_output netns
	assert_file_exists "$SCB_NETNS_LINK"

	# Pod b as containerd registers it (cgroup), in the same node.
	scb_cni ADD "$b" "$nsb" "$(pod_conf "$(safename)" "$SYNTHETIC_PREV" \
		"{\"cgroupPath\": \"${cg#"$(cgroup2_mount)"}\",
		  \"io.kubernetes.cri.pod-annotations\":
			{\"sockops-cb.io/flag-set\": \"full\"}}")"

	loopback_traffic "$cg" "$nsb" 3
	run_scb stats "$b" --json
	run jq -r '[.established_active, .established_passive, .connect,
		    .listen] | join(" ")' <<<"$output"
	assert_output "3 3 3 1"
	run_scb stats "$a" --json
	run jq -r '[.established_active, .established_passive] | join(" ")' \
		<<<"$output"
	assert_output "0 0"
}
