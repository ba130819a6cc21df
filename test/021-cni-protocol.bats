#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The CNI protocol of the plugin role, called directly the way libcni calls
# a chained plugin (CNI SPEC.md): VERSION, ADD, CHECK, DEL, GC and STATUS,
# and every error path.  An error is one JSON object on stdout
# {cniVersion, code, msg, details}, exit status 1, the message also on
# stderr, and nothing half-attached.  End-to-end traffic is in 020-cni.bats.
#
# Each test gets its own network name, netns ($NS) and cgroup ($CG, relative
# $CG_REL); the pods are attached through runtimeConfig.cgroupPath unless a
# test needs the netns-cookie registration (podman's CNI backend), which
# attaches node-wide.

bats_require_minimum_version 1.5.0
load helpers

# A prevResult as the bridge plugin prints it (1.0.0).
PREV='{
	"cniVersion": "1.0.0",
	"interfaces": [
		{ "name": "cni-scb0", "mac": "9a:3e:51:b2:10:01" },
		{ "name": "veth1234abcd", "mac": "9a:3e:51:b2:10:01" },
		{ "name": "eth0", "mac": "02:42:0a:59:00:02", "sandbox": "/run/netns/x" }
	],
	"ips": [ { "interface": 2, "address": "10.89.0.2/24", "gateway": "10.89.0.1" } ],
	"routes": [ { "dst": "0.0.0.0/0", "gw": "10.89.0.1" } ],
	"dns": { "nameservers": [ "10.89.0.1" ], "search": [ "example.test" ] }
}'

# flags_to_json order: the kernel's bit order.
FULL='["RTO","RETRANS","STATE","RTT"]'

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary

	NET=$(safename)
	NS=$(safename)
	make_netns "$NS"
	make_cgroup
	CG=$SCB_CGROUP
	CG_REL=${CG#"$(cgroup2_mount)"}
	# Containers this test ADDed: teardown DELs them whatever happened.
	CNI_ADDED=()
}

teardown()
{
	local id

	# Whatever the test left: every network of the container.
	for id in ${CNI_ADDED[@]+"${CNI_ADDED[@]}"}; do
		"$SCB" detach "$id" >/dev/null 2>&1 || true
	done
	scb_teardown
}

# cni_conf [JQ-FILTER]: the configuration a runtime sends to sockops-cb:
# its conflist entry with the network's name and version, prevResult and
# runtimeConfig (containerd's cgroupPath and pod annotations, asking for
# "full"), edited by JQ-FILTER, e.g. 'del(.prevResult)'.
cni_conf()
{
	jq -c -n --arg net "$NET" --arg cg "$CG_REL" --argjson prev "$PREV" '{
		cniVersion: "1.0.0",
		name: $net,
		type: "sockops-cb",
		capabilities: { cgroupPath: true,
				"io.kubernetes.cri.pod-annotations": true },
		flagSets: { basic: ["STATE"], full: ["STATE", "RTT", "RETRANS", "RTO"] },
		defaultFlagSet: "basic",
		prevResult: $prev,
		runtimeConfig: {
			cgroupPath: $cg,
			"io.kubernetes.cri.pod-annotations":
				{ "sockops-cb.io/flag-set": "full" }
		}
	} | '"${1:-.}" || fail "cni_conf: bad filter: ${1:-.}"
}

# cni [EXPECTED_RC] CMD ID STDIN [VAR=VALUE | -VAR]...: call the plugin with
# a runtime's environment for container ID: CNI_COMMAND=CMD,
# CNI_CONTAINERID=ID, CNI_NETNS=/run/netns/$NS, CNI_IFNAME=eth0 and CNI_ARGS
# naming the pod ID in namespace "default".  VAR=VALUE overrides or adds a
# variable, -VAR leaves it out.
cni()
{
	local rc=() cmd id stdin a env=()
	local -A e

	case "$1" in
	[0-9] | [0-9][0-9] | [0-9][0-9][0-9] | '?')
		rc=("$1")
		shift
		;;
	esac
	cmd=$1 id=$2 stdin=$3
	shift 3
	e=([CNI_COMMAND]=$cmd [CNI_CONTAINERID]=$id [CNI_NETNS]=/run/netns/$NS
	   [CNI_IFNAME]=eth0
	   [CNI_ARGS]="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$id")
	for a; do
		case "$a" in
		-*) unset "e[${a#-}]" ;;
		*=*) e[${a%%=*}]=${a#*=} ;;
		esac
	done
	for a in "${!e[@]}"; do
		env+=("$a=${e[$a]}")
	done
	[ "$cmd" != ADD ] || CNI_ADDED+=("$id")
	run_cni ${rc[@]+"${rc[@]}"} "$stdin" "${env[@]}"
}

# assert_cni_error CODE [REGEX]: the last call failed the CNI way: exit 1,
# stdout one JSON object with cniVersion, this code and a non-empty msg
# (matching REGEX), and the message logged on stderr.
assert_cni_error()
{
	local code=$1 re=${2:-} json msg

	assert_equal "$status" 1
	[ "${#lines[@]}" -eq 1 ] ||
		fail "stdout must be one JSON line, got ${#lines[@]}: $output"
	json=$(jq -c . <<<"$output" 2>/dev/null) ||
		fail "stdout is not JSON: $output"
	jq -e 'type == "object" and (.cniVersion | type == "string") and
	       (.code | type == "number") and (.msg | type == "string") and
	       (.msg | length > 0)' <<<"$json" >/dev/null ||
		fail "not a CNI error object: $json"
	assert_equal "$(jq -r .code <<<"$json")" "$code"
	msg=$(jq -r .msg <<<"$json")
	if [ -n "$re" ] && ! [[ $msg =~ $re ]]; then
		fail "msg does not match /$re/: $msg"
	fi
	[[ $stderr == *"$msg"* ]] || fail "stderr does not log the message: $stderr"
	CNI_MSG=$msg
}

# assert_not_attached ID: a failed call left nothing behind: no target, no
# link pin, nothing on our cgroup, and the node-wide netns link only if a
# netns target (maybe another test's) needs it.
assert_not_attached()
{
	assert_no_target "$1"
	assert_equal "$(cgroup_sockops_attached "$CG")" ""
	assert_netns_link_consistent
}

# pod_pair CG NS: one connection carrying 100 kB between two processes of
# the pod (cgroup CG, netns NS), both ends closed when it returns.
pod_pair()
{
	local cg=$1 ns=$2 port lpid

	port=$(scb_free_port)
	start_in_cgroup "$cg" ip netns exec "$ns" socat -u \
		"TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" OPEN:/dev/null
	lpid=$SCB_BG_PID
	wait_for_netns_ss "$ns" -l "sport = :$port"
	run_in_cgroup "$cg" ip netns exec "$ns" sh -c \
		"head -c 100000 /dev/zero | socat -u - TCP:127.0.0.1:$port" ||
		fail "pod_pair: the client failed"
	wait "$lpid" || fail "pod_pair: the listener failed"
	wait_until 10 tcp_port_settled "$port" "$ns"
}

# pod_pair_traced ID YES|NO: pod_pair in $CG and $NS, then whether target
# ID got RTT callbacks for it: what the kernel did with the flags the
# product set (`effective` in `list` is the configured set, whatever the
# kernel did).  STATE, in every set here, counted both ends' handshake.
# Differences of counters: a cgroup keeps its storage.
pod_pair_traced()
{
	local id=$1 want=false before after

	[ "$2" = NO ] || want=true
	before=$("$SCB" stats "$id" --json) || fail "stats $id failed"
	pod_pair "$CG" "$NS"
	after=$("$SCB" stats "$id" --json) || fail "stats $id failed"
	assert_equal "rtt sampled: $(jq -n --argjson b "$before" --argjson a "$after" \
		'$a.rtt_samples > $b.rtt_samples')" "rtt sampled: $want"
	assert_equal "established: $(jq -n -c --argjson b "$before" --argjson a "$after" '
		def d(k): ($a.state_transitions[k] // 0) - ($b.state_transitions[k] // 0);
		[d("SYN_SENT->ESTABLISHED"), d("SYN_RECV->ESTABLISHED")]')" "established: [1,1]"
}

# kernel_loads_sk_storage_iter: whether this kernel loads an
# iter/bpf_sk_storage_map program that reads a socket's TCP fields, which
# is what `conns` of a netns-registered pod runs.  Found out without the
# product: a minimal program of the test's own, compiled here against the
# kernel's BTF and loaded with bpftool into a bpffs of a private mount
# namespace (nothing stays pinned).  Some kernel builds refuse this
# iterator type (ENVIRONMENT.md).  The same program as iter/tcp must load,
# or the probe itself is broken: that fails the test, it decides nothing.
kernel_loads_sk_storage_iter()
{
	local dir=$BATS_TEST_TMPDIR/iter-probe kind rc defs

	mkdir -p "$dir/bpffs"
	bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$dir/vmlinux.h" ||
		fail "probe: cannot dump the kernel's BTF"
	for kind in tcp sk_storage; do
		cat >"$dir/$kind.bpf.c" <<-EOF
			#include "vmlinux.h"
			#include <bpf/bpf_helpers.h>
			#include <bpf/bpf_core_read.h>
			#ifdef SK_STORAGE
			#define ITER "iter/bpf_sk_storage_map"
			#define CTX struct bpf_iter__bpf_sk_storage_map
			#define SK(c) ((c)->value ? (void *)(c)->sk : NULL)
			#else
			#define ITER "iter/tcp"
			#define CTX struct bpf_iter__tcp
			#define SK(c) ((void *)(c)->sk_common)
			#endif
			SEC(ITER)
			int probe(CTX *ctx)
			{
				struct tcp_sock *tp;
				void *sk = SK(ctx);
				__u32 v;

				if (!sk)
					return 0;
				tp = bpf_skc_to_tcp_sock(sk);
				if (!tp)
					return 0;
				v = BPF_CORE_READ(tp, srtt_us);
				bpf_seq_write(ctx->meta->seq, &v, sizeof(v));
				return 0;
			}
			char LICENSE[] SEC("license") = "GPL";
		EOF
		defs=()
		[ "$kind" = tcp ] || defs=(-DSK_STORAGE)
		clang -g -O2 -target bpf ${defs[@]+"${defs[@]}"} \
			-I"$dir" -c "$dir/$kind.bpf.c" -o "$dir/$kind.bpf.o" ||
			fail "probe: cannot compile the $kind iterator"
		rc=0
		unshare --mount sh -c 'mount -t bpf bpf "$0" && bpftool prog load "$1" "$0/p"' \
			"$dir/bpffs" "$dir/$kind.bpf.o" >"$dir/$kind.log" 2>&1 || rc=$?
		echo "# probe: iter $kind loads: $([ "$rc" -eq 0 ] && echo yes || echo no)"
		if [ "$kind" = tcp ] && [ "$rc" -ne 0 ]; then
			fail "probe: even the iter/tcp control does not load: $(cat "$dir/tcp.log")"
		fi
	done
	return "$rc"
}

###############################################################################
# VERSION, STATUS

@test "VERSION lists 0.4.0, 1.0.0 and 1.1.0 whatever the stdin" {
	local stdin

	for stdin in '{"cniVersion":"1.0.0"}' '{"cniVersion":"9.9.9"}' '' 'not json'; do
		run_cni "$stdin" CNI_COMMAND=VERSION
		assert_equal "${#lines[@]}" 1
		run jq -e '(.supportedVersions | index("0.4.0") and index("1.0.0") and
			    index("1.1.0")) and (.cniVersion | type == "string")' \
			<<<"$output"
		assert_success
	done

	# The answer speaks the caller's version when it is one we know.
	run_cni '{"cniVersion":"0.4.0"}' CNI_COMMAND=VERSION
	assert_equal "$(jq -r .cniVersion <<<"$output")" 0.4.0
}

@test "STATUS succeeds with no output" {
	cni STATUS "$(safename)" "$(cni_conf '.cniVersion = "1.1.0" |
		del(.prevResult, .runtimeConfig)')"
	assert_output ""
}

###############################################################################
# ADD

@test "ADD prints prevResult back unchanged, in the request's cniVersion" {
	local v id

	for v in 0.4.0 1.0.0 1.1.0; do
		id=$(safename)
		cni ADD "$id" "$(cni_conf ".cniVersion = \"$v\"")"
		assert_equal "${#lines[@]}" 1
		assert_equal "$(jq -r .cniVersion <<<"$output")" "$v"
		assert_equal "$(jq -S 'del(.cniVersion)' <<<"$output")" \
			"$(jq -S 'del(.cniVersion)' <<<"$PREV")"

		# ... and the pod is traced with its annotated set.
		run jq -r '[.kind, .origin, .cgroup, .network, .pod_namespace,
			    .pod_name, .flag_set, (.effective | tostring)] | join(" ")' \
			<<<"$(scb_target_json "$id")"
		assert_output "cgroup cni $CG_REL $NET default $id full $FULL"
		assert_file_exists "$SCB_PIN_LINKS/$id"
		[ -n "$(cgroup_sockops_attached "$CG")" ] ||
			fail "nothing attached to $CG"
		# "full" as the kernel runs it: RTT callbacks on the pod's
		# connection.
		pod_pair_traced "$id" YES

		cni DEL "$id" "$(cni_conf ".cniVersion = \"$v\"")"
		assert_output ""
		assert_no_target "$id"
		assert_equal "$(cgroup_sockops_attached "$CG")" ""
	done
}

@test "ADD of an unannotated pod without defaultFlagSet passes it through untraced" {
	local id

	id=$(safename)
	cni ADD "$id" "$(cni_conf 'del(.defaultFlagSet) |
		del(.runtimeConfig["io.kubernetes.cri.pod-annotations"])')"
	assert_equal "$(jq -S 'del(.cniVersion)' <<<"$output")" \
		"$(jq -S 'del(.cniVersion)' <<<"$PREV")"
	assert_not_attached "$id"

	# No annotations at all, but a default: traced with the default.
	cni ADD "$id" "$(cni_conf 'del(.runtimeConfig["io.kubernetes.cri.pod-annotations"])')"
	run jq -r '.flag_set, (.effective | join(","))' <<<"$(scb_target_json "$id")"
	assert_output "$(printf '%s\n' basic STATE)"
	# ... and the kernel got STATE only: no RTT callbacks.
	pod_pair_traced "$id" NO
}

@test "ADD twice is idempotent; a second container on the same cgroup is refused" {
	local id other

	id=$(safename)
	other=$(safename)
	cni ADD "$id" "$(cni_conf)"
	cni ADD "$id" "$(cni_conf)"
	assert_equal "$("$SCB" list --json | jq -s --arg id "$id" \
		'map(select(.id == $id)) | length')" 1

	cni 1 ADD "$other" "$(cni_conf)"
	assert_cni_error 100 "already traced as $id"
	assert_no_target "$other"
	assert_file_exists "$SCB_PIN_LINKS/$id"
}

@test "ADD without prevResult fails with code 7: sockops-cb must be chained" {
	local id

	id=$(safename)
	cni 1 ADD "$id" "$(cni_conf 'del(.prevResult)')"
	assert_cni_error 7 "chained"
	assert_not_attached "$id"

	# The same for the netns registration (no cgroupPath).
	cni 1 ADD "$id" "$(cni_conf 'del(.prevResult) | del(.runtimeConfig.cgroupPath)')"
	assert_cni_error 7 "chained"
	assert_not_attached "$id"
}

###############################################################################
# CHECK, DEL

@test "CHECK passes after ADD and fails with code 103 once the link is removed" {
	local id

	id=$(safename)
	cni ADD "$id" "$(cni_conf)"
	cni CHECK "$id" "$(cni_conf)"
	assert_output ""
	[ -n "$(cgroup_sockops_attached "$CG")" ] || fail "nothing attached to $CG"

	# Someone removes the pin: the last reference, so the link detaches.
	rm "$SCB_PIN_LINKS/$id"
	assert_equal "$(cgroup_sockops_attached "$CG")" ""
	cni 1 CHECK "$id" "$(cni_conf)"
	assert_cni_error 103 "${id:0:12}"

	# DEL still cleans up what is left (the map entries).
	cni DEL "$id" "$(cni_conf)"
	assert_no_target "$id"
}

@test "CHECK of a netns-registered pod passes after ADD and fails with code 103 after DEL" {
	local id

	id=$(safename)
	cni ADD "$id" "$(cni_conf 'del(.runtimeConfig)')"
	run jq -r '.kind, .flag_set' <<<"$(scb_target_json "$id")"
	assert_output "$(printf '%s\n' netns basic)"
	assert_file_exists "$SCB_NETNS_LINK"
	cni CHECK "$id" "$(cni_conf 'del(.runtimeConfig)')"
	assert_output ""

	cni DEL "$id" "$(cni_conf 'del(.runtimeConfig)')"
	assert_no_target "$id"
	assert_netns_link_consistent
	cni 1 CHECK "$id" "$(cni_conf 'del(.runtimeConfig)')"
	assert_cni_error 103 "${id:0:12}"
}

# multus: one pod, a second network (another name, another ifname), the
# same cgroup or netns.  Each is an attachment of the pod's one target.
@test "a second network on the same pod (multus) is its own attachment: each DEL and GC removes only its own" {
	local id net2 mode conf1 conf2 attached

	net2=$(safename)
	for mode in cgroup netns; do
		id=$(safename)
		if [ "$mode" = cgroup ]; then
			conf1=$(cni_conf)
		else
			conf1=$(cni_conf 'del(.runtimeConfig)')
		fi
		conf2=$(jq -c --arg n "$net2" '.name = $n' <<<"$conf1")
		cni ADD "$id" "$conf1"
		cni ADD "$id" "$conf2" CNI_IFNAME=net1
		attached=".networks | map(.network + \"/\" + .ifname) | sort | join(\" \")"
		run jq -sr "length, (.[0] | .kind, ($attached))" <<<"$(scb_target_json "$id")"
		assert_output "$(printf '%s\n' 1 $mode "$(printf '%s\n' "$NET/eth0" "$net2/net1" |
			sort | paste -sd ' ')")"
		cni CHECK "$id" "$conf1"
		cni CHECK "$id" "$conf2" CNI_IFNAME=net1

		# The first network's DEL: the pod stays traced through the second.
		cni DEL "$id" "$conf1"
		run jq -r "$attached" <<<"$(scb_target_json "$id")"
		assert_output "$net2/net1"
		[ "$mode" = netns ] || assert_file_exists "$SCB_PIN_LINKS/$id"
		cni 1 CHECK "$id" "$conf1"
		assert_cni_error 103 "${id:0:12}"
		cni CHECK "$id" "$conf2" CNI_IFNAME=net1

		# A DEL of an ifname the pod never had on that network: nothing.
		cni DEL "$id" "$conf2" CNI_IFNAME=net9
		run jq -r "$attached" <<<"$(scb_target_json "$id")"
		assert_output "$net2/net1"

		# GC of the second network, this pod not listed: the last one goes.
		cni ADD "$id" "$conf1"
		cni GC "$(safename)" "$(jq -c '.cniVersion = "1.1.0" | del(.prevResult, .runtimeConfig) |
			.["cni.dev/valid-attachments"] = []' <<<"$conf2")"
		run jq -r "$attached" <<<"$(scb_target_json "$id")"
		assert_output "$NET/eth0"
		cni DEL "$id" "$conf1"
		assert_no_target "$id"
	done
	assert_netns_link_consistent
}

@test "conns of a netns-registered pod: its live connection where the kernel loads the iterator, a plain refusal where it does not" {
	local id port pins before c cport

	id=$(safename)
	cni ADD "$id" "$(cni_conf 'del(.runtimeConfig)')"
	port=$(scb_free_port)
	scb_bg_start ip netns exec "$NS" socat -u \
		"TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" OPEN:/dev/null
	wait_for_netns_ss "$NS" -l "sport = :$port"
	scb_bg_start ip netns exec "$NS" socat -u EXEC:"sleep 600" "TCP:127.0.0.1:$port"
	wait_for_netns_ss "$NS" state established "dport = :$port"
	# The client's port, as the kernel lists it.
	cport=$(ip netns exec "$NS" ss -Htn state established "dport = :$port" |
		awk '{ sub(/.*:/, "", $3); print $3 }')
	[[ $cport =~ ^[0-9]+$ ]] || fail "no client port from ss: $cport"

	before=$(ls "${SCB_PIN_LINKS%/links}")
	if kernel_loads_sk_storage_iter; then
		run_scb conns "$id" --json
		# Both ends of the pair are the pod's, with the ports ss shows.
		assert_equal "$(jq -s -c 'map([.sport, .dport]) | sort' <<<"$output")" \
			"$(jq -n -c "[[$cport, $port], [$port, $cport]] | sort")"
		c=$(jq -s -c --argjson p "$port" 'map(select(.dport == $p)) | .[0]' <<<"$output")
		assert_equal "$(jq -r '"\(.saddr) \(.daddr) \(.state)"' <<<"$c")" \
			"127.0.0.1 127.0.0.1 ESTABLISHED"
		assert_equal "$(jq -c .flags <<<"$c")" '["STATE"]'
	else
		# The kernel refuses the iterator: one line that says what is
		# lost, and nothing else is.
		run_scb 1 conns "$id" --json
		assert_output --partial "this kernel refuses the BPF iterator scb_conns_netns"
		assert_output --partial '`conns` of a netns-registered pod is not available'
		run_scb stats "$id" --json
		assert_equal "$(jq -r '"\(.connect) \(.established_passive)"' <<<"$output")" "1 1"
	fi
	# An iterator is loaded for the call: nothing is pinned by it.
	assert_equal "$(ls "${SCB_PIN_LINKS%/links}")" "$before"
}

@test "DEL is idempotent: twice, without prevResult or CNI_NETNS, never added, with a bad config" {
	local id

	id=$(safename)
	cni ADD "$id" "$(cni_conf)"
	cni DEL "$id" "$(cni_conf)"
	assert_output ""
	assert_no_target "$id"
	cni DEL "$id" "$(cni_conf)"
	assert_output ""

	# What a runtime sends when it lost its cache: no prevResult, no netns.
	cni ADD "$id" "$(cni_conf)"
	cni DEL "$id" "$(cni_conf 'del(.prevResult, .runtimeConfig)')" -CNI_NETNS
	assert_output ""
	assert_no_target "$id"

	cni DEL "$(safename)" "$(cni_conf)"
	assert_output ""
	cni DEL "$(safename)" "$(cni_conf 'del(.prevResult)')" -CNI_NETNS
	assert_output ""
	assert_equal "$stderr" ""

	# Even with a configuration ADD would refuse: DEL must not block
	# the removal of a pod.
	cni ADD "$id" "$(cni_conf)"
	cni DEL "$id" "$(cni_conf '.flagSets.full += ["RTX"] | .onError = 1')"
	assert_output ""
	assert_no_target "$id"
}

###############################################################################
# GC

@test "GC removes this network's attachments missing from cni.dev/valid-attachments, and nothing else" {
	local keep drop wrongif byns othernet manual hook i pid
	local -a cgs

	for i in 1 2 3 4 5 6; do
		make_cgroup
		cgs[i]=${SCB_CGROUP#"$(cgroup2_mount)"}
	done
	keep=$(safename) drop=$(safename) wrongif=$(safename) byns=$(safename)
	othernet=$(safename) manual=$(safename) hook=$(safename)

	cni ADD "$keep" "$(cni_conf ".runtimeConfig.cgroupPath = \"${cgs[1]}\"")"
	cni ADD "$drop" "$(cni_conf ".runtimeConfig.cgroupPath = \"${cgs[2]}\"")"
	cni ADD "$wrongif" "$(cni_conf ".runtimeConfig.cgroupPath = \"${cgs[3]}\"")"
	cni ADD "$byns" "$(cni_conf 'del(.runtimeConfig)')"
	cni ADD "$othernet" "$(cni_conf ".runtimeConfig.cgroupPath = \"${cgs[4]}\" |
		.name = \"$NET-other\"")"

	# Not CNI's: one attached by hand, one by the OCI hook.
	run_scb attach --cgroup "${cgs[5]}" --name "$manual" --flags STATE
	scb_write_config "$BATS_TEST_TMPDIR/config.json" '{"flagSets":{"basic":["STATE"]}}'
	start_in_cgroup "$(cgroup2_mount)${cgs[6]}" sleep 600
	pid=$SCB_BG_PID
	scb_track_attach "$hook"
	jq -n --arg id "$hook" --argjson pid "$pid" '{ociVersion: "1.0.2", id: $id,
		status: "creating", pid: $pid, bundle: "/nonexistent",
		annotations: {"sockops-cb.io/flag-set": "basic"}}' |
		"$SCB" hook createRuntime --config "$BATS_TEST_TMPDIR/config.json" ||
		fail "hook createRuntime failed"
	run jq -r '.origin' <<<"$(scb_target_json "$hook")"
	assert_output hook

	cni GC "$(safename)" "$(jq -c --arg keep "$keep" --arg w "$wrongif" '
		.cniVersion = "1.1.0" | del(.prevResult, .runtimeConfig) |
		.["cni.dev/valid-attachments"] = [
			{containerID: $keep, ifname: "eth0"},
			{containerID: $w, ifname: "eth1"}
		]' <<<"$(cni_conf)")"
	assert_output ""

	assert_file_exists "$SCB_PIN_LINKS/$keep"
	[ -n "$(scb_target_json "$keep")" ] || fail "GC removed the listed $keep"
	assert_no_target "$drop"
	assert_no_target "$wrongif"
	assert_no_target "$byns"
	assert_netns_link_consistent
	[ -n "$(scb_target_json "$othernet")" ] ||
		fail "GC of $NET removed $othernet of another network"
	[ -n "$(scb_target_json "$manual")" ] || fail "GC removed the manual $manual"
	[ -n "$(scb_target_json "$hook")" ] || fail "GC removed the hook's $hook"
	assert_file_exists "$SCB_PIN_LINKS/$manual"
	assert_file_exists "$SCB_PIN_LINKS/$hook"
}

###############################################################################
# errors

@test "malformed stdin fails with code 6" {
	local id stdin

	id=$(safename)
	for stdin in '{"cniVersion":"1.0.0",' '[1,2]' '"a string"' ''; do
		cni 1 ADD "$id" "$stdin"
		assert_cni_error 6
		assert_not_attached "$id"
	done
}

@test "ADD without CNI_CONTAINERID, CNI_NETNS or CNI_IFNAME fails with code 4 naming it" {
	local id var

	id=$(safename)
	for var in CNI_CONTAINERID CNI_NETNS CNI_IFNAME; do
		cni 1 ADD "$id" "$(cni_conf)" "-$var"
		assert_cni_error 4 "$var"
		assert_not_attached "$id"
		cni 1 ADD "$id" "$(cni_conf)" "$var="
		assert_cni_error 4 "$var"
		assert_not_attached "$id"
	done

	# An id that could walk out of the pin directory.
	cni 1 ADD "../../$id" "$(cni_conf)"
	assert_cni_error 4 CNI_CONTAINERID
	assert_not_attached "$id"
	assert_file_not_exists "${SCB_PIN_LINKS%/*/*}/$id"
}

@test "an unknown CNI_COMMAND fails with code 4" {
	local id cmd

	id=$(safename)
	for cmd in FROB add ''; do
		cni 1 "$cmd" "$id" "$(cni_conf)"
		assert_cni_error 4 "CNI_COMMAND"
		assert_not_attached "$id"
	done
}

@test "an unsupported or missing cniVersion fails with code 1" {
	local id v

	id=$(safename)
	for v in '"9.9.9"' '"0.2.0"' null; do
		cni 1 ADD "$id" "$(cni_conf ".cniVersion = $v | if .cniVersion == null
			then del(.cniVersion) else . end")"
		assert_cni_error 1 "version"
		assert_not_attached "$id"
	done
	cni 1 ADD "$id" "$(cni_conf '.cniVersion = "9.9.9"')"
	assert_cni_error 1 "9\.9\.9"
}

@test "a CNI_NETNS that does not exist fails with code 4 naming it" {
	local id ns

	id=$(safename)
	ns=/run/netns/$(safename)-missing
	cni 1 ADD "$id" "$(cni_conf 'del(.runtimeConfig)')" "CNI_NETNS=$ns"
	assert_cni_error 4 "$ns"
	assert_not_attached "$id"

	# A file that is not a network namespace.
	cni 1 ADD "$id" "$(cni_conf 'del(.runtimeConfig)')" CNI_NETNS=/etc/hostname
	assert_cni_error 4 "/etc/hostname"
	assert_not_attached "$id"
}

@test "a CNI_NETNS that does not exist fails with code 4 also when cgroupPath is given" {
	local id ns

	# docs/cni.md: code 4 for "a missing or invalid CNI_* variable,
	# including a netns that cannot be opened"; the pod's netns is gone,
	# so is the pod: attaching its cgroup would trace a pod being torn down.
	id=$(safename)
	ns=/run/netns/$(safename)-missing
	cni 1 ADD "$id" "$(cni_conf)" "CNI_NETNS=$ns"
	assert_cni_error 4 "$ns"
	assert_not_attached "$id"
}

@test "a bad cgroupPath fails with code 102 and attaches nothing" {
	local id cg2 path

	id=$(safename)
	cg2=$(cgroup2_mount)
	for path in "../../etc" "$CG_REL/../.." "$cg2/.." "/$(safename)-missing" \
		"/etc" "/proc/self" "$CG_REL/cgroup.procs" "" \
		"$(safename)-missing.slice"; do
		cni 1 ADD "$id" "$(cni_conf ".runtimeConfig.cgroupPath = \"$path\"")"
		assert_cni_error 102
		assert_not_attached "$id"
	done

	# Not a string: the configuration is wrong, not the cgroup.
	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig.cgroupPath = 42')"
	assert_cni_error 7 cgroupPath
	assert_not_attached "$id"
}

@test "hostile annotations fail with code 100 and an escaped message" {
	local id big

	id=$(safename)

	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig["io.kubernetes.cri.pod-annotations"]
		= {"sockops-cb.io/flag-set": "nosuch"}')"
	assert_cni_error 100 'unknown flag set "nosuch" \(known: basic full\)'
	assert_not_attached "$id"

	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig["io.kubernetes.cri.pod-annotations"]
		= {"sockops-cb.io/flags": "RTT,BOGUS"}')"
	assert_cni_error 100 '"BOGUS"'
	assert_not_attached "$id"

	# Control characters: escaped, never passed through to a terminal or log.
	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig["io.kubernetes.cri.pod-annotations"]
		= {"sockops-cb.io/flag-set": "full\u0001\u001b[2J\nx"}')"
	assert_cni_error 100 'full\\x01\\x1b\[2J\\x0ax'
	run grep -c $'[\x01-\x08\x0b-\x1f]' <<<"$output$stderr"
	assert_output 0
	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig["io.kubernetes.cri.pod-annotations"]
		= {"sockops-cb.io/flags": "RTT,\u0007STATE"}')"
	assert_cni_error 100 '\\x07STATE'
	run grep -c $'[\x01-\x08\x0b-\x1f]' <<<"$output$stderr"
	assert_output 0
	assert_not_attached "$id"

	# 1 MiB: refused, and not echoed back.
	big=$(head -c 1048576 /dev/zero | tr '\0' a |
		jq -c -R -s --argjson conf "$(cni_conf)" '$conf |
		.runtimeConfig["io.kubernetes.cri.pod-annotations"] =
			{"sockops-cb.io/flag-set": .}')
	cni 1 ADD "$id" "$big"
	assert_cni_error 100 'sockops-cb.io/flag-set'
	[ "${#output}" -lt 4096 ] || fail "the 1 MiB value is echoed: ${#output} bytes"
	[ "${#stderr}" -lt 4096 ] || fail "the 1 MiB value is logged: ${#stderr} bytes"
	assert_not_attached "$id"

	# Both annotations, a non-string value, annotations not an object.
	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig["io.kubernetes.cri.pod-annotations"]
		= {"sockops-cb.io/flag-set": "full", "sockops-cb.io/flags": "RTT"}')"
	assert_cni_error 100 'both'
	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig["io.kubernetes.cri.pod-annotations"]
		= {"sockops-cb.io/flag-set": 7}')"
	assert_cni_error 100 'string'
	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig["io.kubernetes.cri.pod-annotations"]
		= ["sockops-cb.io/flag-set=full"]')"
	assert_cni_error 7 'io.kubernetes.cri.pod-annotations'
	assert_not_attached "$id"
}

@test "config: an unknown flag name fails with code 7 naming the flag" {
	local id

	id=$(safename)
	cni 1 ADD "$id" "$(cni_conf '.flagSets.full += ["RTX"]')"
	assert_cni_error 7 '"RTX".*flagSets\.full'
	assert_not_attached "$id"

	cni 1 ADD "$id" "$(cni_conf '.maxFlags = ["STATE", "RTT", "BOGUS"]')"
	assert_cni_error 7 '"BOGUS".*maxFlags'
	assert_not_attached "$id"
}

@test "config: other invalid configurations fail with code 7 saying what is wrong" {
	local id filter re

	id=$(safename)
	while IFS='|' read -r filter re; do
		cni 1 ADD "$id" "$(cni_conf "$filter")"
		assert_cni_error 7 "$re"
		assert_not_attached "$id"
	done <<-'EOF'
		.flagset = {}|unknown key "flagset"
		.defaultFlagSet = "nosuch"|defaultFlagSet "nosuch"
		.defaultFlagSet = 3|defaultFlagSet
		.onError = "maybe"|onError
		.retainStats = "yes"|retainStats
		.flagSets = ["STATE"]|flagSets
		.flagSets.full = "STATE"|flagSets\.full
		.flagSets["bad name!"] = ["STATE"]|bad name!
		.maxFlags = ["STATE"]|flagSets\.(full|basic).*maxFlags
		.runtimeConfig = "x"|runtimeConfig
	EOF

	# Duplicate keys cannot be written with jq: raw text.
	cni 1 ADD "$id" "$(cni_conf | sed 's/"defaultFlagSet":"basic"/&,"defaultFlagSet":"full"/')"
	assert_cni_error 7 'duplicate key "defaultFlagSet"'
	assert_not_attached "$id"
}

###############################################################################
# the shipped examples

@test "the sockops-cb entries of the example conflists are accepted" {
	local f entry set id n=0

	for f in "$SCB_REPO"/examples/*/*.conflist; do
		n=$((n + 1))
		entry=$(jq -c '.cniVersion as $v | .name as $n |
			.plugins[] | select(.type == "sockops-cb") |
			. + {cniVersion: $v, name: $n}' "$f") ||
			fail "$f is not valid JSON"
		[ -n "$entry" ] || fail "$f has no sockops-cb plugin"
		# A pod annotated with one of the example's own sets.
		set=$(jq -r '.flagSets | keys[0]' <<<"$entry")
		id=$(safename)
		cni ADD "$id" "$(jq -c --argjson prev "$PREV" --arg cg "$CG_REL" \
			--arg set "$set" '. + {prevResult: $prev, runtimeConfig: {
			cgroupPath: $cg, "io.kubernetes.cri.pod-annotations":
				{"sockops-cb.io/flag-set": $set}}}' <<<"$entry")"
		run jq -r '[.flag_set, (.effective | length > 0)] | join(" ")' \
			<<<"$(scb_target_json "$id")"
		assert_output "$set true"
		cni DEL "$id" "$entry"
		assert_no_target "$id"
	done
	[ "$n" -ge 3 ] || fail "expected at least 3 example conflists, found $n"
}

@test "ADD with runtimeConfig.cgroupPath \"/\" fails with code 7: the cgroup2 root is never traced from runtime input" {
	local id

	id=$(safename)
	cni 1 ADD "$id" "$(cni_conf '.runtimeConfig.cgroupPath = "/"')"
	assert_cni_error 7 "cgroup2 root"
	assert_not_attached "$id"
	# The cgroup links' program (the netns one is "scb_sockops_net").
	! cgroup_sockops_attached "$(cgroup2_mount)" | grep -qw scb_sockops ||
		fail "the cgroup program is attached to the cgroup2 root"
}

@test "the spec's version gates: CHECK below 0.4.0, STATUS and GC below 1.1.0 fail with code 1; a config without a name fails with code 7" {
	local id

	id=$(safename)
	cni 1 CHECK "$id" "$(cni_conf '.cniVersion = "0.3.1"')"
	assert_cni_error 1 "CHECK needs cniVersion 0.4.0 or later, not 0.3.1"
	cni 1 STATUS "$id" "$(cni_conf '.cniVersion = "1.0.0" | del(.prevResult, .runtimeConfig)')"
	assert_cni_error 1 "STATUS needs cniVersion 1.1.0 or later, not 1.0.0"
	cni 1 GC "$id" "$(cni_conf '.cniVersion = "1.0.0" | del(.prevResult, .runtimeConfig)')"
	assert_cni_error 1 "GC needs cniVersion 1.1.0 or later, not 1.0.0"

	cni 1 ADD "$id" "$(cni_conf 'del(.name)')"
	assert_cni_error 7 'no "name"'
	assert_not_attached "$id"
	# At the versions that have them, they work.
	cni STATUS "$id" "$(cni_conf '.cniVersion = "1.1.0" | del(.prevResult, .runtimeConfig)')"
}
