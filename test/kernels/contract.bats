#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The kernel contract: what a user sees on a real host with a given
# kernel (systemd as PID 1, pure cgroup v2, podman's defaults), run in each
# of Debian's kernels by test/kernels/run.sh.  Where a kernel lacks a
# feature the test checks what the product says it does there instead of
# skipping; the kernel's version is the independent oracle of which
# kernels those are.

bats_require_minimum_version 1.5.0

load ../helpers

TCPLOAD=$SCB_TEST_DIR/oracle/tcpload.py
RAWOPT=$SCB_TEST_DIR/kernels/rawopt.py
PORT=5001
SRV4=10.254.0.2	# scb_two_hosts
ALL_FLAGS='["RTO","RETRANS","STATE","RTT","PARSE_ALL_HDR_OPT","PARSE_UNKNOWN_HDR_OPT","WRITE_HDR_OPT"]'

setup()
{
	basic_setup
	scb_require_binary
	SCB_BG_PIDS=()
	INSTALLED=
	PODMAN_DEFAULT_CTRS=()
}

teardown()
{
	local c

	for c in ${PODMAN_DEFAULT_CTRS[@]+"${PODMAN_DEFAULT_CTRS[@]}"}; do
		podman_defaults rm -f -t 0 "$c" >/dev/null 2>&1 || true
	done
	[ -z "$INSTALLED" ] || uninstall
	scb_bg_stop_all
	scb_teardown
}

# podman_defaults ARGS...: podman as the host's admin runs it: no private
# containers.conf (systemd cgroup manager, crun, netavark), the hooks
# `make install` put in the default hooks directory.
podman_defaults()
{
	env -u CONTAINERS_CONF timeout --foreground -v --kill=10 "$PODMAN_TIMEOUT" podman "$@"
}

# traced NAME FLAGS [CONFIG]: a new cgroup ($SCB_CGROUP) traced as NAME.
traced()
{
	make_cgroup
	scb_track_attach "$1"
	run_scb attach --cgroup "${SCB_CGROUP#"$(cgroup2_mount)"}" --name "$1" \
		--flags "$2" ${3:+--config "$3"}
}

# loopback_conns CG N: N TCP connections over 127.0.0.1 made and accepted
# by one process in cgroup CG, each carrying a request and an answer.
loopback_conns()
{
	run_in_cgroup "$1" python3 -c '
import socket, sys
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(64)
for i in range(int(sys.argv[1])):
    c = socket.create_connection(l.getsockname())
    a, _ = l.accept()
    c.sendall(b"ping")
    a.recv(4)
    a.sendall(b"pong")
    c.recv(4)
    c.close()
    a.close()' "$2" || fail "loopback traffic failed"
}

# server CG [serve|sink]: tcpload.py's server in $NS_S, in cgroup CG.
server()
{
	bg_in_ns "$1" "$NS_S" python3 "$TCPLOAD" "${2:-serve}" "$PORT"
	SCB_BG_PIDS+=("$SCB_BG_PID")
	scb_wait_listen "$NS_S" "$PORT"
}

# loss_burst CG: one connection from cgroup CG in $NS_C to the sink in
# $NS_S that sends, loses everything for 1.5 s (RTOs, retransmits), then
# sends again and closes.  Ends when both netns are quiet.
loss_burst()
{
	local cg=$1 f=$BATS_TEST_TMPDIR/burst pid i

	rm -f "$f".*
	bg_in_ns "$cg" "$NS_C" python3 -c '
import os, socket, sys, time
def wait(p):
    while not os.path.exists(p):
        time.sleep(0.02)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(bytes(1000))
open(sys.argv[3] + ".ready", "w").close()
wait(sys.argv[3] + ".go")
s.sendall(bytes(20000))
wait(sys.argv[3] + ".end")
s.sendall(bytes(1000))
s.close()' "$SRV4" "$PORT" "$f"
	pid=$SCB_BG_PID
	for ((i = 0; i < 200; i++)); do
		[ -e "$f.ready" ] && break
		sleep 0.05
	done
	[ -e "$f.ready" ] || fail "loss_burst: the client did not connect"
	ip netns exec "$NS_C" tc qdisc add dev vc root netem loss 100% ||
		fail "tc qdisc add netem failed: no sch_netem?"
	touch "$f.go"
	sleep 1.5
	ip netns exec "$NS_C" tc qdisc del dev vc root
	touch "$f.end"
	wait "$pid" || fail "loss_burst: the client failed"
	wait_netns_quiet "$NS_C"
	wait_netns_quiet "$NS_S"
}

# counters_fed NAME: the counter each flag feeds, as flag=value words.
counters_fed()
{
	"$SCB" stats "$1" --json | jq -r '"RTO=\(.rto) RETRANS=\(.retrans) STATE=\(.closed) RTT=\(.rtt_samples) HDR=\(.hdr_opt)"'
}

# expect_only_fed NAME KEY: counter KEY (of counters_fed) moved, the
# counters of the flags not set did not.
expect_only_fed()
{
	local got k v

	got=$(counters_fed "$1") || fail "stats $1 failed"
	echo "# $1: $got"
	for kv in $got; do
		k=${kv%%=*} v=${kv#*=}
		if [ "$k" = "$2" ]; then
			[ "$v" -gt 0 ] || fail "$1: $2's counter did not move: $got"
		else
			[ "$v" -eq 0 ] || fail "$1: $k counted without its flag: $got"
		fi
	done
}

# our_programs: the node's BPF programs that are ours (scb_*), "ID NAME".
our_programs()
{
	bpftool -j prog show | jq -r '.[] | select(.name // "" | startswith("scb_")) | "\(.id) \(.name)"'
}

# sockops_links: the sock_ops links of the node, "ID PROG_ID".
sockops_links()
{
	bpftool -j link show | jq -r '.[] | select(.attach_type // "" | test("sock_ops")) | "\(.id) \(.prog_id)"'
}

# uninstall: what `make install` put, and the example config it added.
uninstall()
{
	make -C "$SCB_REPO" -s uninstall >/dev/null || echo "# make uninstall failed"
	[ "$INSTALLED" != new-config ] || rm -f /etc/sockops-cb/config.json
	rmdir /etc/sockops-cb 2>/dev/null || true
	INSTALLED=
}

@test "contract: attach, loopback TCP, stats, detach and unload: a traced cgroup counts its connects and nothing is left" {
	local name cg pins

	name=$(safename)
	traced "$name" STATE
	cg=$SCB_CGROUP
	loopback_conns "$cg" 5
	stats_json "$name"
	check "$STATS" '[.connect, .established_active, .established_passive]' '[5,5,5]' \
		"5 loopback connections, both ends"

	run_scb detach "$name"
	assert_no_target "$name"
	assert_equal "$(cgroup_sockops_attached "$cg")" ""
	run_scb unload
	run our_programs
	assert_output ""
	run sockops_links
	assert_output ""
	pins=$(find /sys/fs/bpf/sockops-cb -mindepth 1 2>/dev/null || true)
	[ -z "$pins" ] || fail "pins left after unload: $pins"
	_scb_rmdir_cgroup "$cg"
	assert_dir_not_exists "$cg"
}

@test "contract: each callback flag alone feeds its own counter and no other" {
	local cfg=$BATS_TEST_TMPDIR/config.json flag key name srv

	scb_two_hosts
	scb_write_config "$cfg" "{\"maxFlags\":$ALL_FLAGS}"
	make_cgroup
	srv=$SCB_CGROUP
	server "$srv" sink
	for flag in RTO RETRANS STATE RTT PARSE_ALL_HDR_OPT WRITE_HDR_OPT; do
		key=$flag
		[[ $flag != *HDR_OPT ]] || key=HDR
		name=$flag-$(random_string 6)
		traced "$name" "$flag" "$cfg"
		loss_burst "$SCB_CGROUP"
		expect_only_fed "$name" "$key"
	done
}

@test "contract: PARSE_UNKNOWN_HDR_OPT counts segments carrying an option the kernel does not know, and no others" {
	local cfg=$BATS_TEST_TMPDIR/config.json name

	scb_two_hosts
	scb_write_config "$cfg" "{\"maxFlags\":$ALL_FLAGS}"
	name=unknown-$(random_string 6)
	# The traced end is the server: it receives the segments.
	traced "$name" PARSE_UNKNOWN_HDR_OPT "$cfg"
	server "$SCB_CGROUP" sink
	# Ordinary traffic first: no unknown option, no call.
	in_ns "$SCB_CGROUP" "$NS_C" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(bytes(50000))
s.close()' "$SRV4" "$PORT"
	wait_netns_quiet "$NS_S"
	check "$("$SCB" stats "$name" --json)" '.hdr_opt' 0 "no unknown option in ordinary traffic"
	# The kernel of $NS_C knows no socket for the raw client's segments.
	ip netns exec "$NS_C" iptables -w -A OUTPUT -p tcp --tcp-flags RST,ACK RST -j DROP
	ip netns exec "$NS_C" python3 "$RAWOPT" 10.254.0.1 "$SRV4" "$PORT" ||
		fail "the raw client failed"
	wait_netns_quiet "$NS_S"
	expect_only_fed "$name" HDR
}

@test "contract: podman with its defaults (systemd cgroup manager, crun, netavark) and with runc runs the installed hook: list shows the container, stats counts its connects, rm removes it" {
	local runtime name id n opts

	run podman_defaults info --format '{{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}'
	assert_success
	assert_output "systemd crun netavark"
	INSTALLED=1
	[ -e /etc/sockops-cb/config.json ] || INSTALLED=new-config
	run make -C "$SCB_REPO" -s install
	assert_success
	assert_file_exists /usr/share/containers/oci/hooks.d/sockops-cb.json

	for runtime in default runc; do
		name=$(safename)
		PODMAN_DEFAULT_CTRS+=("$name")
		opts=()
		[ "$runtime" = default ] || opts=(--runtime "$runtime")
		run podman_defaults run -d --name "$name" ${opts[@]+"${opts[@]}"} \
			--annotation sockops-cb.io/flag-set=full "$SCB_IMAGE" sh -c '
			echo hi >/tmp/i
			httpd -p 127.0.0.1:8080 -h /tmp
			sleep 0.5
			for n in 1 2 3; do wget -q -O /dev/null http://127.0.0.1:8080/i; done
			touch /tmp/done
			sleep 600'
		assert_success
		id=$output
		wait_until 60 podman_defaults exec "$name" test -e /tmp/done
		run "$SCB" list --json
		echo "$output"
		n=$(jq -s --arg id "$id" '[.[] | select(.id == $id)] | length' <<<"$output")
		[ "$n" -eq 1 ] || fail "$runtime: container $id is not listed once"
		stats_json "$name"
		check "$STATS" '.connect' 3 "$runtime: 3 loopback connects (wget)"
		check "$STATS" '.established_passive' 3 "$runtime: 3 accepted (httpd)"
		run podman_defaults rm -f -t 0 "$name"
		assert_success
		assert_no_target "$id"
	done
}

@test "contract: oracle: with 20 ms netem delay each way the RTT values are in the bucket holding 40 ms (every one without emulation)" {
	local cg out=$BATS_TEST_TMPDIR/rr name i

	scb_two_hosts
	ip netns exec "$NS_C" tc qdisc add dev vc root netem delay 20ms
	ip netns exec "$NS_S" tc qdisc add dev vs root netem delay 20ms
	name=rtt-$(random_string 6)
	traced "$name" RTT
	cg=$SCB_CGROUP
	make_cgroup
	server "$SCB_CGROUP"
	bg_in_ns "$cg" "$NS_C" python3 "$TCPLOAD" rr "$SRV4" "$PORT" 20 0 "$out"
	wait_for_file "$out" 30
	# The kernel's own smoothed RTT of the connection, for the record.
	echo "# ss -ti: $(ip netns exec "$NS_C" ss -Htin "dport = :$PORT" | grep -o 'rtt:[^ ]*')"
	touch "$out.done"
	stats_json "$name"
	echo "# $(jq -c '{rtt_samples, rtt_values, rtt_hist_us}' <<<"$STATS")"
	[ "$(jq .rtt_samples <<<"$STATS")" -ge 19 ] || fail "too few RTT values"
	check_rtt_40ms "$STATS"
}

@test "contract: oracle: retransmitted segments and RTOs equal the client netns' TcpRetransSegs and TCPTimeouts under netem random loss" {
	local cg name r0 t0 ours kern

	scb_two_hosts
	name=loss-$(random_string 6)
	traced "$name" RTO+RETRANS
	cg=$SCB_CGROUP
	make_cgroup
	server "$SCB_CGROUP" sink
	ip netns exec "$NS_C" tc qdisc add dev vc root netem loss 5%
	r0=$(ns_tcp_counter "$NS_C" RetransSegs)
	t0=$(ns_tcp_counter "$NS_C" TCPTimeouts)
	in_ns "$cg" "$NS_C" timeout 3 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = bytes(1 << 16)
while True:
    s.sendall(buf)' "$SRV4" "$PORT" || true
	wait_netns_quiet "$NS_C"
	stats_json "$name"
	ours=$(jq .retrans <<<"$STATS")
	kern=$(($(ns_tcp_counter "$NS_C" RetransSegs) - r0))
	echo "# retransmitted segments: ours $ours, kernel $kern"
	[ "$kern" -ge 10 ] || fail "too few retransmits to tell anything: $kern"
	assert_equal "retrans $ours" "retrans $kern"
	assert_equal "rto $(jq .rto <<<"$STATS")" \
		"rto $(($(ns_tcp_counter "$NS_C" TCPTimeouts) - t0))"
}

@test "contract: CNI netns mode (no cgroupPath): traced by network namespace where the kernel can (Linux >= 5.15), else ADD passes prevResult through and says so in one line" {
	local id ns conf prev

	make_netns "$(safename)"
	ns=${SCB_NETNS[-1]}
	id=$(safename)
	prev='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"interface":0,"address":"10.89.0.2/24"}]}'
	conf=$(jq -c -n --arg net "$(safename)" --argjson prev "$prev" '{
		cniVersion: "1.0.0", name: $net, type: "sockops-cb",
		flagSets: { basic: ["STATE"] }, defaultFlagSet: "basic",
		prevResult: $prev }')
	SCB_ATTACHED+=("$id")
	run_cni "$conf" CNI_COMMAND=ADD CNI_CONTAINERID="$id" CNI_NETNS="/run/netns/$ns" \
		CNI_IFNAME=eth0 CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=$id"
	assert_equal "$(jq -cS . <<<"$output")" "$(jq -cS . <<<"$prev")"
	if kernel_at_least 5 15; then
		[ -z "$stderr" ] || fail "a warning on a kernel that has the feature: $stderr"
		run jq -r .kind <<<"$(scb_target_json "$id")"
		assert_output netns
		# Any process in the netns is the pod's: no cgroup of its own.
		make_cgroup
		run_in_cgroup "$SCB_CGROUP" ip netns exec "$ns" python3 -c '
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
for i in range(4):
    c = socket.create_connection(l.getsockname()); a, _ = l.accept(); c.close(); a.close()'
		wait_netns_quiet "$ns"
		stats_json "$id"
		check "$STATS" '.connect' 4 "4 connects in the registered netns"
	else
		[ "$(grep -c . <<<"$stderr")" -eq 1 ] || fail "expected one line on stderr: $stderr"
		[[ $stderr == *"network namespace"*"which this kernel lacks"* ]] ||
			fail "stderr does not say the kernel lacks the feature: $stderr"
		assert_equal "$(scb_target_json "$id")" ""
	fi
	run_cni "$conf" CNI_COMMAND=DEL CNI_CONTAINERID="$id" CNI_NETNS="/run/netns/$ns" \
		CNI_IFNAME=eth0 CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=$id"
	assert_no_target "$id"
	assert_netns_link_consistent
}
