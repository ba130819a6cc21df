#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mmdebstrap customize hooks of mkimage.sh (not run by hand):
#   image-hook.sh kernels ROOT SPEC...           install the kernels
#   image-hook.sh finish ROOT MIRROR SECMIRROR   boot, network, job runner

set -euo pipefail

in_root() { chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive "$@"; }

# SPEC: PKG (bookworm, with Recommends, as a user installs it) or PKG/SUITE:
# the meta package of another suite resolved to that suite's ABI package.
kernels()
{
	local spec pkg suite ver

	for spec in "$@"; do
		case $spec in
		*/*)
			pkg=${spec%%/*} suite=${spec#*/}
			ver=$(in_root apt-cache madison "$pkg" |
				awk -F'|' -v s=" $suite/" 'index($3, s) { gsub(/ /, "", $2); print $2; exit }')
			[ -n "$ver" ] || { echo "image-hook: $pkg not in $suite" >&2; exit 1; }
			pkg=$(in_root apt-cache show "$pkg=$ver" |
				sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n1)
			[ -n "$pkg" ] || { echo "image-hook: no ABI package in $suite" >&2; exit 1; }
			in_root apt-get install -y -q --no-install-recommends "$pkg/$suite"
			;;
		*)
			in_root apt-get install -y -q -o APT::Install-Recommends=true "$spec"
			;;
		esac
	done
}

# The job runner: vm.sh attaches a disk with serial "scbjob", a tar of
# cmd.sh and src/.  Run cmd.sh in src/ as root, its output to ttyS1 (vm.sh
# streams that file), end with SCB-EXIT-CODE, power off.
job_runner()
{
	install -m 0755 /dev/stdin "$ROOT/usr/local/sbin/scb-job" <<-'EOF2'
		#!/bin/bash
		set -u
		OUT=/dev/ttyS1
		# The disk by its virtio serial: no wait for udev's by-id links.
		JOB=
		for d in /sys/block/vd*; do
			[ "$(cat "$d/serial" 2>/dev/null)" = scbjob ] && JOB=/dev/${d##*/}
		done
		[ -n "$JOB" ] || exit 0
		stty -F "$OUT" raw -echo 115200 2>/dev/null
		mkdir -p /root/job
		tar -xf "$JOB" -C /root/job
		run()
		{
			echo "SCB-BEGIN uptime=$(cut -d' ' -f1 /proc/uptime)"
			cd /root/job/src || exit 1
			bash /root/job/cmd.sh </dev/null
			echo "SCB-EXIT-CODE: $?"
		}
		run >"$OUT" 2>&1
		# Let the serial port send what the tty still holds.
		perl -MPOSIX -e 'open(my $f, ">", $ARGV[0]) and POSIX::tcdrain(fileno($f))' "$OUT"
		systemctl poweroff --no-block
	EOF2
	cat >"$ROOT/etc/systemd/system/scb-job.service" <<-'EOF2'
		[Unit]
		Description=sockops-cb kernel matrix job (test/kernels/vm.sh)
		Wants=network-online.target
		After=network-online.target local-fs.target

		[Service]
		Type=oneshot
		TimeoutStartSec=infinity
		StandardInput=null
		Environment=HOME=/root USER=root LANG=C.UTF-8 TERM=dumb
		WorkingDirectory=/root
		ExecStart=/usr/local/sbin/scb-job

		[Install]
		WantedBy=multi-user.target
	EOF2
	chroot "$ROOT" systemctl enable scb-job.service >/dev/null 2>&1
}

finish()
{
	local mirror=$1 secmirror=$2 u

	# The sources of a Debian 12 install, nothing else.
	rm -f "$ROOT"/etc/apt/preferences.d/scb-build-pin "$ROOT"/etc/apt/sources.list.d/*
	cat >"$ROOT/etc/apt/sources.list" <<-EOF2
		deb $mirror bookworm main
		deb $mirror bookworm-updates main
		deb $secmirror bookworm-security main
	EOF2
	echo scb-vm >"$ROOT/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tscb-vm\n::1\tlocalhost\n' >"$ROOT/etc/hosts"
	echo 'LABEL=scbroot / ext4 defaults,errors=remount-ro 0 1' >"$ROOT/etc/fstab"
	chroot "$ROOT" passwd -d root >/dev/null

	# qemu user networking, static (no DHCP wait): the guest reaches the
	# archive through qemu's NAT (setup.sh may apt-get).
	mkdir -p "$ROOT/etc/systemd/network"
	cat >"$ROOT/etc/systemd/network/80-scb.network" <<-'EOF2'
		[Match]
		Name=en* eth*
		[Network]
		Address=10.0.2.15/24
		Gateway=10.0.2.2
		DNS=10.0.2.3
	EOF2
	rm -f "$ROOT/etc/resolv.conf"
	echo 'nameserver 10.0.2.3' >"$ROOT/etc/resolv.conf"
	chroot "$ROOT" systemctl enable systemd-networkd.service >/dev/null 2>&1

	# Under emulation every CPU second counts: timers that race the job for
	# dpkg or the CPU, and prometheus.service (setup.sh would stop it; the
	# tests run their own) stay off.
	for u in apt-daily.timer apt-daily-upgrade.timer man-db.timer \
		e2scrub_all.timer fstrim.timer prometheus.service; do
		chroot "$ROOT" systemctl disable "$u" >/dev/null 2>&1 || true
	done
	job_runner
}

cmd=$1 ROOT=$2
shift 2
case $cmd in
kernels) kernels "$@" ;;
finish) finish "$@" ;;
*) echo "image-hook: unknown $cmd" >&2; exit 1 ;;
esac
