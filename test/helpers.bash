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
source "$BATS_TEST_DIRNAME/lib.sh"

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
		echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
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
# skips

skip_if_rootless()
{
	[ "$(id -u)" -eq 0 ] || skip "${1:-needs root}"
}

skip_if_no_cgroup2()
{
	[ -n "$(cgroup2_mount)" ] || skip "${1:-no cgroup2 mount}"
}
