#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The OCI hook role with real podman containers (runc): what a user sees in
# list, stats and trace after `podman run --annotation sockops-cb.io/...`,
# and that poststop takes everything away again.  Bad input to the hook is
# in 011-hook-faults.bats.
#
# Traffic comes from busybox: `nc -ll -p PORT -e cat` is an echo server
# (one `cat` per connection), and `echo hi | nc IP PORT` a client that sends
# a line, half-closes (so the client side closes first: ESTABLISHED ->
# FIN_WAIT1) and prints the echo.  Clients run through `podman exec` in a
# container started with `sleep`: the exec'd process is in the container's
# cgroup, and nothing but the test makes TCP in it, so counts are exact.

bats_require_minimum_version 1.5.0

load helpers

PORT=8080

# full is what the README's demo uses; state and rtt are single callbacks.
CONFIG='{
	"flagSets": {
		"full": ["STATE", "RTT", "RETRANS", "RTO"],
		"state": ["STATE"],
		"rtt": ["RTT"]
	},
	"defaultFlagSet": null
}'

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary
}

teardown()
{
	scb_trace_stop
	scb_teardown
}

# use_config [JSON]: write JSON (default $CONFIG) as this test's config and
# make run_podman run the hook with it at createRuntime and poststop.
use_config()
{
	SCB_CONFIG=$BATS_TEST_TMPDIR/config.json
	scb_write_config "$SCB_CONFIG" "${1:-$CONFIG}"
	scb_hooks_dir "$SCB_CONFIG"
}

# start_echo_server NAME [PODMAN-RUN-OPTS...]: a detached container running
# the echo server on $PORT; waits until it listens.
start_echo_server()
{
	local name=$1

	shift
	run_podman run -d --name "$name" "$@" "$SCB_IMAGE" \
		nc -ll -p "$PORT" -e cat
	wait_for_port_in_container "$name" "$PORT"
}

# connect_n CTR ADDR N: N connections from inside CTR to the echo server at
# ADDR:$PORT, one after the other; each must get its line back.
connect_n()
{
	local ctr=$1 addr=$2 n=$3

	run_podman exec "$ctr" sh -c \
		"for i in \$(seq $n); do echo hi-\$i | nc $addr $PORT || exit 1; done"
	assert_output "$(for ((i = 1; i <= n; i++)); do echo "hi-$i"; done)"
}

# list_entry REF: the `list --json` object whose id or name is REF, in
# $ENTRY ("" when there is none).
list_entry()
{
	run_scb list --json
	ENTRY=$(jq -c --arg r "$1" 'select(.id == $r or .name == $r)' <<<"$output")
}

# check_true JSON FILTER WHAT: FILTER (a jq boolean expression) holds.
check_true()
{
	jq -e "$2" <<<"$1" >/dev/null || fail "$3: $2 is not true (in: $1)$(_netns_hint)"
}

@test "hook: client and server with flag set full count connections, states and RTT; trace shows the 4-tuple" {
	local net srv cli sip cip trace=$BATS_TEST_TMPDIR/trace.json

	use_config
	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4 0)"
	srv=$(safename)
	cli=$(safename)
	start_echo_server "$srv" --network "$net" \
		--annotation sockops-cb.io/flag-set=full
	run_podman run -d --name "$cli" --network "$net" \
		--annotation sockops-cb.io/flag-set=full "$SCB_IMAGE" sleep 600
	sip=$(container_ip "$srv" "$net")
	cip=$(container_ip "$cli" "$net")

	scb_trace_start "$trace" --duration 3
	connect_n "$cli" "$sip" 3
	scb_trace_wait

	# The client: three active opens, each closed by the client first.
	stats_json "$cli"
	check "$STATS" .name "\"$cli\"" "stats name"
	check "$STATS" .established_active 3 "established_active"
	check "$STATS" .established_passive 0 "established_passive"
	check "$STATS" .connect 3 "connect"
	check "$STATS" '.state_transitions["SYN_SENT->ESTABLISHED"]' 3 \
		"SYN_SENT->ESTABLISHED"
	check_true "$STATS" '.state_transitions["ESTABLISHED->FIN_WAIT1"] >= 1' \
		"ESTABLISHED->FIN_WAIT1 (the client closes)"
	check_true "$STATS" '.rtt_samples > 0' "rtt_samples"
	check_true "$STATS" '(.rtt_hist_us | length) > 0' "rtt_hist_us not empty"
	check_true "$STATS" '([.rtt_hist_us[].count] | add) == .rtt_samples' \
		"the histogram holds every RTT sample"
	check "$STATS" '.retrans + .rto' 0 "no retransmits on a quiet bridge"

	# The server, annotated too: the accepted sockets are its own.
	stats_json "$srv"
	check "$STATS" .established_passive 3 "server established_passive"
	check "$STATS" .established_active 0 "server established_active"
	check "$STATS" '.state_transitions["SYN_RECV->ESTABLISHED"]' 3 \
		"server SYN_RECV->ESTABLISHED"

	# The text form prints a libbpf-tools style log2 histogram.
	run_scb stats "$cli"
	assert_output --partial "rtt usecs"
	assert_output --partial "distribution"
	assert_line --regexp '^ +[0-9]+ -> [0-9]+ +: [1-9][0-9]* +\|\*+ *\|$'

	# trace: the client's three connections with their addresses.
	run jq -c --arg n "$cli" --arg c "$cip" --arg s "$sip" --argjson p "$PORT" '
		select(.name == $n and .event == "ACTIVE_ESTABLISHED" and
		       .family == "ipv4" and .saddr == $c and .daddr == $s and
		       .dport == $p and .sport > 0)' "$trace"
	assert_success
	[ "${#lines[@]}" -eq 3 ] ||
		fail "trace: expected 3 ACTIVE_ESTABLISHED events $cip -> $sip:$PORT, got ${#lines[@]}: $(cat "$trace")"
	run jq -c --arg n "$cli" --arg c "$cip" --arg s "$sip" --argjson p "$PORT" '
		select(.name == $n and .event == "STATE" and
		       .old_state == "ESTABLISHED" and .new_state == "FIN_WAIT1" and
		       .saddr == $c and .daddr == $s and .dport == $p)' "$trace"
	[ "${#lines[@]}" -ge 1 ] ||
		fail "trace: no STATE ESTABLISHED->FIN_WAIT1 event of $cli: $(cat "$trace")"
	run jq -c --arg n "$srv" --arg c "$cip" --arg s "$sip" --argjson p "$PORT" '
		select(.name == $n and .event == "PASSIVE_ESTABLISHED" and
		       .saddr == $s and .sport == $p and .daddr == $c)' "$trace"
	[ "${#lines[@]}" -eq 3 ] ||
		fail "trace: expected 3 PASSIVE_ESTABLISHED events of $srv, got ${#lines[@]}"
}

@test "hook: list shows the podman name, the flags and the container's own cgroup" {
	local name id pid rel cg line

	use_config
	name=$(safename)
	run_podman run -d --name "$name" --annotation sockops-cb.io/flag-set=full \
		"$SCB_IMAGE" sleep 600
	id=$(container_id "$name")
	pid=$(container_pid "$name")
	rel=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	cg=$(container_cgroup "$name")

	list_entry "$name"
	[ -n "$ENTRY" ] || fail "$name is not in list --json"
	check "$ENTRY" .id "\"$id\"" "id"
	check "$ENTRY" .name "\"$name\"" "name"
	check "$ENTRY" .kind '"cgroup"' "kind"
	check "$ENTRY" .origin '"hook"' "origin"
	check "$ENTRY" .flag_set '"full"' "flag_set"
	check "$ENTRY" .requested '["RTO","RETRANS","STATE","RTT"]' "requested"
	check "$ENTRY" .effective '["RTO","RETRANS","STATE","RTT"]' "effective"
	check "$ENTRY" .clamped '[]' "clamped"
	check "$ENTRY" .removed false "removed"
	check "$ENTRY" .cgroup "\"$rel\"" "cgroup (as in /proc/$pid/cgroup)"
	# A cgroup's id is its inode number in the cgroup2 mount.
	check "$ENTRY" .cgroup_id "$(stat -c %i "$cg")" "cgroup_id"
	assert_file_exists "$SCB_PIN_LINKS/$id"
	run bpftool cgroup show "$cg"
	assert_output --partial sock_ops

	# The table a person reads has the same, in 80 columns ...
	run_scb list
	assert_line --regexp "^${id:0:12} +${name:0:13}.? +full +ORST +[0-9]+ +[0-9]+ +[0-9]+ +([0-9]+|-) +live\$"
	for line in "${lines[@]}"; do
		[ "${#line}" -le 80 ] || fail "a line of list is ${#line} columns: $line"
	done
	# ... and in full with --wide.
	run_scb list --wide
	assert_line --regexp "^$id +$name +full +RTO,RETRANS,STATE,RTT +RTO,RETRANS,STATE,RTT +[0-9]+ .* live +$rel\$"

	# A name, a unique id prefix and the full id all find it.
	run_scb stats "${id:0:12}" --json
	check "$output" .id "\"$id\"" "stats by id prefix"
	run_scb stats "$id" --json
	check "$output" .name "\"$name\"" "stats by full id"
}

@test "hook: retransmits and RTOs match the kernel's counters in the client's netns" {
	local net srv cli sip cpid ret0 to0 i st

	use_config
	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4 0)"
	srv=$(safename)
	cli=$(safename)
	# Only the client is traced; the server is where packets get dropped.
	start_echo_server "$srv" --network "$net"
	sip=$(container_ip "$srv" "$net")
	# One long connection carrying a line every 100 ms.
	run_podman run -d --name "$cli" --network "$net" \
		--annotation sockops-cb.io/flag-set=full "$SCB_IMAGE" sh -c \
		"while :; do echo x; usleep 100000; done | nc $sip $PORT >/dev/null"
	cpid=$(container_pid "$cli")
	for ((i = 0; i < 50; i++)); do
		[ -z "$(nsenter -t "$cpid" -n ss -Htn state established)" ] || break
		sleep 0.1
	done
	[ "$i" -lt 50 ] || fail "the client never connected to $sip:$PORT"

	# Only the client makes TCP in its netns: the kernel's counters there
	# are the client's.
	ret0=$(netns_tcp_counter "$cpid" RetransSegs)
	to0=$(netns_tcp_counter "$cpid" TCPTimeouts)
	stats_json "$cli"
	check "$STATS" '[.retrans, .retrans_failed, .rto]' '[0,0,0]' \
		"no retransmits before the drop"

	container_netns_exec "$srv" iptables -w -I INPUT -p tcp \
		--dport "$PORT" -j DROP
	sleep 2
	container_netns_exec "$srv" iptables -w -D INPUT -p tcp \
		--dport "$PORT" -j DROP
	# Until the connection has recovered: nothing unacknowledged is being
	# retransmitted ("retrans:CUR/TOTAL" in ss -i).
	for ((i = 0; i < 100; i++)); do
		st=$(nsenter -t "$cpid" -n ss -Htni state established)
		[[ $st =~ [[:space:]]retrans:[1-9] ]] || break
		sleep 0.1
	done
	[ "$i" -lt 100 ] || fail "the connection did not recover: $st"
	echo "# $st"

	stats_json "$cli"
	echo "# kernel: RetransSegs +$(($(netns_tcp_counter "$cpid" RetransSegs) - ret0))," \
		"TCPTimeouts +$(($(netns_tcp_counter "$cpid" TCPTimeouts) - to0))"
	check_true "$STATS" '.retrans >= 1' "retrans"
	check_true "$STATS" '.rto >= 1' "rto"
	check "$STATS" .retrans "$(($(netns_tcp_counter "$cpid" RetransSegs) - ret0))" \
		"retrans equals the kernel's RetransSegs delta in the client netns"
	check "$STATS" .rto "$(($(netns_tcp_counter "$cpid" TCPTimeouts) - to0))" \
		"rto equals the kernel's TCPTimeouts delta in the client netns"

	list_entry "$cli"
	check "$ENTRY" '[.retransmits, .rtos]' "$(jq -c '[.retrans, .rto]' <<<"$STATS")" \
		"list shows the same retransmits and rtos"
}

@test "hook: containers with different flag sets get different masks and only their callbacks" {
	local s r

	use_config
	s=$(safename)
	r=$(safename)
	# Loopback inside each container: both ends are in its cgroup.
	start_echo_server "$s" --annotation sockops-cb.io/flag-set=state
	start_echo_server "$r" --annotation sockops-cb.io/flag-set=rtt
	connect_n "$s" 127.0.0.1 2
	connect_n "$r" 127.0.0.1 2

	list_entry "$s"
	check "$ENTRY" '[.flag_set, .effective]' '["state",["STATE"]]' "$s mask"
	list_entry "$r"
	check "$ENTRY" '[.flag_set, .effective]' '["rtt",["RTT"]]' "$r mask"

	stats_json "$s"
	check "$STATS" '[.established_active, .established_passive]' '[2,2]' \
		"STATE-only: connections"
	check "$STATS" .rtt_samples 0 "STATE-only: rtt_samples"
	check "$STATS" .rtt_hist_us '[]' "STATE-only: rtt_hist_us"
	check_true "$STATS" '(.state_transitions | length) > 0 and
		.state_transitions["SYN_SENT->ESTABLISHED"] == 2' \
		"STATE-only: state transitions"

	stats_json "$r"
	check "$STATS" '[.established_active, .established_passive]' '[2,2]' \
		"RTT-only: connections"
	check_true "$STATS" '.rtt_samples > 0' "RTT-only: rtt_samples"
	check "$STATS" .state_transitions '{}' "RTT-only: state_transitions"
	check "$STATS" .closed 0 "RTT-only: closed (seen only through STATE)"
}

@test "hook: flags above maxFlags are clamped, and the clamped callback never runs" {
	local name

	use_config '{
		"flagSets": { "basic": ["STATE"] },
		"maxFlags": ["STATE", "RTT"]
	}'
	name=$(safename)
	# podman 4.3 splits --annotation at commas (a CSV string slice): quote
	# the whole KEY=VALUE, CSV style, to keep the commas in the value.
	start_echo_server "$name" \
		--annotation '"sockops-cb.io/flags=RTT,STATE,WRITE_HDR_OPT"'
	connect_n "$name" 127.0.0.1 2

	list_entry "$name"
	[ -n "$ENTRY" ] || fail "$name is not in list --json"
	check "$ENTRY" .requested '["STATE","RTT","WRITE_HDR_OPT"]' "requested"
	check "$ENTRY" .effective '["STATE","RTT"]' "effective"
	check "$ENTRY" .clamped '["WRITE_HDR_OPT"]' "clamped"

	stats_json "$name"
	check "$STATS" .established_active 2 "established_active"
	check_true "$STATS" '.rtt_samples > 0' "rtt_samples (RTT still on)"
	check "$STATS" .hdr_opt 0 "hdr_opt (WRITE_HDR_OPT clamped)"
}

@test "hook: an unannotated container gets the defaultFlagSet" {
	local name

	use_config '{
		"flagSets": { "basic": ["STATE"], "full": ["STATE", "RTT"] },
		"defaultFlagSet": "basic"
	}'
	name=$(safename)
	start_echo_server "$name"
	connect_n "$name" 127.0.0.1 1

	list_entry "$name"
	[ -n "$ENTRY" ] || fail "$name is not in list --json"
	check "$ENTRY" '[.flag_set, .requested, .effective]' \
		'["basic",["STATE"],["STATE"]]' "default flag set"
	stats_json "$name"
	check "$STATS" '[.established_active, .rtt_samples]' '[1,0]' \
		"traced with STATE only"
}

@test "hook: an unannotated container is not traced when defaultFlagSet is null" {
	local name id

	use_config
	name=$(safename)
	run_podman run -d --name "$name" "$SCB_IMAGE" sleep 600
	id=$(container_id "$name")

	list_entry "$name"
	[ -z "$ENTRY" ] || fail "$name is listed: $ENTRY"
	list_entry "$id"
	[ -z "$ENTRY" ] || fail "$id is listed: $ENTRY"
	assert_file_not_exists "$SCB_PIN_LINKS/$id"
	run bpftool cgroup show "$(container_cgroup "$name")"
	refute_output --partial sock_ops
}

@test "hook: poststop removes the pin, the list entry, the attachment and the map entries; others stay traced" {
	local a b ida cga cgida map

	use_config
	a=$(safename)
	b=$(safename)
	start_echo_server "$a" --annotation sockops-cb.io/flag-set=full
	start_echo_server "$b" --annotation sockops-cb.io/flag-set=full
	connect_n "$a" 127.0.0.1 1
	connect_n "$b" 127.0.0.1 1
	ida=$(container_id "$a")
	cga=$(container_cgroup "$a")

	# What must go away is there to begin with.
	list_entry "$a"
	[ -n "$ENTRY" ] || fail "$a is not in list --json"
	cgida=$(jq .cgroup_id <<<"$ENTRY")
	assert_file_exists "$SCB_PIN_LINKS/$ida"
	run bpftool cgroup tree "$(cgroup2_mount)"
	assert_output --partial "$cga"
	run bpftool -j link show
	check_true "$output" "any(.[]; .type == \"cgroup\" and .cgroup_id == $cgida)" \
		"a cgroup link on $a's cgroup"
	stats_json "$b"
	check "$STATS" .established_active 1 "$b before"

	run_podman rm -f -t 0 "$a"

	assert_file_not_exists "$SCB_PIN_LINKS/$ida"
	list_entry "$ida"
	[ -z "$ENTRY" ] || fail "$a is still listed: $ENTRY"
	run bpftool cgroup tree "$(cgroup2_mount)"
	refute_output --partial "$cga"
	run bpftool -j link show
	check_true "$output" "all(.[]; .type != \"cgroup\" or .cgroup_id != $cgida)" \
		"no cgroup link left on $a's cgroup (id $cgida)"
	for map in targets stats; do
		run bpftool -j map dump pinned "${SCB_PIN_LINKS%/*}/$map"
		assert_success
		check_true "$output" "all(.[]; .formatted.key != $cgida and
			.formatted.value.id? != \"$ida\")" \
			"no entry of $a (key $cgida) in the $map map"
	done

	# The other container's counters still move.
	connect_n "$b" 127.0.0.1 2
	stats_json "$b"
	check "$STATS" .established_active 3 "$b after $a was removed"
	check "$STATS" .established_passive 3 "$b after $a was removed"
}

@test "hook: IPv6 connections are traced with their addresses" {
	local net srv cli sip cip trace=$BATS_TEST_TMPDIR/trace.json

	use_config
	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4 0)" "$(scb_subnet6 0)"
	srv=$(safename)
	cli=$(safename)
	start_echo_server "$srv" --network "$net" \
		--annotation sockops-cb.io/flag-set=full
	run_podman run -d --name "$cli" --network "$net" \
		--annotation sockops-cb.io/flag-set=full "$SCB_IMAGE" sleep 600
	sip=$(container_ip -6 "$srv" "$net")
	cip=$(container_ip -6 "$cli" "$net")
	assert_regex "$sip" '^fd00:89:'

	scb_trace_start "$trace" --duration 2
	connect_n "$cli" "$sip" 1
	scb_trace_wait

	run jq -c --arg n "$cli" --arg c "$cip" --arg s "$sip" --argjson p "$PORT" '
		select(.name == $n and .event == "ACTIVE_ESTABLISHED" and
		       .family == "ipv6" and .saddr == $c and .daddr == $s and
		       .dport == $p)' "$trace"
	[ "${#lines[@]}" -eq 1 ] ||
		fail "trace: expected 1 ipv6 ACTIVE_ESTABLISHED [$cip] -> [$sip]:$PORT, got: $(cat "$trace")"
	run jq -c --arg n "$srv" --arg c "$cip" --arg s "$sip" '
		select(.name == $n and .event == "PASSIVE_ESTABLISHED" and
		       .family == "ipv6" and .saddr == $s and .daddr == $c)' "$trace"
	[ "${#lines[@]}" -eq 1 ] ||
		fail "trace: expected 1 ipv6 PASSIVE_ESTABLISHED of $srv, got ${#lines[@]}"

	stats_json "$cli"
	check "$STATS" '[.established_active, .state_transitions["SYN_SENT->ESTABLISHED"]]' \
		'[1,1]' "ipv6 client counters"
	check_true "$STATS" '.rtt_samples > 0' "ipv6 rtt_samples"
	stats_json "$srv"
	check "$STATS" .established_passive 1 "ipv6 server established_passive"
}

@test "hook: createRuntime and poststop are idempotent (hook driven by hand)" {
	local ns id cfg state stopped never pid links

	cfg=$BATS_TEST_TMPDIR/config.json
	scb_write_config "$cfg" "$CONFIG"
	make_cgroup
	ns=$(safename)
	make_netns "$ns"
	start_in_cgroup "$SCB_CGROUP" sleep 600
	pid=$SCB_BG_PID
	id=scbtest-$(random_string 16)
	scb_track_attach "$id"
	state=$BATS_TEST_TMPDIR/state.json
	stopped=$BATS_TEST_TMPDIR/stopped.json
	scb_oci_state "$id" "$pid" '{"sockops-cb.io/flag-set":"full"}' >"$state"
	scb_oci_state "$id" 0 '{"sockops-cb.io/flag-set":"full"}' stopped >"$stopped"

	run_hook createRuntime "$cfg" "$state"
	run_hook createRuntime "$cfg" "$state"

	assert_file_exists "$SCB_PIN_LINKS/$id"
	run_scb list --json
	run jq -s --arg id "$id" '[.[] | select(.id == $id)] | length' <<<"$output"
	assert_output 1
	run bpftool cgroup show "$SCB_CGROUP"
	# The attach type reads "cgroup_sock_ops" (not a word of its own).
	links=$(grep -c sock_ops <<<"$output" || true)
	[ "$links" -eq 1 ] ||
		fail "expected 1 sock_ops attachment on $SCB_CGROUP, got $links: $output"

	# One link: one connection counts once.
	start_in_cgroup "$SCB_CGROUP" ip netns exec "$ns" \
		socat -u TCP-LISTEN:$PORT,bind=127.0.0.1 OPEN:/dev/null
	scb_wait_for_port "$SCB_BG_PID" "$PORT"
	run_in_cgroup "$SCB_CGROUP" ip netns exec "$ns" \
		socat -u OPEN:/dev/null TCP:127.0.0.1:$PORT
	stats_json "$id"
	check "$STATS" '[.established_active, .established_passive]' '[1,1]' \
		"one connection after two createRuntime"

	run_hook poststop "$cfg" "$stopped"
	run_hook poststop "$cfg" "$stopped"
	assert_file_not_exists "$SCB_PIN_LINKS/$id"
	list_entry "$id"
	[ -z "$ENTRY" ] || fail "$id is still listed: $ENTRY"
	run bpftool cgroup show "$SCB_CGROUP"
	refute_output --partial sock_ops

	# poststop of a container that was never attached has nothing to do.
	never=$BATS_TEST_TMPDIR/never.json
	scb_oci_state "scbtest-never-$(random_string 8)" 0 '{}' stopped >"$never"
	run_hook poststop "$cfg" "$never"
	run_hook poststop "" "$never"
}

# A regression test.  Found while writing these tests: the CNI role's
# node-wide link (the program attached at the cgroup2 root while any netns
# target exists) ran the program a second time for every socket of a
# hook-traced cgroup, so every counter of that container doubled (1
# connection -> established_active 2, listen 2, ...).  Fixed in 3c60a72.
@test "hook: a container's counters are not doubled while a CNI pod is registered by netns" {
	local ns cni_id conf name

	use_config
	ns=$(safename)
	make_netns "$ns"
	cni_id=scbtest-cni-$(random_string 12)
	scb_track_attach "$cni_id"
	conf='{"cniVersion":"1.0.0","name":"scbtest","type":"sockops-cb",
	       "flagSets":{"full":["STATE","RTT"]},"defaultFlagSet":"full",
	       "prevResult":{"cniVersion":"1.0.0","interfaces":[],"ips":[]}}'
	run env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID="$cni_id" \
		CNI_NETNS="/run/netns/$ns" CNI_IFNAME=eth0 "$SCB" <<<"$conf"
	assert_success
	list_entry "$cni_id"
	check "$ENTRY" .kind '"netns"' "the CNI pod is a netns target"

	name=$(safename)
	start_echo_server "$name" --annotation sockops-cb.io/flag-set=full
	connect_n "$name" 127.0.0.1 1
	stats_json "$name"
	check "$STATS" '[.listen, .established_active, .established_passive]' \
		'[1,1,1]' "one listener and one connection, counted once"
	check "$STATS" '.state_transitions["SYN_SENT->ESTABLISHED"]' 1 \
		"SYN_SENT->ESTABLISHED counted once"

	run env -i PATH="$PATH" CNI_COMMAND=DEL CNI_CONTAINERID="$cni_id" \
		CNI_NETNS="/run/netns/$ns" CNI_IFNAME=eth0 "$SCB" <<<"$conf"
	assert_success
}

@test "hook: --version, --help of every subcommand, and flags" {
	local cmd all

	run_scb --version
	assert_output --regexp '^sockops-cb [0-9]+\.[0-9]+'
	run_scb --help
	assert_output --partial "Commands:"
	for cmd in hook list stats trace flags attach detach unload; do
		run_scb "$cmd" --help
		assert_output --regexp "Usage: .*$cmd"
		assert_output --partial EXAMPLES
	done

	# The oracle: the kernel's own BPF_SOCK_OPS_ALL_CB_FLAGS, read from its
	# BTF by bpftool.
	all=$(bpftool btf dump file /sys/kernel/btf/vmlinux |
		sed -n "s/^[[:space:]]*'BPF_SOCK_OPS_ALL_CB_FLAGS' val=\([0-9]*\)/\1/p")
	[ -n "$all" ] || fail "bpftool shows no BPF_SOCK_OPS_ALL_CB_FLAGS"
	run_scb flags --json
	check "$(jq -sc '[.[] | select(.flag and .supported) | .bit] | add' <<<"$output")" . \
		"$((all & 0x7f))" "the flags this kernel has"
	check "$(jq -sc '[.[] | select(.flag and (.supported | not)) | .bit] | add // 0' <<<"$output")" . \
		"$((0x7f & ~all))" "the flags it lacks"
	run_scb flags
	assert_line --regexp "^RTT +0x08 +$( ((all & 8)) && echo yes || echo no) +RTT_CB once per RTT window"
}
