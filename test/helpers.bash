# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Loaded by every test/NNN-topic.bats with `load helpers`.  Modelled on
# podman's test/system/helpers.bash: one run_podman wrapper that checks the
# exit code, names from safename, and a teardown that removes what the test
# made even when the test failed.
#
# A test file gets setup() and teardown() from here.  A file that needs its
# own must call basic_setup / scb_teardown from them.

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash
load /usr/lib/bats/bats-file/load.bash

# shellcheck source=test/lib.sh
# Beside this file, not the test's: test/kernels/contract.bats loads it too.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Unquoted where used: it may carry options, as in podman's own helpers.
PODMAN=${PODMAN:-podman}
PODMAN_TIMEOUT=${PODMAN_TIMEOUT:-60}

# One private containers.conf and CNI config dir per bats run: networks a
# run creates never mix with the host's.  Exported so that a bare `podman`
# (or the product, when a test runs it) sees the same setup.
SCB_RUN_DIR=$BATS_RUN_TMPDIR/scb
SCB_NETDIR=$SCB_RUN_DIR/net
export CONTAINERS_CONF=$SCB_RUN_DIR/containers.conf
[ -f "$CONTAINERS_CONF" ] || scb_containers_conf "$CONTAINERS_CONF" "$SCB_NETDIR"
export SCB SCB_IMAGE

###############################################################################
# setup / teardown

basic_setup()
{
	# Once per run: without the image every podman test fails confusingly.
	if [ ! -e "$SCB_RUN_DIR/image-ok" ]; then
		$PODMAN image exists "$SCB_IMAGE" ||
			fail "image $SCB_IMAGE is missing: run test/setup.sh"
		touch "$SCB_RUN_DIR/image-ok"
	fi

	# What this test made, for scb_teardown.
	SCB_NETWORKS=()
	SCB_ATTACHED=()
	SCB_CGROUPS=()
	SCB_NETNS=()
	SCB_TEST_ID=t${BATS_SUITE_TEST_NUMBER}-$(random_string 6)

	# An empty private hooks dir unless the test writes one: hooks installed
	# on the host (make install) must not run in our tests.
	SCB_HOOKS_DIR=$BATS_TEST_TMPDIR/hooks.d
	mkdir -p "$SCB_HOOKS_DIR"
}

# Remove everything the test created, in dependency order.  Best effort: a
# step that fails must not keep the later ones from running; run.sh's
# leftover check catches whatever survives.
scb_teardown()
{
	local name cg ns i

	_scb_rm_labelled pod
	_scb_rm_labelled container

	for name in ${SCB_NETWORKS[@]+"${SCB_NETWORKS[@]}"}; do
		scb_network_rm "$name"
	done
	[ ${#SCB_NETWORKS[@]} -eq 0 ] || scb_cni_firewall_cleanup || true

	for name in ${SCB_ATTACHED[@]+"${SCB_ATTACHED[@]}"}; do
		"$SCB" detach "$name" >/dev/null 2>&1 || true
	done

	# Innermost first: rmdir fails on a cgroup with children.
	for ((i = ${#SCB_CGROUPS[@]} - 1; i >= 0; i--)); do
		cg=${SCB_CGROUPS[i]}
		[ -d "$cg" ] || continue
		_scb_kill_cgroup "$cg"
		_scb_rmdir_cgroup "$cg"
	done

	for ns in ${SCB_NETNS[@]+"${SCB_NETNS[@]}"}; do
		ip netns delete "$ns" 2>/dev/null || true
	done
}

# Containers (or pods) carrying this test's label.  podman rm -t 0: without
# it, stopping a container that ignores SIGTERM takes 10 s.
_scb_rm_labelled()
{
	local what=$1 ids

	[ -n "${SCB_TEST_ID:-}" ] || return 0
	if [ "$what" = pod ]; then
		mapfile -t ids < <($PODMAN pod ps -q \
			--filter "label=$SCB_LABEL=$SCB_TEST_ID")
		[ ${#ids[@]} -eq 0 ] ||
			$PODMAN pod rm -f -t 0 "${ids[@]}" >/dev/null 2>&1 || true
	else
		mapfile -t ids < <($PODMAN ps -aq \
			--filter "label=$SCB_LABEL=$SCB_TEST_ID")
		[ ${#ids[@]} -eq 0 ] ||
			$PODMAN rm -f -t 0 "${ids[@]}" >/dev/null 2>&1 || true
	fi
}

# _scb_kill_cgroup CG: kill every process in CG.  cgroup.kill exists from
# Linux 5.14; before it, each pid of cgroup.procs (a fork racing the kill
# is what the rmdir retries absorb).
_scb_kill_cgroup()
{
	local pid pids

	if [ -e "$1/cgroup.kill" ]; then
		echo 1 >"$1/cgroup.kill" 2>/dev/null || true
		return 0
	fi
	[ -r "$1/cgroup.procs" ] || return 0
	mapfile -t pids <"$1/cgroup.procs"
	for pid in ${pids[@]+"${pids[@]}"}; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	# Reap the test's own background jobs: there a zombie keeps the cgroup
	# populated until its parent waits (no-op for other processes).
	for pid in ${pids[@]+"${pids[@]}"}; do
		wait "$pid" 2>/dev/null || true
	done
}

# Killed processes leave the cgroup asynchronously; retry rmdir briefly.
_scb_rmdir_cgroup()
{
	local cg=$1 i

	for ((i = 0; i < 50; i++)); do
		rmdir "$cg" 2>/dev/null && return 0
		[ -d "$cg" ] || return 0
		sleep 0.1
	done
	echo "# teardown: cannot remove cgroup $cg" >&2
}

setup()
{
	basic_setup
}

teardown()
{
	scb_teardown
}

###############################################################################
# podman and sockops-cb

# run_podman [EXPECTED_RC] ARGS...: run podman through bats `run`, leaving
# $output, $lines and $status, and fail unless it exits EXPECTED_RC (default
# 0; '?' accepts any).  Always uses the private containers.conf and
# $SCB_HOOKS_DIR.  run, create and pod create get this test's label, which
# is how scb_teardown finds them.
run_podman()
{
	local expected_rc=0 args

	case "$1" in
	[0-9] | [0-9][0-9] | [0-9][0-9][0-9])
		expected_rc=$1
		shift
		;;
	'?')
		expected_rc=
		shift
		;;
	esac

	args=("$@")
	case "$1 ${2:-}" in
	"run "* | "create "*)
		args=("$1" --label "$SCB_LABEL=$SCB_TEST_ID" "${@:2}")
		;;
	"container run" | "container create" | "pod create")
		args=("$1" "$2" --label "$SCB_LABEL=$SCB_TEST_ID" "${@:3}")
		;;
	esac

	echo "\$ podman $*"
	# shellcheck disable=SC2086
	run timeout --foreground -v --kill=10 "$PODMAN_TIMEOUT" \
		$PODMAN --hooks-dir "$SCB_HOOKS_DIR" "${args[@]}"
	[ -z "$output" ] || echo "$output"

	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		fail "podman $* timed out after ${PODMAN_TIMEOUT}s"
	fi
	if [ -n "$expected_rc" ] && [ "$status" -ne "$expected_rc" ]; then
		fail "exit code is $status; expected $expected_rc: podman $*"
	fi
}

# run_scb [EXPECTED_RC] ARGS...: the same for our binary.  An `attach`
# records its --name so that scb_teardown detaches it whatever happens.
run_scb()
{
	local expected_rc=0 i

	case "$1" in
	[0-9] | [0-9][0-9] | [0-9][0-9][0-9])
		expected_rc=$1
		shift
		;;
	'?')
		expected_rc=
		shift
		;;
	esac

	if [ "$1" = attach ]; then
		for ((i = 2; i < $#; i++)); do
			[ "${!i}" = --name ] || continue
			i=$((i + 1))
			scb_track_attach "${!i}"
		done
	fi

	echo "\$ sockops-cb $*"
	run timeout --foreground -v --kill=10 "$PODMAN_TIMEOUT" "$SCB" "$@"
	[ -z "$output" ] || echo "$output"

	if [ -n "$expected_rc" ] && [ "$status" -ne "$expected_rc" ]; then
		fail "exit code is $status; expected $expected_rc: sockops-cb $*"
	fi
}

# scb_track_attach NAME: detach NAME in teardown (for attaches not made
# through run_scb).
scb_track_attach()
{
	SCB_ATTACHED+=("$1")
}

# Fail with a clear message when the product binary was not built.
scb_require_binary()
{
	[ -x "$SCB" ] || fail "$SCB is missing: run make"
}

# scb_hooks_dir CONFIG [WHEN]: a private hooks.d for this test running our
# binary at createRuntime and poststop; run_podman uses it from now on.
# CONFIG is the --config path ("" for none), WHEN a hooks.d "when" object
# (default {"always":true}), e.g. '{"annotations":{"^sockops-cb\\.io/":".*"}}'.
scb_hooks_dir()
{
	SCB_HOOKS_DIR=$BATS_TEST_TMPDIR/scb-hooks.d
	rm -rf "$SCB_HOOKS_DIR"
	scb_write_hooks "$SCB_HOOKS_DIR" "$1" "${2:-}"
}

# scb_write_config FILE JSON: write a config file; fails on invalid JSON so
# a typo in a test shows up as such.
scb_write_config()
{
	jq . <<<"$2" >"$1" || fail "scb_write_config: invalid JSON: $2"
}

###############################################################################
# names, networks, namespaces, cgroups

random_string()
{
	local len=${1:-8}

	head -c 256 /dev/urandom | tr -dc a-z0-9 | head -c "$len"
}

# A new name, unique per call and recognisable per test: t<N>-<random>.
safename()
{
	echo "t${BATS_SUITE_TEST_NUMBER}-$(random_string 8)"
}

# scb_subnet4 [IDX] / scb_subnet6 [IDX]: a private subnet for this test's
# own bridge (IDX 0-3), so tests never share or reuse a subnet in one run.
scb_subnet4()
{
	echo "10.89.$(((BATS_SUITE_TEST_NUMBER % 64) * 4 + ${1:-0})).0/24"
}

scb_subnet6()
{
	printf 'fd00:89:%x::/64\n' $(((BATS_SUITE_TEST_NUMBER % 64) * 4 + ${1:-0}))
}

# make_bridge_network [--gateway] NAME SUBNET [SUBNET6] [-- PODMAN-OPTS...]:
# a CNI bridge network for this test, removed in teardown.  --internal
# unless --gateway: no gateway and no masquerade, so containers reach each
# other and nothing else.  --gateway gives podman's usual shape (a gateway
# address on the bridge, masquerade out).
make_bridge_network()
{
	local opts=(--internal) name

	if [ "$1" = --gateway ]; then
		opts=()
		shift
	fi
	name=$1
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=(--subnet "$1")
		shift
	done
	[ "${1:-}" != -- ] || shift

	# Tracked first: a half-made network is still removed.
	SCB_NETWORKS+=("$name")
	run_podman network create ${opts[@]+"${opts[@]}"} "$@" "$name"
}

# The conflist podman wrote for network NAME.
network_conflist()
{
	echo "$SCB_NETDIR/$1.conflist"
}

# network_add_plugin NAME PLUGIN-JSON: chain one more plugin at the end of
# network NAME's conflist (how a test puts sockops-cb in a podman network).
network_add_plugin()
{
	local file

	file=$(network_conflist "$1")
	assert_file_exists "$file"
	jq --argjson p "$2" '.plugins += [$p]' "$file" >"$file.new" ||
		fail "network_add_plugin: invalid plugin JSON: $2"
	mv "$file.new" "$file"
}

# make_netns NAME: a network namespace of the test's own, removed in teardown.
make_netns()
{
	SCB_NETNS+=("$1")
	ip netns add "$1" || fail "ip netns add $1"
	ip -n "$1" link set lo up
}

# make_cgroup [NAME]: a throwaway cgroup2 directory under the cgroup2 mount,
# left in $SCB_CGROUP; teardown kills what is left in it and removes it.
# Call it directly, not in $(...), or the tracking is lost with the subshell.
make_cgroup()
{
	local cg2

	cg2=$(cgroup2_mount)
	[ -n "$cg2" ] || fail "no cgroup2 mount"
	SCB_CGROUP=$cg2/scb-test-${1:-$(safename)}
	SCB_CGROUPS+=("$SCB_CGROUP")
	mkdir "$SCB_CGROUP" || fail "mkdir $SCB_CGROUP"
}

# make_pod_cgroup CHILD...: a test cgroup (SCB_CGROUP, the pod) with the
# named child cgroups in it (containers), all removed by teardown.
make_pod_cgroup()
{
	local child

	make_cgroup
	for child in "$@"; do
		mkdir "$SCB_CGROUP/$child" || fail "mkdir $SCB_CGROUP/$child"
		SCB_CGROUPS+=("$SCB_CGROUP/$child")
	done
}

# wait_for_file FILE SECONDS: until FILE exists (a load generator's result),
# at most SECONDS.
wait_for_file()
{
	local i

	for ((i = 0; i < $2 * 20; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
}

# wait_netns_quiet NS: until NS has no TCP socket but listeners and TIME-WAIT:
# every connection has finished its retransmits and state changes.
wait_netns_quiet()
{
	local i s

	for ((i = 0; i < 300; i++)); do
		s=$(ip netns exec "$1" ss -Htan state all exclude time-wait exclude listening)
		[ -z "$s" ] && return 0
		sleep 0.1
	done
	fail "connections in $1 did not finish: $s"
}

# serve_in_cgroup CG PORT: a loopback TCP sink on PORT, a member of CG
# (killed by teardown); returns once it listens.
serve_in_cgroup()
{
	start_in_cgroup "$1" socat -u TCP-LISTEN:"$2",reuseaddr,fork,bind=127.0.0.1 OPEN:/dev/null
	scb_wait_for_port "$SCB_BG_PID" "$2" || fail "no server on port $2"
}

# connect_from_cgroup CG PORT N: N connections to the loopback PORT, each
# sending a line, made from CG; returns once both ends are closed.
connect_from_cgroup()
{
	local i

	for ((i = 0; i < $3; i++)); do
		run_in_cgroup "$1" sh -c "echo hi | socat -u - TCP:127.0.0.1:$2" ||
			fail "client $i to port $2 failed"
	done
	wait_until 10 tcp_port_settled "$2"
}

# run_in_cgroup CG CMD...: run CMD as a member of cgroup CG, so sockets it
# creates belong there.  Joins first, then execs (ip netns exec remounts /sys
# and would hide a hybrid cgroup2 mount).
run_in_cgroup()
{
	local cg=$1

	shift
	bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# start_in_cgroup CG CMD...: the same in the background; $SCB_BG_PID is
# CMD's own pid (not a subshell's).  Teardown kills it with the cgroup.
start_in_cgroup()
{
	local cg=$1

	shift
	# fd 3 closed: bats waits for whoever holds it open.
	bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@" 3>&- &
	SCB_BG_PID=$!
}

# in_ns CG NS CMD...: run CMD in cgroup CG and netns NS.
in_ns()
{
	local cg=$1 ns=$2

	shift 2
	run_in_cgroup "$cg" ip netns exec "$ns" "$@"
}

# bg_in_ns CG NS CMD...: the same in the background ($SCB_BG_PID);
# teardown kills it with the cgroup.
bg_in_ns()
{
	local cg=$1 ns=$2

	shift 2
	start_in_cgroup "$cg" ip netns exec "$ns" "$@"
}

###############################################################################
# containers

container_pid()
{
	local pid

	pid=$(scb_ctr_pid "$1") || fail "cannot inspect container $1"
	[ "$pid" -gt 0 ] || fail "container $1 is not running"
	echo "$pid"
}

container_id()
{
	$PODMAN inspect --format '{{.Id}}' "$1"
}

# container_ip CTR [NETWORK]: the IPv4 address (IPv6 with -6 first).
container_ip()
{
	local field=IPAddress fmt

	if [ "$1" = -6 ]; then
		field=GlobalIPv6Address
		shift
	fi
	if [ -n "${2:-}" ]; then
		fmt="{{(index .NetworkSettings.Networks \"$2\").$field}}"
	else
		fmt="{{range .NetworkSettings.Networks}}{{.$field}}{{end}}"
	fi
	$PODMAN inspect --format "$fmt" "$1"
}

# btf_has_sock_cgroup: whether the kernel's BTF has the socket's cgroup
# pointer (5.15+), which trace and conns of cgroup targets need: the
# kernel's own answer, not the product's.
btf_has_sock_cgroup()
{
	bpftool btf dump file /sys/kernel/btf/vmlinux format c |
		awk '/^struct sock_cgroup_data \{/,/^\};/' | grep -q 'struct cgroup \*cgroup;'
}

# scb_cgroup_manager: podman's cgroup manager here, systemd or cgroupfs.
scb_cgroup_manager()
{
	$PODMAN info --format '{{.Host.CgroupManager}}'
}

# container_cgroup CTR: the absolute cgroup2 directory of CTR's process.
container_cgroup()
{
	local pid path

	pid=$(container_pid "$1")
	path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	echo "$(cgroup2_mount)$path"
}

# container_netns_exec CTR CMD...: run a host binary (iptables, ss, ip) in
# the network namespace of CTR.
container_netns_exec()
{
	local pid

	pid=$(container_pid "$1")
	shift
	nsenter -t "$pid" -n -- "$@"
}

# wait_for_netns_ss NS SS-ARGS...: until `ss -Ht SS-ARGS` in network
# namespace NS lists a socket (5 s at most).
wait_for_netns_ss()
{
	local ns=$1 i

	shift
	for ((i = 0; i < 50; i++)); do
		[ -z "$(ip netns exec "$ns" ss -Ht "$@" 2>/dev/null)" ] || return 0
		sleep 0.1
	done
	fail "no socket in netns $ns for: ss -t $*"
}

# wait_for_port_in_container CTR PORT [TIMEOUT]: until something listens.
wait_for_port_in_container()
{
	scb_wait_for_port "$(container_pid "$1")" "$2" "${3:-10}" ||
		fail "container $1: nothing listens on port $2"
}

# wait_for_output CTR REGEX [TIMEOUT]: until CTR's log matches REGEX.
wait_for_output()
{
	local ctr=$1 re=$2 timeout=${3:-10} i

	for ((i = 0; i < timeout * 10; i++)); do
		$PODMAN logs "$ctr" 2>&1 | grep -qE -- "$re" && return 0
		sleep 0.1
	done
	fail "container $ctr: no output matching /$re/ after ${timeout}s"
}

###############################################################################
# waiting on a condition

# wait_until TIMEOUT CMD...: run CMD every 0.1 s until it succeeds; fail
# naming CMD when it has not within TIMEOUT (whole) seconds.  What the
# tests synchronise on instead of a fixed sleep: a sleep long enough on an
# idle machine is too short on a loaded one, and wastes time on both.
wait_until()
{
	local timeout=$1 i

	shift
	for ((i = 0; i < timeout * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@" || fail "still not true after ${timeout}s: $*"
}

# tcp_port_settled PORT [NETNS]: no TCP socket on PORT (either end) in this
# netns (or NETNS) is between states: only listeners and TIME-WAIT are
# left.  The kernel runs the sock_ops callbacks with each state change, so
# once this holds the counters of the port's closed connections are final.
tcp_port_settled()
{
	local filter="( sport = :$1 or dport = :$1 )"

	if [ -n "${2:-}" ]; then
		[ -z "$(ip netns exec "$2" ss -Htan exclude listening \
			exclude time-wait "$filter")" ]
	else
		[ -z "$(ss -Htan exclude listening exclude time-wait "$filter")" ]
	fi
}

###############################################################################
# skips

skip_if_rootless()
{
	[ "$(id -u)" -eq 0 ] || skip "${1:-needs root}"
}

skip_if_no_cgroup2()
{
	[ -n "$(cgroup2_mount)" ] || skip "${1:-no cgroup2 mount}"
}

###############################################################################
# The CNI role (added for test/020-cni.bats and test/021-cni-protocol.bats)

# Where the product pins the node-wide link of netns-registered (CNI) pods.
SCB_NETNS_LINK=${SCB_NETNS_LINK:-${SCB_PIN_LINKS%/*}/netns-link}

# run_cni [EXPECTED_RC] STDIN [VAR=VALUE...]: run our binary as a CNI plugin,
# the way a runtime does: an environment holding only PATH and the given
# variables (CNI_COMMAND=ADD, CNI_CONTAINERID=..., ...), the network
# configuration on stdin.  Leaves stdout in $output, stderr in $stderr and
# the exit code in $status; fails unless it exits EXPECTED_RC (default 0,
# '?' accepts any).  Needs `bats_require_minimum_version 1.5.0` in the file.
run_cni()
{
	local expected_rc=0 stdin

	case "$1" in
	[0-9] | [0-9][0-9] | [0-9][0-9][0-9])
		expected_rc=$1
		shift
		;;
	'?')
		expected_rc=
		shift
		;;
	esac
	stdin=$1
	shift

	echo "\$ $* sockops-cb <<<'${stdin:0:400}$([ ${#stdin} -le 400 ] || echo ...)'"
	run --separate-stderr timeout --foreground -v --kill=10 "$PODMAN_TIMEOUT" \
		env -i PATH="$PATH" "$@" "$SCB" <<<"$stdin"
	[ -z "$output" ] || echo "stdout: ${output:0:2000}"
	[ -z "$stderr" ] || echo "stderr: ${stderr:0:2000}"

	if [ -n "$expected_rc" ] && [ "$status" -ne "$expected_rc" ]; then
		fail "exit code is $status; expected $expected_rc: $* sockops-cb"
	fi
}

# scb_target_json ID: the `list --json` line of target ID (empty if none).
scb_target_json()
{
	"$SCB" list --json | jq -c --arg id "$1" 'select(.id == $id)'
}

# assert_no_target ID: nothing of ID is left: no `list` entry, no link pin.
assert_no_target()
{
	local json

	json=$(scb_target_json "$1")
	[ -z "$json" ] || fail "target $1 is still listed: $json"
	assert_file_not_exists "$SCB_PIN_LINKS/$1"
}

# assert_netns_link_consistent: the node-wide netns link exists exactly when
# some netns target does.  Other tests on the machine may own netns targets,
# so this is the strongest check of "the last one took the link along".
assert_netns_link_consistent()
{
	local n

	n=$("$SCB" list --json | jq -s '[.[] | select(.kind == "netns" and
		(.removed | not))] | length')
	if [ "$n" -eq 0 ]; then
		[ ! -e "$SCB_NETNS_LINK" ] ||
			fail "no netns target is left but $SCB_NETNS_LINK is still pinned"
	else
		[ -e "$SCB_NETNS_LINK" ] ||
			fail "$n netns target(s) listed but $SCB_NETNS_LINK is gone"
	fi
}

# cgroup_sockops_attached CG: the sock_ops programs attached to cgroup
# directory CG itself (not inherited); no output when there are none.
# bpftool 7.1 names the attach type "cgroup_sock_ops" (older ones
# "sock_ops"): `grep -w sock_ops` would miss it, '_' being a word character.
cgroup_sockops_attached()
{
	bpftool cgroup show "$1" 2>/dev/null |
		grep -E '(^|[[:space:]])(cgroup_)?sock_ops([[:space:]]|$)' || true
}

# root_netns_prog_attached: the node's netns-mode program (pinned as
# prog-netns) is attached to the cgroup2 root: the node-wide link of netns
# targets is in place.  Only ours counts: other programs may be on the root
# (a running `sockops-cb trace` attaches its own there).
root_netns_prog_attached()
{
	local id

	id=$(bpftool -j prog show pinned "${SCB_PIN_LINKS%/*}/prog-netns" 2>/dev/null |
		jq -r '.id // empty')
	[ -n "$id" ] || return 1
	# -s: with nothing attached bpftool prints no JSON at all.
	bpftool -j cgroup show "$(cgroup2_mount)" 2>/dev/null |
		jq -s -e --argjson id "$id" 'any(.[][]; .id == $id)' >/dev/null
}

###############################################################################
# The hook role (added for test/010-hook.bats and test/011-hook-faults.bats)

# scb_oci_state ID PID [ANNOTATIONS-JSON [STATUS]]: an OCI state as podman
# hands it to a hook (see 000-harness.bats), for driving the hook by hand.
# PID 0 leaves "pid" out, as at poststop.  The bundle does not exist, so the
# product finds no podman name.
scb_oci_state()
{
	jq -nc --arg id "$1" --argjson pid "$2" --argjson ann "${3:-"{}"}" \
		--arg status "${4:-creating}" '{
		ociVersion: "1.0.2", id: $id, status: $status,
		bundle: "/nonexistent/overlay-containers/\($id)/userdata",
		annotations: $ann
	} + (if $pid > 0 then { pid: $pid } else {} end)'
}

# run_hook [EXPECTED_RC] STAGE CONFIG STATE-FILE: run `sockops-cb hook STAGE
# --config CONFIG` (no --config when CONFIG is empty) with STATE-FILE on
# stdin.  stdout in $output, stderr in $stderr, exit code in $status; fails
# unless it exits EXPECTED_RC (default 0; '?' accepts any, '!' any failure
# that is not a signal or a timeout).  Needs `bats_require_minimum_version
# 1.5.0` in the file.
run_hook()
{
	local expected_rc=0 stage config state args

	case "$1" in
	[0-9] | [0-9][0-9] | [0-9][0-9][0-9])
		expected_rc=$1
		shift
		;;
	'?' | '!')
		expected_rc=$1
		shift
		;;
	esac
	stage=$1 config=$2 state=$3
	args=(hook "$stage")
	[ -z "$config" ] || args+=(--config "$config")

	echo "\$ sockops-cb ${args[*]} <$state ($(head -c 300 "$state")...)"
	run --separate-stderr timeout --foreground -v --kill=10 \
		"$PODMAN_TIMEOUT" "$SCB" "${args[@]}" <"$state"
	[ -z "$output" ] || echo "stdout: ${output:0:2000}"
	[ -z "$stderr" ] || echo "stderr: ${stderr:0:2000}"

	case "$expected_rc" in
	'?') ;;
	'!')
		if [ "$status" -lt 1 ] || [ "$status" -ge 124 ]; then
			fail "exit code is $status; expected a plain failure (1-123): sockops-cb ${args[*]}"
		fi
		;;
	*)
		[ "$status" -eq "$expected_rc" ] ||
			fail "exit code is $status; expected $expected_rc: sockops-cb ${args[*]}"
		;;
	esac
}

# scb_trace_start OUT [TRACE-ARGS...]: run `sockops-cb trace --json
# TRACE-ARGS` in the background, events to OUT and stderr to OUT.err, and
# wait until it is armed (scb_trace_armed); fails at once if it exits
# early.  Wait with scb_trace_wait; teardown should call scb_trace_stop.
scb_trace_start()
{
	local out=$1 i

	shift
	# fd 3 closed: bats waits for whoever holds it open.
	"$SCB" trace --json "$@" >"$out" 2>"$out.err" 3>&- &
	SCB_TRACE_PID=$!
	SCB_TRACE_OUT=$out
	for ((i = 0; i < 100; i++)); do
		scb_trace_armed "$SCB_TRACE_PID" && return 0
		kill -0 "$SCB_TRACE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "$SCB_TRACE_PID" 2>/dev/null; then
		wait "$SCB_TRACE_PID" || true
		SCB_TRACE_PID=
		fail "sockops-cb trace $* exited early: $(cat "$out.err")"
	fi
	fail "sockops-cb trace $* did not arm within 10 s: $(cat "$out.err")"
}

# scb_trace_armed PID: the trace PID is reading events: it holds the link
# of its own trace program on a cgroup (bpf_link fdinfo), which it makes
# after its ring is ready.
scb_trace_armed()
{
	grep -qs '^link_type:[[:space:]]*cgroup' /proc/"$1"/fdinfo/*
}

# scb_trace_wait: wait for the trace started by scb_trace_start to end; fail
# unless it exited 0.  Its events stay in the OUT given to scb_trace_start.
scb_trace_wait()
{
	local rc=0

	[ -n "${SCB_TRACE_PID:-}" ] || fail "scb_trace_wait: no trace running"
	wait "$SCB_TRACE_PID" || rc=$?
	SCB_TRACE_PID=
	echo "# trace: $(wc -l <"$SCB_TRACE_OUT") events; stderr: $(cat "$SCB_TRACE_OUT.err")"
	[ "$rc" -eq 0 ] || fail "sockops-cb trace exited $rc: $(cat "$SCB_TRACE_OUT.err")"
}

# scb_trace_stop: for teardown; kills a trace the test left running.
scb_trace_stop()
{
	[ -n "${SCB_TRACE_PID:-}" ] || return 0
	kill "$SCB_TRACE_PID" 2>/dev/null || true
	wait "$SCB_TRACE_PID" 2>/dev/null || true
	SCB_TRACE_PID=
}

# tcp_counter NAME CMD...: the kernel's own TCP counter NAME (a Tcp: field
# of /proc/net/snmp, e.g. RetransSegs, or a TcpExt: field of
# /proc/net/netstat, e.g. TCPTimeouts) as CMD... (which enters a network
# namespace) reads them.
tcp_counter()
{
	local name=$1 v

	shift
	v=$("$@" cat /proc/net/snmp /proc/net/netstat | awk -v f="$name" '
		$1 == "Tcp:" || $1 == "TcpExt:" {
			if (!($1 in hdr)) { hdr[$1] = 1; for (i = 2; i <= NF; i++) n[$1, i] = $i; next }
			for (i = 2; i <= NF; i++) if (n[$1, i] == f) { print $i; exit }
		}')
	[ -n "$v" ] || fail "no TCP counter $name through: $*"
	echo "$v"
}

# netns_tcp_counter PID NAME: tcp_counter in the network namespace of PID.
netns_tcp_counter()
{
	tcp_counter "$2" nsenter -t "$1" -n
}

# ns_tcp_counter NS NAME: tcp_counter in the named network namespace NS.
ns_tcp_counter()
{
	tcp_counter "$2" ip netns exec "$1"
}

###############################################################################
# A private node (added for test/030-faults.bats, test/031-concurrency.bats
# and test/032-flood.bats)
#
# The product keeps a node's state in bpffs under /sys/fs/bpf/sockops-cb.
# This machine is shared: colleagues attach, detach, trace and now and then
# `unload --force` there while tests run.  A test that needs a pristine node
# (the first load), kills the product at every step, switches events on for
# the whole node or counts every map entry runs the product on a node of its
# own instead: a mount namespace, kept by a sleeping process, whose
# /sys/fs/bpf is a bpffs of its own; $SCB becomes a wrapper that runs the
# binary in it.  Nothing else is private: links attach to the real cgroups,
# and network namespaces (the namespace is a mount slave: new /run/netns
# entries show up in it), /proc and /run are the host's.  Every helper above
# that runs "$SCB" (run_scb, run_hook, run_cni, scb_target_json, the hooks.d
# JSON of scb_hooks_dir, scb_teardown's detach) then works on the private
# node, and $SCB_PIN_LINKS / $SCB_NETNS_LINK point into it through
# /proc/PID/root.

# scb_private_node: switch this test to a node of its own with an empty
# bpffs.  The wrapper runs a copy of the binary taken now, so a rebuild
# during the test does not change the product under it.  Sets SCB (the
# wrapper), SCB_BIN (the binary given), SCB_NODE_PID (the process keeping
# the namespace) and SCB_NODE_BPF (the node's sockops-cb directory as seen
# from here).  teardown must call scb_private_node_teardown.
scb_private_node()
{
	local dir=$BATS_TEST_TMPDIR/node i

	SCB_BIN=${SCB_BIN:-$SCB}
	SCB_NODE_DIR=$dir
	mkdir -p "$dir"
	cp "$SCB_BIN" "$dir/sockops-cb.bin" && "$dir/sockops-cb.bin" --version >/dev/null ||
		fail "scb_private_node: cannot copy $SCB_BIN (is it being rebuilt?)"
	# fd 3 closed: bats waits for whoever holds it open.
	unshare --mount --propagation slave sleep infinity 3>&- &
	SCB_NODE_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(cat "/proc/$SCB_NODE_PID/comm" 2>/dev/null)" = sleep ] && break
		sleep 0.05
	done
	scb_node_exec sh -c '
		while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 1; done
		mount -t bpf -o mode=0700 bpf /sys/fs/bpf' ||
		fail "scb_private_node: cannot mount a bpffs in the private node"
	cat >"$dir/sockops-cb" <<-EOF
		#!/bin/sh
		# sockops-cb on the private node of a test (scb_private_node).
		# Never on the host's: refuse if the namespace is gone.  (Absolute
		# paths: runtimes run hooks with an empty environment.)
		[ ! /proc/$SCB_NODE_PID/ns/mnt -ef /proc/self/ns/mnt ] || {
			echo "sockops-cb wrapper: the private node (pid $SCB_NODE_PID) is gone" >&2
			exit 99
		}
		exec $(command -v nsenter) -t $SCB_NODE_PID -m -- "$dir/sockops-cb.bin" "\$@"
	EOF
	chmod +x "$dir/sockops-cb"
	SCB=$dir/sockops-cb
	SCB_NODE_BPF=/proc/$SCB_NODE_PID/root/sys/fs/bpf/sockops-cb
	SCB_PIN_LINKS=$SCB_NODE_BPF/links
	SCB_NETNS_LINK=$SCB_NODE_BPF/netns-link
}

# scb_node_exec CMD...: run CMD in the private node's mount namespace (it
# sees the node's bpffs at /sys/fs/bpf).  Fails rather than run CMD in the
# host's namespace.
scb_node_exec()
{
	[ -n "${SCB_NODE_PID:-}" ] &&
		[ "$(readlink "/proc/$SCB_NODE_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
		fail "scb_node_exec: no private node (pid ${SCB_NODE_PID:-none})"
	nsenter -t "$SCB_NODE_PID" -m -- "$@"
}

# scb_private_node_teardown: unload everything from the private node and
# end it.  Freeing its bpffs drops whatever pins are left, and the links
# they held detach with them.  Best effort, like scb_teardown; call it after
# scb_teardown (containers' poststop hooks still need the node).
scb_private_node_teardown()
{
	[ -n "${SCB_NODE_PID:-}" ] || return 0
	"$SCB_NODE_DIR/sockops-cb" unload --force >/dev/null 2>&1 ||
		echo "# teardown: unload --force on the private node failed" >&2
	kill "$SCB_NODE_PID" 2>/dev/null || true
	wait "$SCB_NODE_PID" 2>/dev/null || true
	SCB=$SCB_BIN
	SCB_NODE_PID=
}

# scb_map_keys MAP: the keys of the node's pinned map MAP (targets, stats),
# one a line as bpftool's hex bytes joined, so that two maps' key sets
# compare as text.
scb_map_keys()
{
	local pin=${SCB_PIN_LINKS%/*}/$1

	bpftool -j map dump pinned "$pin" | jq -r '.[] | .key | join("")' ||
		fail "scb_map_keys: cannot dump $pin"
}

# scb_counters_check [DIR]: prints "ok" when every target's counters are
# where they belong and nothing else is: a `stats`/`trans` hash entry
# exactly for each netns or retained target, and cgroup storage
# (`cgstats`) for each live cgroup target. The kernel keeps a cgroup's
# storage until the cgroup goes, so storage without a target is no leak.
# Otherwise prints what differs. DIR: the node's pin directory.
scb_counters_check()
{
	local dir=${1:-${SCB_PIN_LINKS%/*}}

	jq -r -n --slurpfile t <(bpftool -j map dump pinned "$dir/targets") \
		--slurpfile s <(bpftool -j map dump pinned "$dir/stats") \
		--slurpfile r <(bpftool -j map dump pinned "$dir/trans") \
		--slurpfile c <(bpftool -j map dump pinned "$dir/cgstats") '
		def keys_of(m): m | map(.key | join("")) | sort;
		($t[0] | map(select(.formatted.value.kind == 2 or .formatted.value.removed_ns != 0))
			| keys_of(.)) as $want |
		($t[0] | map(select(.formatted.value.kind == 1 and .formatted.value.removed_ns == 0))
			| keys_of(.)) as $live |
		($c[0] | map(.key[0:8] | join(""))) as $stor |
		if keys_of($s[0]) != $want then "stats hash \(keys_of($s[0])), expected \($want)"
		elif keys_of($r[0]) != $want then "trans hash \(keys_of($r[0])), expected \($want)"
		elif ($live - $stor) != [] then "live cgroup targets without storage: \($live - $stor)"
		else "ok" end'
}

# scb_stat NAME FIELD: one field of `sockops-cb stats NAME --json`, e.g.
# established_active.  Prints nothing and fails (status 1) when NAME is not
# traced: use as v=$(scb_stat ...) || fail ...
scb_stat()
{
	local v

	v=$("$SCB" stats "$1" --json 2>/dev/null | jq -r --arg f "$2" '.[$f]')
	[[ $v =~ ^[0-9]+$ ]] || return 1
	echo "$v"
}

###############################################################################
# Background servers, HTTP and the Prometheus text format (added for
# test/040-observability.bats).  Generic: nothing here knows sockops-cb.

# scb_free_port: a TCP port on 127.0.0.1 that nothing listens on right now
# (the kernel picks it; a tiny race remains until the caller binds it).
scb_free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# scb_bg_start CMD...: run CMD in the background with fd 3 closed (bats
# waits for whoever holds it), its pid in $SCB_BG_PID; scb_bg_stop_all
# (from a teardown) stops whatever is still running.  Call it directly, not
# in $(...), or the tracking is lost with the subshell.
scb_bg_start()
{
	"$@" 3>&- &
	SCB_BG_PID=$!
	SCB_BG_PIDS+=("$SCB_BG_PID")
}

# scb_bg_stop PID [TIMEOUT]: SIGTERM, then SIGKILL after TIMEOUT s (default
# 5).  Leaves PID's exit status in $SCB_BG_RC (when PID is our child; 255
# otherwise) and returns 0.
scb_bg_stop()
{
	local pid=$1 timeout=${2:-5} i

	SCB_BG_RC=255
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null && SCB_BG_RC=0 || SCB_BG_RC=$?
	return 0
}

# scb_bg_stop_all: for teardown: stop every process scb_bg_start started.
scb_bg_stop_all()
{
	local pid

	for pid in ${SCB_BG_PIDS[@]+"${SCB_BG_PIDS[@]}"}; do
		scb_bg_stop "$pid" 3
	done
	SCB_BG_PIDS=()
}

# scb_http URL [CURL-OPTS...]: GET URL (loopback only: no proxy); the body
# in $SCB_HTTP_BODY, "HTTP <code> <content-type>" in $SCB_HTTP_STATUS.
# Returns curl's status (0 for any HTTP answer, 7 when nothing listens).
# Call it directly, not in $(...), or both are lost with the subshell.
scb_http()
{
	local url=$1 meta rc=0

	shift
	meta=$(curl -sS --noproxy '*' --max-time 10 -o "$BATS_TEST_TMPDIR/http.body" \
		-w '%{http_code} %{content_type}' "$@" "$url" 2>&1) || rc=$?
	SCB_HTTP_STATUS="HTTP $meta"
	SCB_HTTP_BODY=$(cat "$BATS_TEST_TMPDIR/http.body" 2>/dev/null)
	rm -f "$BATS_TEST_TMPDIR/http.body"
	return "$rc"
}

# scb_wait_http URL [TIMEOUT]: until URL answers 200 (default 10 s).
scb_wait_http()
{
	local url=$1 timeout=${2:-10} i

	for ((i = 0; i < timeout * 10; i++)); do
		scb_http "$url" && [[ $SCB_HTTP_STATUS == "HTTP 200 "* ]] &&
			return 0
		sleep 0.1
	done
	fail "$url did not answer 200 within ${timeout}s (last: ${SCB_HTTP_STATUS:-})"
}

# prom_samples: the Prometheus text format on stdin as JSON, one sample a
# line: {"name": ..., "labels": {...}, "value": <number>} ("+Inf", "NaN"
# as strings).  Fails on a line it cannot parse, naming it.
prom_samples()
{
	python3 -c '
import json, math, re, sys
sample = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?[0-9]+)?$")
label = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\]|\\.)*)\"\s*(?:,|$)")
def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)
for n, line in enumerate(sys.stdin, 1):
    line = line.rstrip("\n")
    if not line.strip() or line.startswith("#"):
        continue
    m = sample.match(line)
    if not m:
        sys.exit("prom_samples: line %d is not a sample: %s" % (n, line))
    labels, body, pos = {}, m.group(2) or "", 0
    while pos < len(body):
        lm = label.match(body, pos)
        if not lm or lm.end() == pos:
            sys.exit("prom_samples: bad labels on line %d: %s" % (n, line))
        labels[lm.group(1)] = unescape(lm.group(2))
        pos = lm.end()
    v = float(m.group(3))
    print(json.dumps({"name": m.group(1), "labels": labels,
                      "value": v if math.isfinite(v) else m.group(3)}))
'
}

# stats_json CTR: `sockops-cb stats CTR --json` into $STATS.
stats_json()
{
	run_scb stats "$1" --json
	STATS=$output
	[ "$(jq -s length <<<"$STATS")" -eq 1 ] ||
		fail "stats $1 --json: expected one object, got: $STATS"
}

# A hint for failed counts: a CNI pod registered by netns (other tests or
# people on this machine) pins the node-wide link, which once doubled the
# counters of hook-traced containers (see the regression test below).
_netns_hint()
{
	[ ! -e "${SCB_PIN_LINKS%/*}/netns-link" ] ||
		echo " [netns-link is pinned: a CNI netns target exists on this node; did its link count these sockets too?]"
}

# check JSON FILTER EXPECTED WHAT: a named assertion on one JSON value; the
# value is compared as jq -c prints it.
check()
{
	local got

	got=$(jq -c "$2" <<<"$1") || fail "$4: jq $2 failed on: $1"
	[ "$got" = "$3" ] || fail "$4: $2 is $got, expected $3 (in: $1)$(_netns_hint)"
}

###############################################################################
# Prometheus (040-observability.bats, 070-slo.bats)

# start_serve PORT: `sockops-cb serve` on 127.0.0.1:PORT ($SERVE_PID),
# stderr in $BATS_TEST_TMPDIR/serve.err; waits until it answers.
start_serve()
{
	scb_bg_start "$SCB" serve --listen "127.0.0.1:$1" \
		2>>"$BATS_TEST_TMPDIR/serve.err"
	SERVE_PID=$SCB_BG_PID
	scb_wait_http "http://127.0.0.1:$1/metrics"
}

# start_prometheus PORT TARGET: Debian's prometheus on 127.0.0.1:PORT with
# a temp config scraping TARGET (host:port) every second.
start_prometheus()
{
	local dir=$BATS_TEST_TMPDIR/prometheus

	mkdir -p "$dir"
	cat >"$dir/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: sockops-cb
		    static_configs:
		      - targets: ["$2"]
	EOF
	scb_bg_start prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$1" --log.level=warn \
		>"$dir/log" 2>&1
	PROM=http://127.0.0.1:$1
	scb_wait_http "$PROM/-/ready" 30
}

# prom_query EXPR: the result array of an instant query, compact JSON.
prom_query()
{
	scb_http "$PROM/api/v1/query" --get --data-urlencode "query=$1" ||
		fail "query $1: $SCB_HTTP_STATUS"
	jq -e -c 'select(.status == "success") | .data.result' <<<"$SCB_HTTP_BODY" ||
		fail "query $1: $SCB_HTTP_STATUS $SCB_HTTP_BODY"
}

# prom_value EXPR: the value of a one-element query result ("" if empty).
prom_value()
{
	local r

	r=$(prom_query "$1")
	[ "$(jq length <<<"$r")" -le 1 ] || fail "query $1: more than one series: $r"
	jq -r '.[0].value[1] // ""' <<<"$r"
}

###############################################################################
# Two hosts (050-oracle.bats, 070-slo.bats)

# scb_two_hosts: network namespaces $NS_C (10.254.0.1, fd00:fe::1) and
# $NS_S (10.254.0.2, fd00:fe::2) joined by a veth pair.
scb_two_hosts()
{
	NS_C=$(safename)
	NS_S=$(safename)
	make_netns "$NS_C"
	make_netns "$NS_S"
	ip link add "vc-$SCB_TEST_ID" netns "$NS_C" type veth peer name vs netns "$NS_S" ||
		fail "cannot make the veth pair"
	ip -n "$NS_C" link set "vc-$SCB_TEST_ID" name vc
	ip -n "$NS_C" addr add 10.254.0.1/24 dev vc
	ip -n "$NS_S" addr add 10.254.0.2/24 dev vs
	ip -n "$NS_C" addr add fd00:fe::1/64 dev vc nodad
	ip -n "$NS_S" addr add fd00:fe::2/64 dev vs nodad
	ip -n "$NS_C" link set vc up
	ip -n "$NS_S" link set vs up
}

# check_rtt_40ms STATS: the RTT values of a connection with 20 ms of netem
# delay each way (stats --json) are in the bucket holding 40 ms: every one,
# or, under emulation (qemu without KVM), where the guest's timers and
# softirqs run late by tens of ms (more when the host is busy) and the
# kernel's own RTT of the connection spreads as much, what must still
# hold: nothing below 2 x 20 ms (no unit or shift error), and the lowest
# values and the median in that bucket.
check_rtt_40ms()
{
	if [ "$(systemd-detect-virt 2>/dev/null)" != qemu ]; then
		check "$1" '[.rtt_hist_us[] | select(.count > 0) | [.low, .high]] | unique' \
			'[[32768,65535]]' "every value between 32.8 and 65.5 ms"
		return
	fi
	check "$1" '[.rtt_hist_us[] | select(.count > 0) | .low] | min >= 32768' true \
		"no value below 32.8 ms"
	check "$1" '[.rtt_hist_us[] | select(.count > 0) | .high] | min <= 65535' true \
		"the lowest values between 32.8 and 65.5 ms"
	check "$1" '.rtt_percentiles_us.p50 | . >= 32768 and . <= 65535' true \
		"the median between 32.8 and 65.5 ms"
}

# kernel_at_least MAJOR MINOR: the running kernel is MAJOR.MINOR or later.
kernel_at_least()
{
	local v

	v=$(uname -r)
	v=${v%%-*}
	awk -v v="$v" -v maj="$1" -v min="$2" 'BEGIN {
		split(v, a, "."); exit !(a[1] > maj || (a[1] == maj && a[2] >= min)) }'
}

# scb_wait_listen NS PORT: something listens on PORT in netns NS.
scb_wait_listen()
{
	local i

	for ((i = 0; i < 100; i++)); do
		ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
		sleep 0.05
	done
	fail "nothing listens on $2 in $1"
}
