# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Pieces shared by setup.sh, run.sh, demo.sh and helpers.bash.  Sourced, not
# run; plain bash, no bats.  Everything here is harness plumbing for this VM:
# the product must not depend on any of it.

SCB_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCB_REPO=$(cd "$SCB_TEST_DIR/.." && pwd)
SCB=${SCB:-$SCB_REPO/sockops-cb}
SCB_IMAGE=${SCB_IMAGE:-localhost/scb-busybox}
# Where the product pins its links; run.sh looks there for leftovers.
SCB_PIN_LINKS=${SCB_PIN_LINKS:-/sys/fs/bpf/sockops-cb/links}
# Every container and pod the harness creates carries this label, so that
# cleanup removes ours and never a developer's own containers.
# shellcheck disable=SC2034
SCB_LABEL=io.sockops-cb.test

scb_msg()
{
	echo "${0##*/}: $*" >&2
}

# The cgroup2 mount point.  Never hard-code it: this VM is hybrid
# (/sys/fs/cgroup/unified), real hosts run pure v2 at /sys/fs/cgroup.
# In mountinfo the mount point is field 5 and the fstype follows the "-".
cgroup2_mount()
{
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	       if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo
}

# The workarounds this host needs, as containers.conf lines; none on a host
# like the users' (systemd as PID 1, pure cgroup v2, root with every
# capability), where podman keeps its defaults (crun, systemd cgroups).
scb_conf_containers()
{
	# CAP_SYS_RESOURCE (bit 24): without it runc's setrlimit fails.
	if ! (($(awk '/^CapEff:/ { print "0x" $2 }' /proc/self/status) & (1 << 24))); then
		echo 'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]'
	fi
}

scb_conf_engine()
{
	# crun refuses hybrid cgroups (a v1 hierarchy besides cgroup2).
	if [ "$(cgroup2_mount)" != /sys/fs/cgroup ] || ! command -v crun >/dev/null; then
		echo 'runtime = "runc"'
	fi
	[ -d /run/systemd/system ] || echo 'cgroup_manager = "cgroupfs"'
}

# scb_containers_conf OUT NETDIR: render the private containers.conf, with
# NETDIR holding this run's CNI conflists away from the host's.
scb_containers_conf()
{
	local out=$1 netdir=$2 containers engine

	mkdir -p "$netdir" "$(dirname "$out")"
	containers=$(scb_conf_containers)
	engine=$(scb_conf_engine)
	awk -v repo="$SCB_REPO" -v netdir="$netdir" -v c="$containers" -v e="$engine" '
		{ gsub(/@REPO@/, repo); gsub(/@NETDIR@/, netdir) }
		/^@CONTAINERS@$/ { if (c != "") print c; next }
		/^@ENGINE@$/ { if (e != "") print e; next }
		{ print }' "$SCB_TEST_DIR/containers.conf.in" >"$out"
}

# scb_write_hooks DIR CONFIG [WHEN]: a hooks.d directory that runs
# "$SCB hook createRuntime" and "$SCB hook poststop".  CONFIG may be empty
# (no --config); WHEN is the hooks.d "when" object, default always.
scb_write_hooks()
{
	local dir=$1 config=$2 when=${3:-'{"always":true}'} stage

	mkdir -p "$dir"
	for stage in createRuntime poststop; do
		jq -n --arg path "$SCB" --arg stage "$stage" \
			--arg config "$config" --argjson when "$when" '{
			version: "1.0.0",
			hook: {
				path: $path,
				args: (["sockops-cb", "hook", $stage] +
				       (if $config == "" then []
					else ["--config", $config] end)),
				timeout: 10
			},
			when: $when,
			stages: [$stage]
		}' >"$dir/sockops-cb-$stage.json"
	done
}

# The host PID of a running container's first process.
scb_ctr_pid()
{
	podman inspect --format '{{.State.Pid}}' "$1"
}

# scb_wait_for_port PID PORT [TIMEOUT]: wait until something listens on TCP
# PORT in the network namespace of PID.  Looks from the host with ss, so it
# works whatever the image has.
scb_wait_for_port()
{
	local pid=$1 port=$2 timeout=${3:-10} i

	for ((i = 0; i < timeout * 10; i++)); do
		if nsenter -t "$pid" -n ss -Hltn "sport = :$port" 2>/dev/null |
			grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on port $port in the netns of pid $pid" \
		"after ${timeout}s" >&2
	return 1
}

# scb_network_rm NAME: remove a podman network made by the harness, and the
# lease directory host-local IPAM keeps for ever otherwise.
scb_network_rm()
{
	podman network rm -f "$1" >/dev/null 2>&1 || true
	rm -rf "/var/lib/cni/networks/$1"
}

# The CNI firewall plugin creates CNI-FORWARD and CNI-ADMIN and never removes
# them.  Remove them once they carry nothing but their own skeleton, so a
# test run leaves iptables as it found it but never breaks a live network.
scb_cni_firewall_cleanup()
{
	local ipt

	for ipt in iptables ip6tables; do
		command -v "$ipt" >/dev/null || continue
		"$ipt" -w -S CNI-FORWARD >/dev/null 2>&1 || continue
		[ "$("$ipt" -w -S CNI-FORWARD | grep -c '^-A')" -le 1 ] || continue
		[ "$("$ipt" -w -S CNI-ADMIN 2>/dev/null | grep -c '^-A')" -eq 0 ] ||
			continue
		"$ipt" -w -D FORWARD -m comment \
			--comment "CNI firewall plugin rules" -j CNI-FORWARD \
			2>/dev/null || true
		"$ipt" -w -F CNI-FORWARD
		"$ipt" -w -X CNI-FORWARD
		"$ipt" -w -X CNI-ADMIN 2>/dev/null || true
	done
}

# Lines of `bpftool cgroup tree` showing a sock_ops attachment anywhere on
# the cgroup2 tree; no output means nothing is attached.
scb_sockops_attachments()
{
	local cg2

	cg2=$(cgroup2_mount)
	[ -n "$cg2" ] || return 0
	bpftool cgroup tree "$cg2" 2>/dev/null | grep sock_ops || true
}
