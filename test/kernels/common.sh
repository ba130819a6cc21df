# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Pieces shared by mkimage.sh, vm.sh and run.sh (host side of the kernel
# matrix).  Sourced, not run.

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SCB_KERNELS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCB_KERNELS_CACHE=${SCB_KERNELS_CACHE:-/var/cache/sockops-cb/kernels}
# The image: IMAGE (raw ext4), IMAGE.boot/ (vmlinuz-*, initrd.img-*,
# kernels.txt), IMAGE.key (what it was built from).
SCB_KERNELS_IMAGE=$SCB_KERNELS_CACHE/bookworm.img

# The host tools the matrix needs, as Debian packages; CI's runner is a
# fresh Debian 12 that has none of them.
SCB_KERNELS_HOST_PACKAGES=(mmdebstrap qemu-system-x86 qemu-utils e2fsprogs)

scb_kernels_host_packages()
{
	local p missing=()

	for p in "${SCB_KERNELS_HOST_PACKAGES[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null |
			grep -q '^ii' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	scb_msg "host packages: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2
}

# The PACKAGES=( ... ) array of test/setup.sh, as data (one line, spaces):
# the guest gets them pre-installed so that no run waits for dpkg under
# emulation.
scb_setup_packages()
{
	sed -n '/^PACKAGES=(/,/^)/p' "$SCB_REPO/test/setup.sh" |
		sed '1s/^PACKAGES=(//;$s/^)//' | tr -s ' \t\n' ' ' |
		sed 's/^ //;s/ $//'
}

# What the image is built from; a change rebuilds it.
scb_image_key()
{
	{
		scb_setup_packages
		cat "$SCB_KERNELS_DIR/mkimage.sh" "$SCB_KERNELS_DIR/image-hook.sh"
	} | sha256sum | cut -d' ' -f1
}
