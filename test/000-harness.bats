#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# The harness itself, without sockops-cb: the image, a test bridge, the
# hooks mechanism, cgroups and netns helpers.  When these fail, every other
# bats file fails for reasons that have nothing to do with the product.
#
# None of these tests runs sockops-cb, so none is a product behaviour: each
# is named "harness: ...", which test/run.sh reports on a line of its own
# ("harness: ok - ...") and never counts as passed (a failure still fails
# the run).  A test of the product belongs in another file, or here without
# the prefix.
#
# What podman 4.3.1 (runc 1.1.5) hands an OCI hook, measured here:
#
#   createRuntime state (stdin): ociVersion, id (64 hex), status "creating",
#   pid (host PID), bundle (<graphroot>/overlay-containers/<id>/userdata),
#   annotations:
#	io.container.manager			"libpod"
#	io.kubernetes.cri-o.Created		creation time
#	io.kubernetes.cri-o.TTY			"false"
#	io.podman.annotations.autoremove	"TRUE" with --rm
#	io.podman.annotations.init		"FALSE"
#	io.podman.annotations.privileged	"FALSE"
#	io.podman.annotations.publish-all	"FALSE"
#	org.opencontainers.image.stopSignal	"15"
#	+ each --annotation k=v
#	+ in a pod: io.kubernetes.cri-o.ContainerType "container" and
#	  io.kubernetes.cri-o.SandboxID (the infra container's id, not the
#	  pod's id)
#
#   poststop state: status "stopped", no pid, and fewer annotations: podman
#   runs poststop itself, and io.container.manager, ...Created and
#   ...stopSignal are missing; the --annotation ones are there.
#
#   The container NAME is not in the state, not in any annotation and not in
#   <bundle>/config.json (its hostname is the short id unless --hostname).
#   It is in containers/storage's index, <bundle>/../../containers.json,
#   an array of {"id", "names": [NAME], "metadata": "{...\"name\":NAME...}"},
#   already written at createRuntime.  Calling `podman inspect` from the hook
#   is no way out: podman holds the container's lock while hooks run.

load helpers

# Data port of the busybox servers below; any free port in the netns works.
PORT=8080

@test "harness: the busybox image runs" {
	run_podman run --rm "$SCB_IMAGE" echo hi
	assert_output hi
}

# start_nc_server NET: a container on NET that prints what one client sends.
start_nc_server()
{
	SRV=$(safename)
	run_podman run -d --name "$SRV" --network "$1" "$SCB_IMAGE" \
		nc -l -p "$PORT"
	wait_for_port_in_container "$SRV" "$PORT"
}

@test "harness: two containers on a test bridge talk TCP over IPv4 and IPv6" {
	local net ip4 ip6

	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4)" "$(scb_subnet6)"

	start_nc_server "$net"
	ip4=$(container_ip "$SRV" "$net")
	assert_regex "$ip4" '^10\.89\.'
	run_podman run --rm --network "$net" "$SCB_IMAGE" \
		sh -c "echo hello-v4 | nc -w 5 $ip4 $PORT"
	run_podman wait "$SRV"
	run_podman logs "$SRV"
	assert_output hello-v4

	start_nc_server "$net"
	ip6=$(container_ip -6 "$SRV" "$net")
	assert_regex "$ip6" '^fd00:89:'
	run_podman run --rm --network "$net" "$SCB_IMAGE" \
		sh -c "echo hello-v6 | nc -w 5 $ip6 $PORT"
	run_podman wait "$SRV"
	run_podman logs "$SRV"
	assert_output hello-v6
}

@test "harness: iptables in a container's netns drops its port, then lets it through" {
	local net ip

	net=$(safename)
	make_bridge_network "$net" "$(scb_subnet4)"
	start_nc_server "$net"
	ip=$(container_ip "$SRV" "$net")

	# The recipe for forcing retransmits here: there is no sch_netem.
	container_netns_exec "$SRV" iptables -w -I INPUT -p tcp \
		--dport "$PORT" -j DROP
	run_podman 1 run --rm --network "$net" "$SCB_IMAGE" \
		sh -c "echo dropped | nc -w 1 $ip $PORT"

	container_netns_exec "$SRV" iptables -w -D INPUT -p tcp \
		--dport "$PORT" -j DROP
	run_podman run --rm --network "$net" "$SCB_IMAGE" \
		sh -c "echo passed | nc -w 5 $ip $PORT"
	run_podman wait "$SRV"
	run_podman logs "$SRV"
	assert_output passed
}

# A hook that keeps what it was given: the state from stdin, the bundle's
# config.json and containers/storage's entry for the container.
write_recording_hook()
{
	local out=$1 stage

	cat >"$BATS_TEST_TMPDIR/record-hook" <<-EOF
		#!/bin/sh
		set -e
		cat >"$out/\$1.json"
		bundle=\$(jq -r .bundle "$out/\$1.json")
		id=\$(jq -r .id "$out/\$1.json")
		[ "\$1" = createRuntime ] || exit 0
		cp "\$bundle/config.json" "$out/config.json"
		jq --arg id "\$id" '.[] | select(.id == \$id)' \\
			"\$bundle/../../containers.json" >"$out/storage.json"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/record-hook"

	SCB_HOOKS_DIR=$BATS_TEST_TMPDIR/record-hooks.d
	mkdir -p "$SCB_HOOKS_DIR"
	for stage in createRuntime poststop; do
		jq -n --arg path "$BATS_TEST_TMPDIR/record-hook" \
			--arg stage "$stage" '{
			version: "1.0.0",
			hook: { path: $path, args: ["record-hook", $stage],
				timeout: 10 },
			when: { always: true },
			stages: [$stage]
		}' >"$SCB_HOOKS_DIR/record-$stage.json"
	done
}

@test "harness: a private hooks dir runs createRuntime and poststop hooks" {
	local out=$BATS_TEST_TMPDIR/hook-out name id

	mkdir -p "$out"
	write_recording_hook "$out"
	name=$(safename)

	run_podman run --name "$name" --annotation sockops-cb.io/flag-set=full \
		"$SCB_IMAGE" true
	id=$(container_id "$name")

	assert_file_exists "$out/createRuntime.json"
	# runc says "creating" (as the OCI spec has it for createRuntime),
	# crun "created".
	run jq -r '.id, .status, (.pid > 1), .annotations["sockops-cb.io/flag-set"],
		   .annotations["io.container.manager"]' "$out/createRuntime.json"
	assert_output --regexp "^$id
(creating|created)
true
full
libpod\$"

	# The cgroup the runtime put the container in: a path with cgroupfs,
	# slice:prefix:name with systemd.
	run jq -r '.linux.cgroupsPath' "$out/config.json"
	if [ "$(scb_cgroup_manager)" = systemd ]; then
		assert_output "machine.slice:libpod:$id"
	else
		assert_output "/libpod_parent/libpod-$id"
	fi

	# The name: only in containers/storage's index (see the top of the file).
	run grep -c -- "$name" "$out/createRuntime.json" "$out/config.json"
	assert_output "$(printf '%s\n' "$out/createRuntime.json:0" "$out/config.json:0")"
	run jq -r '.names[0]' "$out/storage.json"
	assert_output "$name"

	# poststop ran when the container exited: same id, no pid.
	assert_file_exists "$out/poststop.json"
	run jq -r '.id, .status, has("pid"), .annotations["sockops-cb.io/flag-set"]' \
		"$out/poststop.json"
	assert_output "$(printf '%s\n' "$id" stopped false full)"
}

@test "harness: a container's cgroup is a directory under the cgroup2 mount" {
	skip_if_no_cgroup2
	local name cg

	name=$(safename)
	run_podman run -d --name "$name" "$SCB_IMAGE" sleep 600
	cg=$(container_cgroup "$name")
	assert_dir_exists "$cg"
	# systemd: a scope, where crun puts the process one level down.
	if [ "$(scb_cgroup_manager)" = systemd ]; then
		assert_regex "${cg#"$(cgroup2_mount)"}" \
			"^/machine.slice/libpod-$(container_id "$name").scope(/container)?\$"
	else
		assert_equal "${cg#"$(cgroup2_mount)"}" \
			"/libpod_parent/libpod-$(container_id "$name")"
	fi
	run grep -qx "$(container_pid "$name")" "$cg/cgroup.procs"
	assert_success
}

@test "harness: a throwaway cgroup and netns hold a loopback TCP pair" {
	skip_if_rootless
	skip_if_no_cgroup2
	local ns pid

	make_cgroup
	ns=$(safename)
	make_netns "$ns"

	# Join the cgroup before entering the netns (see run_in_cgroup).
	start_in_cgroup "$SCB_CGROUP" ip netns exec "$ns" \
		socat -u TCP-LISTEN:$PORT,bind=127.0.0.1 OPEN:/dev/null
	pid=$SCB_BG_PID
	scb_wait_for_port "$pid" "$PORT"
	run grep -qx "$pid" "$SCB_CGROUP/cgroup.procs"
	assert_success

	run_in_cgroup "$SCB_CGROUP" ip netns exec "$ns" \
		socat -u OPEN:/dev/null TCP:127.0.0.1:$PORT
	wait "$pid"
}
