#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Many containers at once.  Writers (load, attach, detach)
# take an exclusive flock on the node's directory; without it, parallel
# first calls could each load the program, race to pin the node-wide netns
# link (EEXIST), or delete entries another one is iterating over (ENOENT).
# These tests start 30 (or 60) writers at the same moment and check that
# every one succeeded, said nothing on stderr, and that the node's state is
# exactly the sum of their work: one target, one counters entry and one
# link per container, each with its own mask and its own count, then
# nothing at all once they are all removed.  The last test shows the lock
# itself: a writer waits while it is held, a reader does not.
#
# Every test runs on a private node (scb_private_node in helpers.bash), so
# it starts unloaded, as on a fresh node, without an `unload --force` that
# would detach colleagues' containers, and the counts below can be exact:
# no one else's targets are in it.  podman runs the hook through the
# wrapper the helper makes.

bats_require_minimum_version 1.5.0

load helpers

PORT=8080
N=30
SETS=(basic rtt full)
# `list --json` names flags in the kernel's bit order.  `effective` there
# is the set as configured; assert_flags_in_effect checks what the kernel
# really does with the flags on a connection.
# -g: bats sources this file inside a function.
declare -gA EFFECTIVE=(
	[basic]='["STATE"]'
	[rtt]='["STATE","RTT"]'
	[full]='["RTO","RETRANS","STATE","RTT"]'
)
CONFIG_JSON='{
	"flagSets": {
		"basic": ["STATE"],
		"rtt": ["STATE", "RTT"],
		"full": ["STATE", "RTT", "RETRANS", "RTO"]
	},
	"defaultFlagSet": null
}'

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary
	scb_private_node
	CONFIG=$BATS_TEST_TMPDIR/config.json
	scb_write_config "$CONFIG" "$CONFIG_JSON"
	P=c$(random_string 6)
	JOBS=$BATS_TEST_TMPDIR/jobs
	mkdir -p "$JOBS"
}

teardown()
{
	scb_teardown
	scb_private_node_teardown
}

###############################################################################
# helpers of this file

# start_job NAME CMD...: run CMD in the background once release_jobs is
# called, its stdin from $JOBS/NAME.in if that exists; stdout, stderr and
# exit code go to $JOBS/NAME.{out,err,rc}.  The jobs wait at a FIFO that
# this shell holds open for writing: closing it releases them all at once.
start_job()
{
	local name=$1

	shift
	if [ -z "${GATE_FD:-}" ]; then
		rm -f "$JOBS/gate" "$JOBS"/*.ready
		mkfifo "$JOBS/gate"
		exec {GATE_FD}<>"$JOBS/gate"
	fi
	(
		exec {GATE_FD}>&-
		exec 4<"$JOBS/gate"
		touch "$JOBS/$name.ready"
		read -r _ <&4 || true
		exec 4<&-
		rc=0
		if [ -e "$JOBS/$name.in" ]; then
			"$@" <"$JOBS/$name.in" >"$JOBS/$name.out" 2>"$JOBS/$name.err" || rc=$?
		else
			"$@" </dev/null >"$JOBS/$name.out" 2>"$JOBS/$name.err" || rc=$?
		fi
		echo "$rc" >"$JOBS/$name.rc"
	) 3>&- &
	JOB_PIDS+=($!)
}

# release_jobs [--no-wait]: once every job waits at the gate, start them
# all at once, and wait for all of them (--no-wait: not yet; a later
# release_jobs does).
release_jobs()
{
	local pid i

	if [ -n "${GATE_FD:-}" ]; then
		for ((i = 0; i < 3000; i++)); do
			[ "$(find "$JOBS" -name '*.ready' | wc -l)" -lt ${#JOB_PIDS[@]} ] || break
			sleep 0.01
		done
		exec {GATE_FD}>&-
		GATE_FD=
	fi
	[ "${1:-}" != --no-wait ] || return 0
	for pid in "${JOB_PIDS[@]}"; do
		wait "$pid" || true
	done
	JOB_PIDS=()
}

# assert_jobs_ok NAME...: each job exited 0 and wrote nothing on stderr (a
# lost race shows up there: "File exists", "No such file or directory").
assert_jobs_ok()
{
	local name bad=()

	for name in "$@"; do
		if [ "$(cat "$JOBS/$name.rc" 2>/dev/null)" != 0 ] || [ -s "$JOBS/$name.err" ]; then
			bad+=("$name: exit $(cat "$JOBS/$name.rc" 2>/dev/null): $(head -c 300 "$JOBS/$name.err")")
		fi
	done
	[ ${#bad[@]} -eq 0 ] ||
		fail "$(printf '%s\n' "${#bad[@]} of $# failed:" "${bad[@]}")"
}

# assert_maps_exact N: the node has exactly N targets, and every target's
# counters are where they belong (scb_counters_check).
assert_maps_exact()
{
	local t got

	t=$(scb_map_keys targets)
	[ "$(printf '%s' "$t" | grep -c .)" -eq "$1" ] ||
		fail "the targets map has $(printf '%s' "$t" | grep -c .) entries, expected $1"
	got=$(scb_counters_check)
	[ "$got" = ok ] || fail "counters: $got"
}

# assert_node_empty: nothing left: no target, no counters, no link pin, no
# node-wide link, and none of the node's programs on any cgroup.
assert_node_empty()
{
	local ids

	run_scb list --json
	assert_output ""
	if [ -e "$SCB_NODE_BPF/prog" ]; then
		assert_maps_exact 0
	fi
	run ls -A "$SCB_PIN_LINKS"
	assert_output ""
	assert_file_not_exists "$SCB_NETNS_LINK"
	ids=$(for p in prog prog-netns; do
		bpftool -j prog show pinned "$SCB_NODE_BPF/$p" 2>/dev/null | jq .id
	done | jq -s -c .)
	run bash -c "bpftool -j cgroup tree '$(cgroup2_mount)' |
		jq -r --argjson ids '$ids' '.[] | select(any(.programs[]; .id as \$i | \$ids | index(\$i))) | .cgroup'"
	assert_output ""
	run_scb gc --dry-run
	assert_output "nothing to remove"
}

# wait_in_cgroup PID CG: until process PID (started by start_in_cgroup) has
# joined cgroup CG.
wait_in_cgroup()
{
	local i

	for ((i = 0; i < 100; i++)); do
		grep -qx "$1" "$2/cgroup.procs" && return 0
		sleep 0.02
	done
	fail "process $1 did not join $2"
}

# data_pair NS [CG]: one connection carrying 100 kB to a listener in
# netns NS, the client in cgroup CG (default: this shell's, untraced); back
# when both ends are closed.
data_pair()
{
	local ns=$1 cg=${2:-} lpid

	ip netns exec "$ns" socat -u "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr" \
		OPEN:/dev/null 3>&- &
	lpid=$!
	wait_for_netns_ss "$ns" -l "sport = :$PORT"
	if [ -n "$cg" ]; then
		run_in_cgroup "$cg" ip netns exec "$ns" sh -c \
			"head -c 100000 /dev/zero | socat -u - TCP:127.0.0.1:$PORT"
	else
		ip netns exec "$ns" sh -c "head -c 100000 /dev/zero | socat -u - TCP:127.0.0.1:$PORT"
	fi || fail "data_pair: the client in $ns failed"
	wait "$lpid" || fail "data_pair: the listener in $ns failed"
	wait_until 10 tcp_port_settled "$PORT" "$ns"
}

# assert_flags_in_effect ID SET: target ID got SET's flags from the kernel,
# not only in `list`: after a connection with data, its RTT callbacks came
# exactly when SET has RTT, and its STATE callbacks (every set has STATE)
# counted the connection's establishment.
assert_flags_in_effect()
{
	local id=$1 set=$2 want=false json

	[ "$set" = basic ] || want=true
	json=$("$SCB" stats "$id" --json) || fail "stats $id failed"
	assert_equal "$id ($set) rtt sampled: $(jq '.rtt_samples > 0' <<<"$json")" \
		"$id ($set) rtt sampled: $want"
	assert_equal "$id ($set) established by STATE: $(jq '[.state_transitions |
		to_entries[] | select(.key | endswith("->ESTABLISHED")) | .value] | add // 0 |
		. > 0' <<<"$json")" "$id ($set) established by STATE: true"
}

# node_locked: someone holds the node's writer lock (a non-blocking flock
# on the node's directory fails).
node_locked()
{
	! scb_node_exec flock -n /sys/fs/bpf/sockops-cb true
}

# job_waits_for_flock PID: the command of job PID (start_job's subshell;
# the command is its child, the wrapper exec'ing the product keeps the
# pid) is blocked in flock: /proc/locks lists it as a waiter ("->").
job_waits_for_flock()
{
	local child

	for child in $(pgrep -P "$1"); do
		awk -v pid="$child" '$2 == "->" && $3 == "FLOCK" && $6 == pid { f = 1 }
			END { exit !f }' /proc/locks && return 0
	done
	return 1
}

# The prevResult of a pod's interface plugin; ours passes it through.
PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"interface":0,"address":"10.89.0.2/24"}]}'

# cni_conf SET: the network's sockops-cb entry with prevResult: every pod
# gets SET.
cni_conf()
{
	jq -c -n --arg set "$1" --argjson prev "$PREV" --argjson cfg "$CONFIG_JSON" '
		$cfg + { cniVersion: "1.0.0", name: "scb-conc", type: "sockops-cb",
			 defaultFlagSet: $set, prevResult: $prev }'
}

# start_cni_job NAME CMD ID NETNS SET: the plugin as a runtime calls it.
start_cni_job()
{
	cni_conf "$5" >"$JOBS/$1.in"
	start_job "$1" env -i PATH="$PATH" CNI_COMMAND="$2" CNI_CONTAINERID="$3" \
		CNI_NETNS="/run/netns/$4" CNI_IFNAME=eth0 \
		"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=$3" "$SCB"
}

###############################################################################
# podman and the hook

@test "concurrency: 30 podman containers with 3 flag sets created and removed in parallel through the hook" {
	local net srv ip i name set id json
	local -A set_of id_of
	local names=()

	scb_hooks_dir "$CONFIG" '{"annotations":{"^sockops-cb\\.io/flag-set$":".*"}}'
	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4)"
	# The server has no annotation: not traced.
	srv=$(safename)
	run_podman run -d --name "$srv" --network "$net" "$SCB_IMAGE" \
		sh -c "echo hi >/var/www/index.html && exec httpd -f -p $PORT -h /var/www"
	wait_for_port_in_container "$srv" "$PORT"
	ip=$(container_ip "$srv" "$net")

	# 30 `podman run -d` at once; each client makes one connection.
	JOB_PIDS=()
	for ((i = 0; i < N; i++)); do
		name=$P-$i set=${SETS[i % 3]}
		names+=("$name")
		set_of[$name]=$set
		start_job "run-$name" timeout --kill=10 120 \
			$PODMAN --hooks-dir "$SCB_HOOKS_DIR" run -d --name "$name" \
			--label "$SCB_LABEL=$SCB_TEST_ID" --network "$net" \
			--annotation "sockops-cb.io/flag-set=$set" "$SCB_IMAGE" \
			sh -c "wget -q -O /dev/null http://$ip:$PORT/; echo wget \$?; exec sleep 600"
	done
	release_jobs
	# podman prints the id on stdout; a failed createRuntime hook is 126.
	for name in "${names[@]}"; do
		[ "$(cat "$JOBS/run-$name.rc")" = 0 ] ||
			fail "podman run $name: exit $(cat "$JOBS/run-$name.rc"): $(cat "$JOBS/run-$name.err")"
		id_of[$name]=$(tail -n 1 "$JOBS/run-$name.out")
	done

	# Wait until every client has had its answer (it says so).
	for name in "${names[@]}"; do
		wait_for_output "$name" '^wget 0$' 30
	done

	# Every container: its own target, mask, link and count.
	json=$("$SCB" list --json)
	assert_equal "$(jq -s length <<<"$json")" "$N"
	for name in "${names[@]}"; do
		id=${id_of[$name]} set=${set_of[$name]}
		run jq -c --arg id "$id" 'select(.id == $id) |
			[.kind, .origin, .flag_set, .effective, .removed]' <<<"$json"
		assert_output "[\"cgroup\",\"hook\",\"$set\",${EFFECTIVE[$set]},false]"
		run "$SCB" stats "$id" --json
		assert_success
		run jq -c '[.established_active, .established_passive]' <<<"$output"
		[ "$output" = "[1,0]" ] ||
			fail "$name ($set): [established_active, established_passive] = $output, expected [1,0]; its log: $($PODMAN logs "$name" 2>&1)"
		# Its request was acknowledged: RTT samples iff its set has RTT.
		assert_flags_in_effect "$id" "$set"
	done
	assert_maps_exact "$N"

	# 30 distinct links, each pinned under its container's id, each on
	# its container's cgroup, and one sock_ops program per cgroup.
	run bash -c "ls -A '$SCB_PIN_LINKS' | LC_ALL=C sort"
	assert_output "$(printf '%s\n' "${id_of[@]}" | LC_ALL=C sort)"
	run bash -c "for f in '$SCB_PIN_LINKS'/*; do bpftool -j link show pinned \"\$f\"; done |
		jq -s -c '[([.[].id] | unique | length), ([.[].cgroup_id] | unique | length)]'"
	assert_output "[$N,$N]"
	# (Its cgroup's name depends on the cgroup manager: ask its process.)
	for name in "${names[@]}"; do
		run bash -c "bpftool -j cgroup show '$(container_cgroup "$name")' |
			jq '[.[] | select(.attach_type | test(\"sock_ops\"))] | length'"
		assert_output 1
	done

	# All removed at once: poststop of each cleans up after itself.
	JOB_PIDS=()
	for name in "${names[@]}"; do
		start_job "rm-$name" timeout --kill=10 120 \
			$PODMAN --hooks-dir "$SCB_HOOKS_DIR" rm -f -t 0 "$name"
	done
	release_jobs
	for name in "${names[@]}"; do
		[ "$(cat "$JOBS/rm-$name.rc")" = 0 ] ||
			fail "podman rm $name: exit $(cat "$JOBS/rm-$name.rc"): $(cat "$JOBS/rm-$name.err")"
	done
	for ((i = 0; i < 100; i++)); do
		[ -z "$("$SCB" list --json)" ] && break
		sleep 0.1
	done
	assert_node_empty
}

###############################################################################
# CNI

@test "concurrency: 30 CNI ADDs at once on an unloaded node, then 30 DELs at once" {
	local i ns id set json
	local -A set_of
	local ids=() nss=()

	for ((i = 0; i < N; i++)); do
		ns=$P-ns$i id=$P-pod$i
		make_netns "$ns"
		nss+=("$ns") ids+=("$id")
		set_of[$id]=${SETS[i % 3]}
	done
	run ls -A "$SCB_NODE_BPF"
	refute_output --partial prog

	JOB_PIDS=()
	for ((i = 0; i < N; i++)); do
		start_cni_job "add-$i" ADD "${ids[i]}" "${nss[i]}" "${set_of[${ids[i]}]}"
	done
	release_jobs
	assert_jobs_ok $(for ((i = 0; i < N; i++)); do echo "add-$i"; done)
	for ((i = 0; i < N; i++)); do
		assert_equal "$(jq -c .ips "$JOBS/add-$i.out")" "$(jq -c .ips <<<"$PREV")"
	done

	# All 30 registered, each with its network's set, behind one link.
	json=$("$SCB" list --json)
	assert_equal "$(jq -s length <<<"$json")" "$N"
	for id in "${ids[@]}"; do
		run jq -c --arg id "$id" 'select(.id == $id) | [.kind, .origin, .flag_set, .effective]' <<<"$json"
		assert_output "[\"netns\",\"cni\",\"${set_of[$id]}\",${EFFECTIVE[${set_of[$id]}]}]"
	done
	assert_maps_exact "$N"
	assert_file_exists "$SCB_NETNS_LINK"
	run ls -A "$SCB_PIN_LINKS"
	assert_output ""
	# One node-wide link: the netns-mode program once on the root.
	run bash -c "bpftool -j cgroup show '$(cgroup2_mount)' | jq -s --argjson id \
		\$(bpftool -j prog show pinned '$SCB_NODE_BPF/prog-netns' | jq .id) \
		'[.[][] | select(.id == \$id)] | length'"
	assert_output 1

	# Each pod is traced by its own netns: one connection attempt in each
	# (refused: nothing listens) is one connect for that pod and no other.
	for ((i = 0; i < N; i++)); do
		nsenter --net="/run/netns/${nss[i]}" socat -u OPEN:/dev/null TCP:127.0.0.1:$PORT \
			2>/dev/null && fail "something listens on port $PORT in ${nss[i]}"
	done
	run bash -c "'$SCB' stats --json | jq -r '\"\(.id) \(.connect)\"'"
	for id in "${ids[@]}"; do
		assert_line "$id 1"
	done
	# And with the flags of its set, as the kernel runs them: one pod of
	# each set carries data.
	for ((i = 0; i < ${#SETS[@]}; i++)); do
		data_pair "${nss[i]}"
		assert_flags_in_effect "${ids[i]}" "${set_of[${ids[i]}]}"
	done

	JOB_PIDS=()
	for ((i = 0; i < N; i++)); do
		start_cni_job "del-$i" DEL "${ids[i]}" "${nss[i]}" "${set_of[${ids[i]}]}"
	done
	release_jobs
	assert_jobs_ok $(for ((i = 0; i < N; i++)); do echo "del-$i"; done)
	assert_node_empty
}

@test "concurrency: 30 hooks and 30 CNI ADDs at once on a node without bpffs, then all removed at once" {
	local i cg pid ns mounts
	local cgs=() pids=() nss=() names=()

	# As on a host that does not mount bpffs at boot: the product mounts
	# it, and 60 first calls must end up with one bpffs and one node.
	scb_node_exec umount /sys/fs/bpf
	run scb_node_exec mountpoint -q /sys/fs/bpf
	assert_failure

	for ((i = 0; i < N; i++)); do
		make_cgroup
		cgs+=("$SCB_CGROUP")
		start_in_cgroup "$SCB_CGROUP" sleep 600
		pids+=("$SCB_BG_PID")
		ns=$P-ns$i
		make_netns "$ns"
		nss+=("$ns")
	done
	for ((i = 0; i < N; i++)); do
		wait_in_cgroup "${pids[i]}" "${cgs[i]}"
	done

	JOB_PIDS=()
	for ((i = 0; i < N; i++)); do
		scb_oci_state "$P-ctr$i" "${pids[i]}" \
			"{\"sockops-cb.io/flag-set\":\"${SETS[i % 3]}\"}" >"$JOBS/hook-$i.in"
		start_job "hook-$i" "$SCB" hook createRuntime --config "$CONFIG"
		start_cni_job "add-$i" ADD "$P-pod$i" "${nss[i]}" "${SETS[i % 3]}"
		names+=("hook-$i" "add-$i")
	done
	release_jobs
	assert_jobs_ok "${names[@]}"

	mounts=$(scb_node_exec findmnt -n -o FSTYPE /sys/fs/bpf)
	[ "$mounts" = bpf ] ||
		fail "/sys/fs/bpf has these mounts after 60 parallel first calls: $(echo $mounts)"
	run_scb list --json
	assert_equal "$(jq -s 'map(select(.kind == "cgroup")) | length' <<<"$output")" "$N"
	assert_equal "$(jq -s 'map(select(.kind == "netns")) | length' <<<"$output")" "$N"
	for ((i = 0; i < N; i++)); do
		assert_equal "$(jq -c --arg id "$P-ctr$i" 'select(.id == $id) | .effective' <<<"$output")" \
			"${EFFECTIVE[${SETS[i % 3]}]}"
		assert_equal "$(jq -c --arg id "$P-pod$i" 'select(.id == $id) | .effective' <<<"$output")" \
			"${EFFECTIVE[${SETS[i % 3]}]}"
	done
	assert_maps_exact $((2 * N))
	assert_equal "$(ls -A "$SCB_PIN_LINKS" | wc -l)" "$N"
	assert_file_exists "$SCB_NETNS_LINK"
	for cg in "${cgs[@]}"; do
		assert_equal "$(cgroup_sockops_attached "$cg" | wc -l)" 1
	done
	# The kernel runs the flags of each set: one container of each set
	# connects (in a netns no pod owns), and one pod of each set.
	make_netns "$P-free"
	for ((i = 0; i < ${#SETS[@]}; i++)); do
		data_pair "$P-free" "${cgs[i]}"
		assert_flags_in_effect "$P-ctr$i" "${SETS[i]}"
		data_pair "${nss[i]}"
		assert_flags_in_effect "$P-pod$i" "${SETS[i]}"
	done

	JOB_PIDS=()
	names=()
	for ((i = 0; i < N; i++)); do
		scb_oci_state "$P-ctr$i" 0 '{}' stopped >"$JOBS/poststop-$i.in"
		start_job "poststop-$i" "$SCB" hook poststop --config "$CONFIG"
		start_cni_job "del-$i" DEL "$P-pod$i" "${nss[i]}" "${SETS[i % 3]}"
		names+=("poststop-$i" "del-$i")
	done
	release_jobs
	assert_jobs_ok "${names[@]}"
	assert_node_empty
	for cg in "${cgs[@]}"; do
		assert_equal "$(cgroup_sockops_attached "$cg")" ""
	done
}

@test "concurrency: a writer waits for the node's lock; readers do not" {
	local lock_pid cg pid

	# A first target loads the node.
	make_cgroup
	run_scb attach --cgroup "/${SCB_CGROUP##*/}" --name "$P-first" --flags STATE
	make_cgroup
	cg=$SCB_CGROUP
	start_in_cgroup "$cg" sleep 600
	pid=$SCB_BG_PID
	wait_in_cgroup "$pid" "$cg"

	# Hold the lock writers take: flock on the node's directory, until
	# this test writes a line into the FIFO unlock (or 30 s have passed,
	# should the test fail before).
	mkfifo "$JOBS/unlock"
	scb_node_exec flock /sys/fs/bpf/sockops-cb timeout 30 sh -c 'read -r _ <"$0"' \
		"$JOBS/unlock" 3>&- &
	lock_pid=$!
	wait_until 10 node_locked

	JOB_PIDS=()
	scb_oci_state "$P-ctr" "$pid" '{"sockops-cb.io/flag-set":"rtt"}' >"$JOBS/hook.in"
	start_job hook "$SCB" hook createRuntime --config "$CONFIG"
	release_jobs --no-wait
	# The hook blocks on the lock: the kernel lists it as a waiter.
	wait_until 10 job_waits_for_flock "${JOB_PIDS[0]}"

	# Readers take no lock: list answers while the lock is held.
	run timeout 2 "$SCB" list --json
	assert_success
	assert_output --partial "\"$P-first\""
	refute_output --partial "\"$P-ctr\""
	# The writer is still waiting.
	assert_file_not_exists "$JOBS/hook.rc"
	job_waits_for_flock "${JOB_PIDS[0]}" || fail "the hook no longer waits for the lock"

	echo >"$JOBS/unlock"
	wait "$lock_pid"
	release_jobs
	assert_jobs_ok hook
	run_scb list --json
	assert_output --partial "\"$P-ctr\""
	assert_equal "$(cgroup_sockops_attached "$cg" | wc -l)" 1
}
