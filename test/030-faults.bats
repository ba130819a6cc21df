#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# sockops-cb killed half-way.  A hook or plugin can die at
# any point: the runtime's hook timeout, the OOM killer, a node going down.
# strace's fault injection kills the product with SIGKILL as it enters its
# Nth bpf(2) call, for N = 1, 2, ... until a run completes, then likewise its
# Nth unlink(2) call (strace counts each system call separately), with no
# change to the product.  That kills it before the load, between the map
# pins and the program pin, between the map updates, between a link and its
# pin, between a link's detach and the removal of its pin, and so on.
# After every kill:
#
#   - the next call for that container succeeds, and the container is
#     traced: one connection from a process in its cgroup (or netns) is
#     counted once, not zero times and not twice (a second link on the same
#     cgroup would count it twice), under one target.  After a killed
#     createRuntime or ADD the next call is the same one again; after a
#     killed poststop it is the createRuntime of `podman restart` (same id,
#     a new cgroup at the same path: podman removes and recreates it);
#     after a killed `detach`, `attach` of the same cgroup; after a killed
#     DEL, the runtime's retried DEL, then ADD (the pod again);
#   - a call for another container succeeds and traces it;
#   - after poststop (DEL) and `sockops-cb gc` nothing is left: no link pin,
#     no target, no counters, no sock_ops program on the test cgroups (or
#     ours on the cgroup2 root) and no node-wide netns link.
#
# Also: a cgroup removed under a live link (no poststop), and bpffs
# unmounted under the node.  A kernel refusing flags cannot be simulated
# here (the refusal happens inside bpf_sock_ops_cb_flags_set, at no system
# call), so that case has no test.
#
# Every test runs on a private node (scb_private_node in helpers.bash): a
# bpffs of its own in a mount namespace, so that "the first call on a node"
# really is the first (no colleague's hook loads the program in between),
# `unload --force` between kills detaches nobody else's containers, and
# unmounting bpffs takes nobody else's pins.  Containers are throwaway
# cgroups with a sleeping process, and the hook is driven by hand with OCI
# state JSON; no podman.

bats_require_minimum_version 1.5.0

load helpers

PORT=8080
# More kill points than any attach or detach has; reaching it is a failure.
MAX_KILLS=200

CONFIG_JSON='{
	"flagSets": { "full": ["STATE", "RTT", "RETRANS", "RTO"] },
	"defaultFlagSet": null
}'
ANN='{"sockops-cb.io/flag-set":"full"}'

# The CNI request: a network whose pods are all traced ("full"), with a
# synthetic prevResult (no interface plugin is needed to test ours).
CNI_CONF=$(jq -c -n '{
	cniVersion: "1.0.0", name: "scb-faults", type: "sockops-cb",
	flagSets: { full: ["STATE", "RTT", "RETRANS", "RTO"] },
	defaultFlagSet: "full",
	prevResult: { cniVersion: "1.0.0",
		interfaces: [{ name: "eth0", sandbox: "/run/netns/x" }],
		ips: [{ interface: 0, address: "10.89.0.2/24" }] }
}')

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary
	command -v strace >/dev/null ||
		skip "strace is not installed (test/setup.sh installs it)"
	scb_private_node
	CONFIG=$BATS_TEST_TMPDIR/config.json
	scb_write_config "$CONFIG" "$CONFIG_JSON"
	STATE=$BATS_TEST_TMPDIR/state.json
	# Ids of this test: unique, and never a prefix of another test's.
	P=f$(random_string 6)
	KILLED_AT=()
	RESIDENT=
	FIRST=
}

teardown()
{
	scb_teardown
	scb_private_node_teardown
}

###############################################################################
# killing

# kill_at CALL N CMD...: run CMD under strace, SIGKILLed as it enters its
# Nth CALL system call (bpf or unlink; the call is not made).  Stdin is
# passed on.  KILL_RC is 137 when it was killed, else CMD's exit code (0:
# it had fewer than N such calls); KILL_AT names the call it was killed at,
# e.g. "bpf(BPF_LINK_CREATE" or "unlink(/sys/fs/bpf/sockops-cb/netns-link".
kill_at()
{
	local call=$1 n=$2 log=$BATS_TEST_TMPDIR/strace.log

	shift 2
	KILL_RC=0
	# Not --seccomp-bpf: strace 6.1 then injects no signal.
	strace -f -qq -o "$log" -e trace="$call" \
		-e inject="$call":signal=SIGKILL:when="$n" \
		"$@" >"$BATS_TEST_TMPDIR/kill.out" 2>&1 || KILL_RC=$?
	KILL_AT=
	if [ "$KILL_RC" -eq 137 ]; then
		KILL_AT=$(grep -v '^[0-9]* *+++' "$log" | tail -n 1 |
			sed -E 's/^[0-9]+ +//; s/^(bpf\([A-Z_]+|unlink\("[^"]*).*/\1/; s/"//')
		KILLED_AT+=("$KILL_AT")
	fi
	echo "# kill at $call #$n: exit $KILL_RC${KILL_AT:+, killed entering $KILL_AT}"
	if [ "$KILL_RC" -ne 0 ] && [ "$KILL_RC" -ne 137 ]; then
		cat "$BATS_TEST_TMPDIR/kill.out"
		fail "exit code $KILL_RC at $call #$n: neither killed nor done: $*"
	fi
}

# kill_rounds FN: FN CALL N for every kill point: CALL bpf, N = 1, 2, ...
# until the command FN kills completes (KILL_RC 0), then the same for
# unlink.  FN runs kill_at once, then checks what the kill left.
kill_rounds()
{
	local fn=$1 call n

	for call in bpf unlink; do
		for ((n = 1; n <= MAX_KILLS; n++)); do
			"$fn" "$call" "$n"
			[ "$KILL_RC" -ne 0 ] || break
		done
		[ "$n" -le "$MAX_KILLS" ] ||
			fail "$fn: still killed at $call #$MAX_KILLS"
	done
	echo "# ${#KILLED_AT[@]} kill points:"
	printf '#   %s\n' "${KILLED_AT[@]}"
}

# assert_killed_at CALL...: each CALL (e.g. "bpf(BPF_OBJ_PIN") begins one
# of the kill points: the rounds really went through those steps.
assert_killed_at()
{
	local want

	for want in "$@"; do
		printf '%s\n' "${KILLED_AT[@]}" | grep -qF -- "$want" ||
			fail "never killed entering $want; kill points: ${KILLED_AT[*]}"
	done
}

###############################################################################
# containers, pods and checks

# new_container [NAME]: a cgroup (scb-test-NAME, default a new name) with a
# process in it, as a container's at createRuntime: $CTR_CG, $CTR_PID.
new_container()
{
	local i

	make_cgroup ${1:+"$1"}
	CTR_CG=$SCB_CGROUP
	start_in_cgroup "$CTR_CG" sleep 600
	CTR_PID=$SCB_BG_PID
	# It joins its cgroup as it starts: wait, or the hook may see it
	# still in ours.
	for ((i = 0; i < 100; i++)); do
		grep -qx "$CTR_PID" "$CTR_CG/cgroup.procs" && return 0
		sleep 0.02
	done
	fail "process $CTR_PID did not join $CTR_CG"
}

# stop_container CG: the container's processes exit and the runtime removes
# its cgroup, as before poststop.
stop_container()
{
	echo 1 >"$1/cgroup.kill"
	_scb_rmdir_cgroup "$1"
	assert_dir_not_exists "$1"
}

# wait_link_released ID: once a cgroup is removed the kernel releases it,
# and its links with it, asynchronously; poststop then finds the target by
# a scan instead of through the link. Wait for that, so that every kill
# round walks the same path.
wait_link_released()
{
	local i

	for ((i = 0; i < 200; i++)); do
		[ "$(bpftool -j link show pinned "$SCB_PIN_LINKS/$1" 2>/dev/null |
			jq -r '.cgroup_id // 0')" = 0 ] && return 0
		sleep 0.05
	done
	fail "the link of $1 still holds its removed cgroup after 10 s"
}

# oci_state STAGE ID PID: the state podman hands the hook, in $STATE.
# (printf, not jq: this runs a few thousand times per file.)
oci_state()
{
	if [ "$1" = poststop ]; then
		printf '{"ociVersion":"1.0.2","id":"%s","status":"stopped","bundle":"/nonexistent","annotations":%s}' \
			"$2" "$ANN" >"$STATE"
	else
		printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%d,"bundle":"/nonexistent","annotations":%s}' \
			"$2" "$3" "$ANN" >"$STATE"
	fi
}

# hook STAGE ID [PID]: the hook as podman runs it; must exit 0.
hook()
{
	oci_state "$@"
	run_hook "$1" "$CONFIG" "$STATE"
}

# kill_hook CALL N STAGE ID [PID]: kill_at for the hook.
kill_hook()
{
	local call=$1 n=$2

	shift 2
	oci_state "$@"
	kill_at "$call" "$n" "$SCB" hook "$1" --config "$CONFIG" <"$STATE"
}

# cni_env CMD ID NETNS: the environment a runtime gives the plugin, as
# VAR=VALUE words in CNI_ENV.
cni_env()
{
	CNI_ENV=(CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="/run/netns/$3"
		CNI_IFNAME=eth0 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=$2")
}

# cni CMD ID NETNS: the plugin as a runtime calls it; must exit 0, and ADD
# must print prevResult back.
cni()
{
	cni_env "$@"
	run_cni "$CNI_CONF" "${CNI_ENV[@]}"
	if [ "$1" = ADD ]; then
		assert_output --partial '"ips":[{"interface":0,"address":"10.89.0.2/24"}]'
	fi
}

# kill_cni CALL N CMD ID NETNS: kill_at for the plugin.
kill_cni()
{
	local call=$1 n=$2

	shift 2
	cni_env "$@"
	kill_at "$call" "$n" env -i PATH="$PATH" "${CNI_ENV[@]}" "$SCB" <<<"$CNI_CONF"
}

# start_listener NETNS: a TCP listener on 127.0.0.1:$PORT in NETNS (made
# here), in a cgroup of its own that is never traced: $LISTENER_CG.
start_listener()
{
	make_netns "$1"
	make_cgroup
	LISTENER_CG=$SCB_CGROUP
	start_in_cgroup "$LISTENER_CG" ip netns exec "$1" \
		socat -u "TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr" OPEN:/dev/null
	scb_wait_for_port "$SCB_BG_PID" "$PORT" || fail "no listener in $1"
}

# assert_traced_once ID|CG|NETNS[|netns]...: one connection from each
# cgroup CG to the listener in NETNS raises each ID's established_active by
# exactly one (not zero: untraced; not two: two links), and each CG has
# exactly one sock_ops program attached (not checked for a netns target,
# whose CG is only where the client runs).
assert_traced_once()
{
	local spec id cg ns kind b a n
	local -A before after links

	active_counts before
	for spec in "$@"; do
		IFS='|' read -r id cg ns kind <<<"$spec"
		run_in_cgroup "$cg" nsenter --net="/run/netns/$ns" \
			socat -u OPEN:/dev/null "TCP:127.0.0.1:$PORT" ||
			fail "connection from $cg to $ns failed"
	done
	active_counts after
	while read -r cg n; do
		links[$cg]=$n
	done < <(bpftool -j cgroup tree "$(cgroup2_mount)" | jq -r '.[] |
		"\(.cgroup) \([.programs[] | select(.attach_type | test("sock_ops"))] | length)"')
	for spec in "$@"; do
		IFS='|' read -r id cg ns kind <<<"$spec"
		b=${before[$id]:-} a=${after[$id]:-}
		[ -n "$b" ] && [ -n "$a" ] ||
			fail "$id is not traced: $("$SCB" list 2>&1)"
		[ "$b" != x ] && [ "$a" != x ] ||
			fail "more than one target carries the id $id (\`stats $id\` shows one of them): $("$SCB" list --json | grep -F "\"$id\"")"
		[ $((a - b)) -eq 1 ] ||
			fail "one connection from $cg changed $id's established_active by $((a - b)) ($b -> $a): $("$SCB" list 2>&1); $(bpftool cgroup show "$cg")"
		[ "$kind" != netns ] || continue
		[ "${links[$cg]:-0}" -eq 1 ] ||
			fail "$cg has ${links[$cg]:-0} sock_ops programs attached, expected 1: $(bpftool cgroup show "$cg")"
	done
}

# active_counts ARRAY: established_active of every target, by id, into the
# associative array ARRAY.
active_counts()
{
	local -n counts=$1
	local id n

	while read -r id n; do
		# Two targets with one id: "x" marks it, for the caller to fail.
		[ -z "${counts[$id]:-}" ] || n=x
		counts[$id]=$n
	done < <("$SCB" stats --json | jq -r '"\(.id) \(.established_active)"')
}

# assert_node_clean [ID...]: the node holds the targets ID... and nothing
# else: no other target, a link pin exactly for each cgroup target, counters
# exactly for the targets, a node-wide link exactly when a netns target is
# there, and no sock_ops program on the test's cgroups but the IDs'.
assert_node_clean()
{
	local cg2 id kind cgroup want got ids=() pins=() cgs=() netns=0 attached cg

	cg2=$(cgroup2_mount)
	while read -r id kind cgroup; do
		ids+=("$id")
		[ "$kind" != netns ] || netns=1
		[ "$kind" != cgroup ] || pins+=("$id") cgs+=("$cg2$cgroup")
	done < <("$SCB" list --json | jq -r '"\(.id) \(.kind) \(.cgroup)"')
	got=$(words ${ids[@]+"${ids[@]}"})
	want=$(words "$@")
	[ "$got" = "$want" ] || fail "targets: $got; expected: $want"
	got=$(words $(ls -A "$SCB_PIN_LINKS" 2>/dev/null))
	want=$(words ${pins[@]+"${pins[@]}"})
	[ "$got" = "$want" ] || fail "link pins: $got; expected: $want"
	if [ -e "$SCB_NODE_BPF/prog" ]; then
		got=$(scb_counters_check "$SCB_NODE_BPF")
		[ "$got" = ok ] || fail "counters: $got"
	fi
	if [ "$netns" = 1 ]; then
		assert_file_exists "$SCB_NETNS_LINK"
	else
		assert_file_not_exists "$SCB_NETNS_LINK"
	fi
	attached=$(bpftool -j cgroup tree "$cg2" | jq -r '.[] | select(any(.programs[];
		.attach_type | test("sock_ops"))) | .cgroup')
	for cg in "${SCB_CGROUPS[@]}"; do
		! printf '%s\n' ${cgs[@]+"${cgs[@]}"} | grep -qxF -- "$cg" || continue
		! grep -qxF -- "$cg" <<<"$attached" ||
			fail "a sock_ops program is still attached to $cg: $(bpftool cgroup show "$cg")"
	done
}

# words WORD...: the words sorted, on one line (empty for none).
words()
{
	printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort | tr '\n' ' '
}

# The ids of the node's programs: the cgroup one and, once a netns target
# was added, the netns-mode one of the node-wide link.
node_prog_ids()
{
	local p

	for p in prog prog-netns; do
		bpftool -j prog show pinned "$SCB_NODE_BPF/$p" 2>/dev/null | jq -r .id
	done
}

# assert_root_free PROG-ID...: none of these programs is attached to the
# cgroup2 root (where the node-wide netns link puts one).  Other programs
# may be: colleagues' nodes.
assert_root_free()
{
	local ids

	ids=$(printf '%s\n' "$@" | jq -s -c .)
	# -s: with nothing attached bpftool prints no JSON at all.
	[ "$(bpftool -j cgroup show "$(cgroup2_mount)" |
		jq -s --argjson ids "$ids" '[.[][] | select(.id as $i | $ids | index($i))] | length')" -eq 0 ] ||
		fail "one of programs $* is still attached to the cgroup2 root: $(bpftool cgroup show "$(cgroup2_mount)")"
}

###############################################################################
# the hook

# Two containers: a, whose hook is killed, and b, another one.
containers_ab()
{
	new_container
	CG_A=$CTR_CG PID_A=$CTR_PID
	new_container
	CG_B=$CTR_CG PID_B=$CTR_PID
}

# A container that stays traced throughout, so that the node stays loaded;
# nothing done to the others may disturb it.
resident_container()
{
	new_container
	CG_R=$CTR_CG
	RESIDENT=$P-resident
	hook createRuntime "$RESIDENT" "$CTR_PID"
}

assert_resident_intact()
{
	assert_traced_once "$RESIDENT|$CG_R|$NETNS"
}

# round_create CALL N: createRuntime of a killed at CALL #N.
round_create()
{
	local a=$P-a-$1$2 b=$P-b-$1$2

	if [ "$FIRST" = 1 ]; then
		run_scb unload --force
		assert_file_not_exists "$SCB_NODE_BPF/prog"
	fi
	kill_hook "$1" "$2" createRuntime "$a" "$PID_A"

	# The next call for that container: exit 0, traced, once.
	hook createRuntime "$a" "$PID_A"
	# Another container.
	hook createRuntime "$b" "$PID_B"
	assert_traced_once "$a|$CG_A|$NETNS" "$b|$CG_B|$NETNS"
	# Both removed: nothing left but the resident, if any.
	hook poststop "$a"
	hook poststop "$b"
	run_scb gc
	assert_node_clean $RESIDENT
}

@test "faults: createRuntime killed at each step of the first attach on a node (program load)" {
	NETNS=$(safename)
	start_listener "$NETNS"
	containers_ab
	FIRST=1
	kill_rounds round_create
	assert_killed_at "bpf(BPF_PROG_LOAD" "bpf(BPF_MAP_CREATE" "bpf(BPF_OBJ_PIN" \
		"bpf(BPF_MAP_UPDATE_ELEM" "bpf(BPF_LINK_CREATE"
}

@test "faults: createRuntime killed at each step of a later attach" {
	NETNS=$(safename)
	start_listener "$NETNS"
	containers_ab
	resident_container
	kill_rounds round_create
	assert_killed_at "bpf(BPF_OBJ_GET" "bpf(BPF_MAP_UPDATE_ELEM" \
		"bpf(BPF_LINK_CREATE" "bpf(BPF_OBJ_PIN"
	assert_resident_intact
	hook poststop "$RESIDENT"
	assert_node_clean
}

# round_poststop CALL N: poststop of a killed at CALL #N.  As with podman:
# the container stops, its cgroup is removed, poststop runs (and is killed);
# then `podman restart` runs createRuntime for the same id in a new cgroup
# at the same path.
round_poststop()
{
	local a=$P-a-$1$2 b=$P-b-$1$2 cga

	new_container "$a"
	cga=$CTR_CG
	hook createRuntime "$a" "$CTR_PID"
	stop_container "$cga"
	wait_link_released "$a"
	kill_hook "$1" "$2" poststop "$a"

	new_container "$a"
	hook createRuntime "$a" "$CTR_PID"
	hook createRuntime "$b" "$PID_B"
	assert_traced_once "$a|$cga|$NETNS" "$b|$CG_B|$NETNS"
	stop_container "$cga"
	hook poststop "$a"
	hook poststop "$b"
	run_scb gc
	assert_node_clean "$RESIDENT"
}

@test "faults: poststop killed at each step of the detach; the container restarted (same id, new cgroup) is traced" {
	NETNS=$(safename)
	start_listener "$NETNS"
	containers_ab
	resident_container
	kill_rounds round_poststop
	assert_killed_at "bpf(BPF_OBJ_GET" "bpf(BPF_LINK_DETACH" \
		"bpf(BPF_MAP_DELETE_ELEM" "unlink(/sys/fs/bpf/sockops-cb/links/"
	assert_resident_intact
	hook poststop "$RESIDENT"
	assert_node_clean
}

# round_detach CALL N: `sockops-cb detach` of a killed at CALL #N; then
# `attach` of the same name and cgroup.
round_detach()
{
	local a=$P-a-$1$2 b=$P-b-$1$2 cg2

	cg2=$(cgroup2_mount)
	run_scb attach --cgroup "${CG_A#"$cg2"}" --name "$a" --flags STATE,RTT
	kill_at "$1" "$2" "$SCB" detach "$a"

	run_scb attach --cgroup "${CG_A#"$cg2"}" --name "$a" --flags STATE,RTT
	run_scb attach --cgroup "${CG_B#"$cg2"}" --name "$b" --flags STATE,RTT
	assert_traced_once "$a|$CG_A|$NETNS" "$b|$CG_B|$NETNS"
	run_scb detach "$a"
	run_scb detach "$b"
	run_scb gc
	assert_node_clean "$RESIDENT"
}

@test "faults: detach by hand killed at each step; attach again traces the cgroup" {
	NETNS=$(safename)
	start_listener "$NETNS"
	containers_ab
	resident_container
	kill_rounds round_detach
	assert_killed_at "bpf(BPF_LINK_DETACH" "bpf(BPF_MAP_DELETE_ELEM" \
		"unlink(/sys/fs/bpf/sockops-cb/links/"
	assert_resident_intact
	hook poststop "$RESIDENT"
	assert_node_clean
}

###############################################################################
# the CNI plugin, pods registered by netns (podman's CNI backend)

# Pods' netns with a listener each: $NSA and $NSB for pods a and b, $NSA2
# for pod a restarted.  Clients connect from $LISTENER_CG, which is not
# traced: a netns target counts every socket of its netns, whatever the
# cgroup.
pods_ab()
{
	NSA=$(safename)
	NSA2=$(safename)
	NSB=$(safename)
	start_listener "$NSA"
	start_listener "$NSA2"
	start_listener "$NSB"
	NETNS=$NSA
}

# round_add CALL N: ADD of pod a killed at CALL #N.
round_add()
{
	local a=$P-a-$1$2 b=$P-b-$1$2 progs

	if [ "$FIRST" = 1 ]; then
		run_scb unload --force
		assert_file_not_exists "$SCB_NODE_BPF/prog"
	fi
	kill_cni "$1" "$2" ADD "$a" "$NSA"

	cni ADD "$a" "$NSA"
	cni ADD "$b" "$NSB"
	assert_traced_once "$a|$LISTENER_CG|$NSA|netns" "$b|$LISTENER_CG|$NSB|netns"
	progs=$(node_prog_ids)
	cni DEL "$a" "$NSA"
	cni DEL "$b" "$NSB"
	run_scb gc
	assert_node_clean $RESIDENT
	assert_root_free $progs
}

@test "faults: CNI ADD killed at each step of the first attach on a node (load, node-wide link)" {
	pods_ab
	FIRST=1
	kill_rounds round_add
	assert_killed_at "bpf(BPF_PROG_LOAD" "bpf(BPF_OBJ_PIN" \
		"bpf(BPF_MAP_UPDATE_ELEM" "bpf(BPF_LINK_CREATE"
}

@test "faults: CNI ADD killed at each step of a later attach" {
	pods_ab
	# The node is loaded; the node-wide link is made by the first ADD of
	# each round.
	resident_container
	kill_rounds round_add
	assert_killed_at "bpf(BPF_MAP_UPDATE_ELEM" "bpf(BPF_LINK_CREATE" "bpf(BPF_OBJ_PIN"
	assert_resident_intact
	hook poststop "$RESIDENT"
	assert_node_clean
}

# round_del CALL N: DEL of pod a, the last netns target, killed at CALL #N.
round_del()
{
	local a=$P-a-$1$2 b=$P-b-$1$2 progs

	cni ADD "$a" "$NSA"
	progs=$(node_prog_ids)
	kill_cni "$1" "$2" DEL "$a" "$NSA"

	# A runtime retries a failed DEL; DEL must then succeed.
	cni DEL "$a" "$NSA"
	assert_equal "$(scb_target_json "$a")" ""
	if [ -e "$SCB_NETNS_LINK" ]; then
		echo "# $1 #$2: the netns link pin outlived the retried DEL"
	fi
	# The pod again (a restart: a new netns), and another pod.
	cni ADD "$a" "$NSA2"
	cni ADD "$b" "$NSB"
	assert_traced_once "$a|$LISTENER_CG|$NSA2|netns" "$b|$LISTENER_CG|$NSB|netns"
	cni DEL "$a" "$NSA2"
	cni DEL "$b" "$NSB"
	run_scb gc
	assert_node_clean "$RESIDENT"
	assert_root_free $progs
}

@test "faults: CNI DEL killed at each step; DEL again succeeds, the pod added again (new netns) is traced" {
	pods_ab
	resident_container
	kill_rounds round_del
	assert_killed_at "bpf(BPF_MAP_DELETE_ELEM" "bpf(BPF_LINK_DETACH" \
		"unlink(/sys/fs/bpf/sockops-cb/netns-link"
	assert_resident_intact
	hook poststop "$RESIDENT"
	assert_node_clean
}

###############################################################################
# state removed under the node

@test "faults: a cgroup removed under a live link (no poststop): gc finds and removes it" {
	local a=$P-gone b=$P-stays cga cgb i dry

	NETNS=$(safename)
	start_listener "$NETNS"
	new_container
	cga=$CTR_CG
	hook createRuntime "$a" "$CTR_PID"
	new_container
	cgb=$CTR_CG
	hook createRuntime "$b" "$CTR_PID"
	assert_traced_once "$a|$cga|$NETNS"

	# The container dies and its cgroup goes; poststop never runs.
	echo 1 >"$cga/cgroup.kill"
	_scb_rmdir_cgroup "$cga"
	assert_dir_not_exists "$cga"

	# The kernel detaches a removed cgroup's link some time later.
	for ((i = 0; i < 100; i++)); do
		run_scb gc --dry-run --json
		[[ $output == *"\"$a\""* ]] && break
		sleep 0.1
	done
	assert_output --partial '"removed":"link"'
	assert_output --partial "\"id\":\"$a\""
	refute_output --partial "$b"
	dry=$(jq -r -s 'map("removed \(.removed) \(.id): \(.reason)") | sort | .[]' <<<"$output")
	# A dry run removes nothing.
	assert_file_exists "$SCB_PIN_LINKS/$a"

	# The real gc removes exactly what the dry run said it would.
	run_scb gc
	assert_output --regexp "^removed link $a: "
	assert_equal "$(LC_ALL=C sort <<<"$output")" "$dry"
	refute_output --partial "$b"
	assert_node_clean "$b"
	assert_traced_once "$b|$cgb|$NETNS"

	# The poststop that comes late has nothing to do.
	hook poststop "$a"
	run_scb gc
	assert_output "nothing to remove"
	hook poststop "$b"
	assert_node_clean
}

@test "faults: bpffs unmounted under the node: its links go, the next hook mounts and loads again" {
	local a=$P-a b=$P-b others i

	# Only the private node's bpffs is unmounted, and only when nothing but
	# sockops-cb (and the kernel's own maps.debug and progs.debug) is in
	# it: on the host's /sys/fs/bpf this would take everybody's pins.
	others=$(scb_node_exec ls -A /sys/fs/bpf | grep -vxE 'sockops-cb|maps.debug|progs.debug' || true)
	[ -z "$others" ] ||
		skip "the node's bpffs holds other pins ($others): not unmounting it"

	NETNS=$(safename)
	start_listener "$NETNS"
	containers_ab
	hook createRuntime "$a" "$PID_A"
	assert_traced_once "$a|$CG_A|$NETNS"

	# Its only mount goes: the bpffs, its pins and the links only they
	# held are freed.
	scb_node_exec umount /sys/fs/bpf
	run scb_node_exec mountpoint -q /sys/fs/bpf
	assert_failure
	for ((i = 0; i < 50; i++)); do
		[ -n "$(cgroup_sockops_attached "$CG_A")" ] || break
		sleep 0.1
	done
	[ -z "$(cgroup_sockops_attached "$CG_A")" ] ||
		fail "the link on $CG_A outlived its bpffs: $(bpftool cgroup show "$CG_A")"

	# Nothing is traced: readers say so, poststop and gc have nothing to do.
	run_scb list --json
	assert_output ""
	hook poststop "$a"
	run_scb gc

	# The next hook mounts bpffs again, loads and attaches.
	hook createRuntime "$b" "$PID_B"
	run scb_node_exec findmnt -n -o FSTYPE /sys/fs/bpf
	assert_output bpf
	# And the container whose state went with the old bpffs, again.
	hook createRuntime "$a" "$PID_A"
	assert_traced_once "$a|$CG_A|$NETNS" "$b|$CG_B|$NETNS"

	hook poststop "$a"
	hook poststop "$b"
	run_scb gc
	assert_node_clean
}
