#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mkimage.sh [--force]: build (or reuse) the kernel matrix's disk image: a
# Debian 12 userland as a user's host has it (systemd as PID 1, pure cgroup
# v2, bpffs mounted by systemd, podman installed with its Recommends: crun,
# the systemd cgroup manager, netavark), with test/setup.sh's PACKAGES
# pre-installed and three Debian kernels: 5.10 (bullseye), 6.1 (bookworm),
# 6.12 (bookworm-backports).
#
# Output in $SCB_KERNELS_CACHE (default /var/cache/sockops-cb/kernels):
# bookworm.img (raw ext4, sparse), bookworm.img.boot/ (vmlinuz-*,
# initrd.img-*, kernels.txt: "SPEC UNAME_R" lines) and bookworm.img.key.
# The image is rebuilt only when the key (sha256 of the package list, this
# script and image-hook.sh) differs from the stored one.

set -euo pipefail

# shellcheck source=test/kernels/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MIRROR=http://deb.debian.org/debian
SECMIRROR=http://deb.debian.org/debian-security
SIZE=16G
# A "PKG/SUITE" meta package of another suite becomes that suite's ABI
# package (two linux-image-amd64 cannot be installed at once).
KERNELS=(linux-image-amd64 linux-image-amd64/bookworm-backports
	linux-image-amd64/bullseye)

WORK=
cleanup()
{
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}

image_current()
{
	[ -f "$SCB_KERNELS_IMAGE" ] && [ -f "$SCB_KERNELS_IMAGE.boot/kernels.txt" ] &&
		[ "$(cat "$SCB_KERNELS_IMAGE.key" 2>/dev/null)" = "$1" ]
}

# mmdebstrap into $WORK/root.  The other suites are only there while
# building, pinned low, and dropped by image-hook.sh's finish.
bootstrap()
{
	local root=$1 deps hook=$SCB_KERNELS_DIR/image-hook.sh

	deps=$(scb_setup_packages)
	[ -n "$deps" ] || { scb_msg "no PACKAGES in test/setup.sh"; return 1; }
	mmdebstrap --mode=root --variant=important --components=main \
		--include=systemd-sysv,udev,dbus,kmod,initramfs-tools,iproute2,ca-certificates,procps \
		--setup-hook='mkdir -p "$1/etc/apt/preferences.d" && printf "Package: *\nPin: release n=bullseye\nPin-Priority: 100\n" >"$1/etc/apt/preferences.d/scb-build-pin"' \
		--customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o APT::Install-Recommends=true podman' \
		--customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $deps" \
		--customize-hook="'$hook' kernels \"\$1\" ${KERNELS[*]}" \
		--customize-hook="'$hook' finish \"\$1\" '$MIRROR' '$SECMIRROR'" \
		bookworm "$root" \
		"deb $MIRROR bookworm main" \
		"deb $MIRROR bookworm-updates main" \
		"deb $SECMIRROR bookworm-security main" \
		"deb $MIRROR bookworm-backports main" \
		"deb $MIRROR bullseye main"
}

# vmlinuz/initrd of each kernel, and "SPEC UNAME_R" lines for vm.sh.
boot_files()
{
	local root=$1 boot=$2

	mkdir -p "$boot"
	cp -a "$root"/boot/vmlinuz-* "$root"/boot/initrd.img-* "$boot"/
	chroot "$root" dpkg-query -W -f '${Package} ${Status}\n' 'linux-image-[0-9]*' |
		awk '$NF == "installed" { v = $1; sub(/^linux-image-/, "", v); print $1, v }' \
		>"$boot/kernels.txt"
	[ "$(wc -l <"$boot/kernels.txt")" -eq ${#KERNELS[@]} ] || {
		scb_msg "expected ${#KERNELS[@]} kernels, got: $(cat "$boot/kernels.txt")"
		return 1
	}
	chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$boot/packages.txt"
}

main()
{
	local key force=${1:-} t0

	[ "$(id -u)" -eq 0 ] || { scb_msg "must run as root"; exit 1; }
	key=$(scb_image_key)
	if [ "$force" != --force ] && image_current "$key"; then
		scb_msg "image: $SCB_KERNELS_IMAGE current (key ${key:0:12})"
		return 0
	fi
	scb_kernels_host_packages
	mkdir -p "$SCB_KERNELS_CACHE"
	WORK=$(mktemp -d "$SCB_KERNELS_CACHE/mkimage.XXXXXX")
	trap cleanup EXIT
	t0=$(date +%s)
	scb_msg "image: building (key ${key:0:12}) in $WORK"
	bootstrap "$WORK/root"
	boot_files "$WORK/root" "$WORK/img.boot"
	truncate -s "$SIZE" "$WORK/img"
	mkfs.ext4 -q -L scbroot -E root_owner=0:0 -d "$WORK/root" "$WORK/img"
	rm -rf "$WORK/root"
	echo "$key" >"$WORK/img.key"
	# Into place: the old boot dir and image go first, so that a reader
	# never pairs a new image with old kernels; the key last, so that an
	# interrupted move means "rebuild".
	rm -f "$SCB_KERNELS_IMAGE.key"
	rm -rf "$SCB_KERNELS_IMAGE.boot"
	mv "$WORK/img.boot" "$SCB_KERNELS_IMAGE.boot"
	mv "$WORK/img" "$SCB_KERNELS_IMAGE"
	mv "$WORK/img.key" "$SCB_KERNELS_IMAGE.key"
	scb_msg "image: built in $(($(date +%s) - t0)) s: $SCB_KERNELS_IMAGE"
	sed 's/^/  /' "$SCB_KERNELS_IMAGE.boot/kernels.txt" >&2
}

main "$@"
