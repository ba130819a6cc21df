#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh KERNEL [--src DIR] [--file F]... [--timeout S] [--log DIR] -- COMMAND
#
# Boot KERNEL (a prefix of a `uname -r` in the image: 5.10, 6.1, 6.12) from
# the image mkimage.sh made, on a fresh qcow2 overlay (the image is never
# written), 2 vCPUs, 6 GiB.  COMMAND runs as root with bash in
# /root/job/src, a copy of DIR's files as git lists them (tracked and
# untracked-not-ignored: no build outputs; default: this tree), from a
# systemd oneshot after network-online.target.  --file F lands in
# /root/job/files/.  The output streams to stdout; vm.sh exits with
# COMMAND's exit code, or 125 when none came back (guest hung, timeout,
# default 900 s).  --log DIR keeps console.log, job.log and timing (boot_s,
# total_s, uname_r, accel) there.  Nothing else is left behind: qemu is
# killed and the overlay removed on every exit.

set -euo pipefail

# shellcheck source=test/kernels/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KERNEL= SRC=$SCB_REPO TIMEOUT=900 LOGDIR= CMD=
FILES=()
TMP= QPID= TPID=

usage()
{
	sed -n '4,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d' >&2
	exit 2
}

parse_args()
{
	while [ $# -gt 0 ]; do
		case $1 in
		--src) SRC=$(cd "$2" && pwd); shift 2 ;;
		--file) FILES+=("$(readlink -f "$2")"); shift 2 ;;
		--timeout) TIMEOUT=$2; shift 2 ;;
		--log) LOGDIR=$2; shift 2 ;;
		--) shift; CMD="$*"; break ;;
		-h|--help) usage ;;
		-*) scb_msg "unknown option $1"; usage ;;
		*) [ -z "$KERNEL" ] || usage; KERNEL=$1; shift ;;
		esac
	done
	[ -n "$KERNEL" ] && [ -n "$CMD" ] || usage
}

# Kill qemu (its timeout(1) parent forwards the signal), the streamer and
# the run's files, whatever ended us.
cleanup()
{
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	[ -n "$TMP" ] && rm -rf "$TMP"
	return 0
}

# KERNEL (prefix) -> uname -r, from kernels.txt.
resolve_kernel()
{
	local m

	mapfile -t m < <(awk -v k="$KERNEL" 'index($2, k) == 1 &&
		(length($2) == length(k) || substr($2, length(k) + 1, 1) ~ /[.-]/) { print $2 }' \
		"$SCB_KERNELS_IMAGE.boot/kernels.txt" | sort -u)
	[ ${#m[@]} -eq 1 ] || {
		scb_msg "kernel '$KERNEL': ${#m[@]} matches in $SCB_KERNELS_IMAGE.boot/kernels.txt"
		exit 2
	}
	echo "${m[0]}"
}

# /dev/kvm existing is not enough (nested virtualisation may accept
# KVM_CREATE_VM and not run a guest): boot once with KVM, look for the
# kernel's banner, and remember the answer.
accel()
{
	local cache=$SCB_KERNELS_CACHE/accel vmlinuz=$1 log pid i ok=

	if [ ! -f "$cache" ]; then
		if [ -c /dev/kvm ]; then
			log=$TMP/kvm-probe.log
			: >"$log"
			timeout 40 qemu-system-x86_64 -accel kvm -cpu host -m 512 \
				-kernel "$vmlinuz" -append "console=ttyS0 panic=-1" \
				-display none -monitor none -serial "file:$log" \
				-no-reboot >/dev/null 2>&1 </dev/null &
			pid=$!
			for ((i = 0; i < 30; i++)); do
				grep -q 'Linux version' "$log" && { ok=1; break; }
				kill -0 "$pid" 2>/dev/null || break
				sleep 1
			done
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
		if [ -n "$ok" ]; then echo kvm; else echo tcg; fi >"$cache"
	fi
	cat "$cache"
}

# The job disk: a tar of cmd.sh, src/ and files/.
job_tar()
{
	local stage=$TMP/stage f

	mkdir -p "$stage/src" "$stage/files"
	printf '%s\n' "$CMD" >"$stage/cmd.sh"
	(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 -r sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$stage/src"
	for f in "${FILES[@]}"; do cp -a "$f" "$stage/files/"; done
	tar -C "$stage" --owner=0 --group=0 -cf "$TMP/job.tar" cmd.sh src files
	rm -rf "$stage"
}

main()
{
	local uname_r boot acc accel_args t0 t_begin= rc line

	parse_args "$@"
	[ "$(id -u)" -eq 0 ] || { scb_msg "must run as root"; exit 2; }
	[ -f "$SCB_KERNELS_IMAGE.boot/kernels.txt" ] ||
		{ scb_msg "no image: run test/kernels/mkimage.sh"; exit 2; }
	uname_r=$(resolve_kernel)
	boot=$SCB_KERNELS_IMAGE.boot
	TMP=$(mktemp -d "$SCB_KERNELS_CACHE/vm.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	acc=$(accel "$boot/vmlinuz-$uname_r")
	case $acc in
	kvm) accel_args=(-accel kvm -cpu host) ;;
	*) accel_args=(-accel tcg,thread=multi,tb-size=1024 -cpu max) ;;
	esac
	job_tar
	qemu-img create -q -f qcow2 -F raw -b "$SCB_KERNELS_IMAGE" "$TMP/overlay.qcow2"
	: >"$TMP/console.log"
	: >"$TMP/job.log"

	scb_msg "$uname_r, $acc, 2 CPUs, 6G"
	t0=$(date +%s)
	# timeout(1) is qemu's parent: one PID to kill.
	timeout -s TERM "$TIMEOUT" qemu-system-x86_64 "${accel_args[@]}" \
		-machine q35 -smp 2 -m 6G \
		-kernel "$boot/vmlinuz-$uname_r" -initrd "$boot/initrd.img-$uname_r" \
		-append "root=LABEL=scbroot rw console=ttyS0,115200" \
		-drive "file=$TMP/overlay.qcow2,if=none,id=root,format=qcow2,cache=unsafe" \
		-device virtio-blk-pci,drive=root \
		-drive "file=$TMP/job.tar,if=none,id=job,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=job,serial=scbjob \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		-object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0 \
		-display none -monitor none -no-reboot \
		-serial "file:$TMP/console.log" -serial "file:$TMP/job.log" \
		>"$TMP/qemu.log" 2>&1 </dev/null &
	QPID=$!

	# Stream the job's output while the VM runs.
	rc=
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		SCB-BEGIN*) t_begin=$(($(date +%s) - t0)); scb_msg "job started after ${t_begin} s" ;;
		SCB-EXIT-CODE:*) rc=${line#SCB-EXIT-CODE: } ;;
		*) printf '%s\n' "$line" ;;
		esac
	done < <(tail -n +1 -s 1 -f --pid="$QPID" "$TMP/job.log")
	wait "$QPID" 2>/dev/null || true
	QPID=
	[[ $rc =~ ^[0-9]+$ ]] || {
		scb_msg "no exit code from the guest (hung or timed out after ${TIMEOUT}s); console's tail:"
		tail -n 20 "$TMP/console.log" | tr -d '\r' >&2
		rc=125
	}
	if [ -n "$LOGDIR" ]; then
		mkdir -p "$LOGDIR"
		cp "$TMP/console.log" "$TMP/job.log" "$LOGDIR/"
		printf 'uname_r=%s\naccel=%s\nboot_s=%s\ntotal_s=%s\nexit=%s\n' \
			"$uname_r" "$acc" "${t_begin:-}" "$(($(date +%s) - t0))" "$rc" \
			>"$LOGDIR/timing"
	fi
	scb_msg "$uname_r: exit $rc after $(($(date +%s) - t0)) s"
	return "$rc"
}

main "$@"
