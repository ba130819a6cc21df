#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# install-cni.sh: the DaemonSet's init container (daemonset.yaml), in the
# manner of flannel's and calico's install-cni.  It
#
#  1. copies the image's /sockops-cb and the shared libraries it needs
#     (`ldd`) to the node's /opt/sockops-cb, and writes /opt/cni/bin/sockops-cb,
#     a two-line wrapper that starts it with its own dynamic loader: the
#     container runtime runs CNI plugins on the node, where libbpf, cJSON
#     and libmicrohttpd may be missing or of other versions;
#  2. chains the sockops-cb entry (the ConfigMap's cni-entry.json) at the
#     end of the node's pod network conflist, the first of
#     /etc/cni/net.d/*.conf{,list} in lexical order as the runtime picks it,
#     replacing an older sockops-cb entry: running it again changes nothing.
#
# The conflist is written atomically (a temporary file that the runtime
# ignores, then rename), only when it changes.  A conflist whose cniVersion
# sockops-cb does not support (before 0.3.0) is left alone
# and the script fails: chaining the plugin there would fail every pod's
# network set-up on the node.
#
#   install-cni.sh             install, then exit (init container)
#   install-cni.sh --uninstall remove the entry from the conflist: new pods
#                              are no longer traced.  The plugin stays in
#                              /opt/cni/bin: the runtime calls it (CNI DEL,
#                              with the configuration it cached at ADD) for
#                              every pod started while the entry was there,
#                              and a missing plugin would fail their removal.
#
# Environment (defaults for the DaemonSet; the tests point them at a temp dir):
#   HOST_ROOT       where the node's / is seen ("" when run on the node)  [/host]
#   SCB_HOST_DIR    the bundle's directory, as a path on the node   [/opt/sockops-cb]
#   CNI_BIN_DIR     CNI plugin directory, as a path on the node        [/opt/cni/bin]
#   CNI_NET_DIR     CNI configuration directory, on the node        [/etc/cni/net.d]
#   CNI_CONF_NAME   conflist to patch (a file name in CNI_NET_DIR)  [the first one]
#   SCB_BIN         the binary to install                              [/sockops-cb]
#   SCB_ENTRY       the plugin entry (JSON object)  [/etc/sockops-cb/cni-entry.json]
#   CONF_WAIT_SECONDS  how long to wait for the pod network's conflist    [600]
set -eu

HOST_ROOT=${HOST_ROOT-/host}
SCB_HOST_DIR=${SCB_HOST_DIR:-/opt/sockops-cb}
CNI_BIN_DIR=${CNI_BIN_DIR:-/opt/cni/bin}
CNI_NET_DIR=${CNI_NET_DIR:-/etc/cni/net.d}
CNI_CONF_NAME=${CNI_CONF_NAME:-}
SCB_BIN=${SCB_BIN:-/sockops-cb}
SCB_ENTRY=${SCB_ENTRY:-/etc/sockops-cb/cni-entry.json}
CONF_WAIT_SECONDS=${CONF_WAIT_SECONDS:-600}

say() { echo "install-cni: $*" >&2; }
die() { say "$*"; exit 1; }

# replace SRC DST: copy SRC over DST through a temporary file and a rename,
# so a runtime executing or reading DST never sees half a file.
replace()
{
	cp "$1" "$2.sockops-cb-tmp"
	mv -f "$2.sockops-cb-tmp" "$2"
}

# The conflist the runtime uses: libcni sorts *.conf, *.conflist, *.json by
# name and takes the first.
find_conflist()
{
	if [ -n "$CNI_CONF_NAME" ]; then
		[ -f "$HOST_ROOT$CNI_NET_DIR/$CNI_CONF_NAME" ] &&
			echo "$HOST_ROOT$CNI_NET_DIR/$CNI_CONF_NAME"
		return 0
	fi
	for f in "$HOST_ROOT$CNI_NET_DIR"/*; do
		case "$f" in
		*.conf | *.conflist | *.json) [ -f "$f" ] && echo "$f" && return 0 ;;
		esac
	done
	return 0
}

wait_for_conflist()
{
	waited=0
	while :; do
		CONF=$(find_conflist)
		[ -z "$CONF" ] || return 0
		[ "$waited" -lt "$CONF_WAIT_SECONDS" ] ||
			die "no CNI configuration in $CNI_NET_DIR after ${CONF_WAIT_SECONDS}s: install the pod network first"
		[ $((waited % 30)) -ne 0 ] ||
			say "waiting for the pod network's conflist in $CNI_NET_DIR"
		sleep 1
		waited=$((waited + 1))
	done
}

install_bundle()
{
	dir=$HOST_ROOT$SCB_HOST_DIR
	[ -x "$SCB_BIN" ] || die "$SCB_BIN is not an executable"
	mkdir -p "$dir/bin" "$dir/lib" "$HOST_ROOT$CNI_BIN_DIR"

	# The loader and every library ldd resolves ("name => /path (addr)",
	# "/lib64/ld-linux-x86-64.so.2 (addr)"); linux-vdso has no file.
	interp=
	for lib in $(ldd "$SCB_BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
					   $1 ~ /^\// { print $1 }'); do
		replace "$lib" "$dir/lib/${lib##*/}"
		case "${lib##*/}" in ld-linux*.so.* | ld64.so.* | ld-musl*) interp=${lib##*/} ;; esac
	done
	[ -n "$interp" ] || die "ldd $SCB_BIN shows no dynamic loader"
	replace "$SCB_BIN" "$dir/bin/sockops-cb"

	cat >"$HOST_ROOT$CNI_BIN_DIR/sockops-cb.sockops-cb-tmp" <<-EOF
		#!/bin/sh
		# Written by sockops-cb's install-cni.sh: the binary with its own libraries.
		exec $SCB_HOST_DIR/lib/$interp --library-path $SCB_HOST_DIR/lib --argv0 "\$0" $SCB_HOST_DIR/bin/sockops-cb "\$@"
	EOF
	chmod 755 "$HOST_ROOT$CNI_BIN_DIR/sockops-cb.sockops-cb-tmp"
	mv -f "$HOST_ROOT$CNI_BIN_DIR/sockops-cb.sockops-cb-tmp" "$HOST_ROOT$CNI_BIN_DIR/sockops-cb"
	say "installed $CNI_BIN_DIR/sockops-cb -> $SCB_HOST_DIR/bin/sockops-cb ($(ls "$dir/lib" | wc -l) libraries)"
}

# write_conf FILE JSON: FILE gets JSON (pretty) unless it holds it already.
write_conf()
{
	printf '%s\n' "$2" | jq . >"$1.sockops-cb-tmp"
	if cmp -s "$1.sockops-cb-tmp" "$1"; then
		rm -f "$1.sockops-cb-tmp"
		say "$1 is up to date"
	else
		mv -f "$1.sockops-cb-tmp" "$1"
		say "wrote $1"
	fi
}

patch_conflist()
{
	jq -e 'type == "object"' "$SCB_ENTRY" >/dev/null 2>&1 ||
		die "$SCB_ENTRY is not a JSON object"
	entry=$(jq -c '. + { type: "sockops-cb" }' "$SCB_ENTRY")
	wait_for_conflist
	jq -e 'type == "object"' "$CONF" >/dev/null 2>&1 || die "$CONF is not a JSON object"

	# A single-plugin .conf becomes a one-element conflist.
	conflist=$(jq -c 'if has("plugins") then . else
		{ cniVersion, name, plugins: [ del(.cniVersion, .name) ] } end' "$CONF")
	version=$(printf '%s' "$conflist" | jq -r '.cniVersion // ""')
	supported=$(CNI_COMMAND=VERSION "$SCB_BIN" </dev/null | jq -c '.supportedVersions') ||
		die "$SCB_BIN did not answer CNI VERSION"
	printf '%s' "$supported" | jq -e --arg v "$version" 'index($v) != null' >/dev/null ||
		die "$CONF has cniVersion \"$version\"; sockops-cb supports $supported: not chaining it there (raise the conflist's cniVersion, or set CNI_CONF_NAME)"

	conflist=$(printf '%s' "$conflist" | jq -c --argjson e "$entry" \
		'.plugins = [ (.plugins[] | select(.type != "sockops-cb")), $e ]')
	case "$CONF" in
	*.conflist) out=$CONF ;;
	*) out=${CONF%.*}.conflist ;;
	esac
	write_conf "$out" "$conflist"
	[ "$out" = "$CONF" ] || rm -f "$CONF"
}

uninstall()
{
	CONF=$(find_conflist)
	if [ -n "$CONF" ] && jq -e '.plugins' "$CONF" >/dev/null 2>&1; then
		write_conf "$CONF" "$(jq -c '.plugins |= map(select(.type != "sockops-cb"))' "$CONF")"
	fi
	say "removed the sockops-cb entry; keep $CNI_BIN_DIR/sockops-cb and $SCB_HOST_DIR until the pods started with it are gone"
}

case "${1:-}" in
"")
	install_bundle
	patch_conflist
	;;
--uninstall)
	uninstall
	;;
*)
	die "usage: $0 [--uninstall]"
	;;
esac
