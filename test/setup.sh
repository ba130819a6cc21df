#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare a machine for the tests and the demo: install the Debian packages
# they need and build the busybox container image.  Idempotent, and quick
# when everything is already there (CI runs it on a fresh VM every time).

set -euo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
	make gcc libc6-dev pkg-config
	clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libcjson-dev
	bats bats-assert bats-support bats-file
	podman runc containernetworking-plugins conmon catatonit
	busybox-static iptables jq socat iproute2 util-linux valgrind strace
	libmicrohttpd-dev prometheus gnuplot-nox python3-yaml procps
	bpftrace python3
	curl libxml2-utils libclang-rt-dev
	python3-scapy tcpdump
)

# Print the packages of PACKAGES that dpkg does not list as installed.
missing_packages()
{
	local p

	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null |
			grep -q '^ii' || echo "$p"
	done
}

install_packages()
{
	local missing

	mapfile -t missing < <(missing_packages)
	if [ ${#missing[@]} -eq 0 ]; then
		scb_msg "packages: all present"
		return
	fi
	scb_msg "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Only refresh the index when there is something to fetch: it is slow.
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Debian starts prometheus.service on :9090 when systemd runs: the tests
# start Prometheus servers of their own and leave nothing listening.
stop_packaged_services()
{
	[ -d /run/systemd/system ] || return 0
	if systemctl is-enabled --quiet prometheus 2>/dev/null ||
		systemctl is-active --quiet prometheus 2>/dev/null; then
		scb_msg "prometheus.service: stopped and disabled (the tests run their own)"
		systemctl disable --now --quiet prometheus
	fi
}

# A root filesystem with busybox and a link for each applet, so that
# `podman run IMAGE nc ...` finds nc in PATH.
make_rootfs()
{
	local root=$1 applet

	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var/www}
	chmod 1777 "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list-full); do
		[ "$applet" = bin/busybox ] && continue
		mkdir -p "$root/$(dirname "$applet")"
		ln -sf /bin/busybox "$root/$applet"
	done
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		nogroup:x:65534:
	EOF
}

# Global: the EXIT trap runs after build_image's locals are gone.
WORK=

build_image()
{
	local work

	export CONTAINERS_CONF
	work=$(mktemp -d "${TMPDIR:-/tmp}/scb-image.XXXXXX")
	WORK=$work
	# Cleared on any exit, so a failed build leaves no half-made rootfs.
	trap 'rm -rf "$WORK"' EXIT
	CONTAINERS_CONF=$work/containers.conf
	scb_containers_conf "$CONTAINERS_CONF" "$work/net"

	if podman image exists "$SCB_IMAGE"; then
		scb_msg "image: $SCB_IMAGE present"
		return
	fi
	scb_msg "image: building $SCB_IMAGE from $(readlink -f /bin/busybox)"
	make_rootfs "$work/rootfs"
	tar -C "$work/rootfs" --numeric-owner --owner=0 --group=0 \
		-cf "$work/rootfs.tar" .
	podman import --quiet --change 'CMD ["/bin/sh"]' \
		"$work/rootfs.tar" "$SCB_IMAGE" >/dev/null
	scb_msg "image: $SCB_IMAGE built"
}

[ "$(id -u)" -eq 0 ] || { scb_msg "must run as root"; exit 1; }
install_packages
stop_packaged_services
build_image
