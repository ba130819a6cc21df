#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
#
# Operating sockops-cb as node software: installed where the runtimes look,
# failing safe on a broken config, refusing what would surprise an admin.

bats_require_minimum_version 1.5.0

load helpers

setup()
{
	basic_setup
	skip_if_rootless
	skip_if_no_cgroup2
	scb_require_binary
	INSTALLED=
	SCB_BG_PIDS=()
}

teardown()
{
	[ -z "$INSTALLED" ] || make_install uninstall >/dev/null 2>&1 || true
	scb_bg_stop_all
	scb_teardown
	scb_private_node_teardown
}

# make_install TARGET: `make TARGET` of the repository into a prefix of the
# test's own, with the hooks where podman reads them by default.
make_install()
{
	make -s -C "$SCB_REPO" "$1" PREFIX="$BATS_TEST_TMPDIR/prefix" \
		SYSCONFDIR="$BATS_TEST_TMPDIR/etc" CNIBINDIR="$BATS_TEST_TMPDIR/cni"
}

# podman_default_hooks ARGS...: podman with the test's containers.conf but
# no --hooks-dir: the hooks directories podman reads by default.
podman_default_hooks()
{
	timeout --foreground -v --kill=10 "$PODMAN_TIMEOUT" podman "$@"
}

@test "install: the hooks land where podman reads them by default; an annotated container is traced; uninstall leaves only the config" {
	local name id hooks=/usr/share/containers/oci/hooks.d

	[ ! -e "$hooks/sockops-cb.json" ] ||
		fail "$hooks already has sockops-cb hooks: not ours to replace"
	INSTALLED=1
	run make_install install
	assert_success
	assert_file_exists "$hooks/sockops-cb.json"
	assert_file_exists "$hooks/sockops-cb-poststop.json"
	run jq -r .hook.path "$hooks/sockops-cb.json"
	assert_output "$BATS_TEST_TMPDIR/prefix/bin/sockops-cb"

	name=$(safename)
	run podman_default_hooks run -d --name "$name" --label "$SCB_LABEL=$SCB_TEST_ID" \
		--annotation sockops-cb.io/flag-set=rtt "$SCB_IMAGE" sleep 600
	assert_success
	id=$output
	scb_track_attach "$id"
	list_json=$("$SCB" list --json)
	check "$(jq -c --arg id "$id" 'select(.id == $id)' <<<"$list_json")" \
		'[.name, .flag_set, .effective]' "[\"$name\",\"rtt\",[\"STATE\",\"RTT\"]]" \
		"the container, traced by the installed hook"
	run podman_default_hooks rm -f -t 0 "$name"
	assert_success
	assert_no_target "$id"

	run make_install uninstall
	assert_success
	assert_output --partial "kept $BATS_TEST_TMPDIR/etc/sockops-cb/config.json"
	INSTALLED=
	assert_file_not_exists "$hooks/sockops-cb.json"
	assert_file_not_exists "$hooks/sockops-cb-poststop.json"
	assert_file_not_exists "$BATS_TEST_TMPDIR/prefix/bin/sockops-cb"
	assert_file_not_exists "$BATS_TEST_TMPDIR/cni/sockops-cb"
	assert_file_exists "$BATS_TEST_TMPDIR/etc/sockops-cb/config.json"
}

# attach_by_hand NAME FLAGS: a throwaway cgroup ($SCB_CGROUP) traced as NAME.
attach_by_hand()
{
	make_cgroup
	scb_track_attach "$1"
	run_scb attach --cgroup "${SCB_CGROUP#"$(cgroup2_mount)"}" --name "$1" --flags "$2"
}

# broken_configs: one broken config per line: trailing comma, unknown key,
# a set above maxFlags, an empty file.
broken_configs()
{
	cat <<-'EOF'
		{"flagSets":{"full":["STATE","RTT"]},}
		{"flagSets":{"full":["STATE"]},"retainstats":true}
		{"flagSets":{"hdr":["WRITE_HDR_OPT"]}}

	EOF
}

@test "config: a broken config never stops a container that asked for nothing; one that asked fails with a line naming the file" {
	local cfg=$BATS_TEST_TMPDIR/config.json line i=0 name state

	scb_hooks_dir "$cfg"
	make_cgroup
	start_in_cgroup "$SCB_CGROUP" sleep 600
	while IFS= read -r line; do
		i=$((i + 1))
		printf '%s' "$line" >"$cfg"
		echo "# config $i: '$line'"

		# Through podman: 0 without our annotation, 126 with it.
		name=$(safename)
		run_podman run --rm --name "$name" "$SCB_IMAGE" true
		run_podman 126 run --rm --name "$name" \
			--annotation sockops-cb.io/flags=RTT "$SCB_IMAGE" true

		# By hand, for the line: the file, the byte, what to do.
		scb_oci_state "ctr$i-$(random_string 8)" "$SCB_BG_PID" '{}' >"$BATS_TEST_TMPDIR/state"
		run_hook createRuntime "$cfg" "$BATS_TEST_TMPDIR/state"
		assert_equal "$(grep -c . <<<"$stderr")" 1
		[[ $stderr == *"config $cfg"* ]] || fail "the line does not name the file: $stderr"
		[[ $stderr == *"runs untraced: fix the config"* ]] || fail "no way out: $stderr"
		scb_oci_state "ann$i-$(random_string 8)" "$SCB_BG_PID" \
			'{"sockops-cb.io/flags":"RTT"}' >"$BATS_TEST_TMPDIR/state"
		run_hook 1 createRuntime "$cfg" "$BATS_TEST_TMPDIR/state"
		[[ $stderr == *"config $cfg"*"asks for tracing"* ]] ||
			fail "the refusal does not say why: $stderr"
	done < <(broken_configs)
	# The JSON errors say where.
	printf '%s' '{"flagSets":{"full":["STATE","RTT"]},}' >"$cfg"
	scb_oci_state "byte-$(random_string 8)" "$SCB_BG_PID" '{}' >"$BATS_TEST_TMPDIR/state"
	run_hook createRuntime "$cfg" "$BATS_TEST_TMPDIR/state"
	assert_regex "$stderr" 'byte [0-9]+'
}

@test "config: a missing --config means the built-in defaults: annotated containers are traced within the default ceiling" {
	local name id

	scb_hooks_dir "$BATS_TEST_TMPDIR/no-such-config.json"
	name=$(safename)
	run_podman run -d --name "$name" --annotation sockops-cb.io/flags=RTT+WRITE_HDR_OPT \
		"$SCB_IMAGE" sleep 600
	id=$output
	scb_track_attach "$id"
	check "$(scb_target_json "$id")" '[.requested, .effective]' \
		'[["RTT","WRITE_HDR_OPT"],["RTT"]]' "clamped to the default maxFlags"
	name=$(safename)
	run_podman run --rm --name "$name" "$SCB_IMAGE" true
}

@test "config: poststop with a broken config still removes the tracing, keeping retained counters" {
	local cfg=$BATS_TEST_TMPDIR/config.json id

	scb_write_config "$cfg" '{"flagSets":{"full":["STATE"]},"retainStats":true}'
	make_cgroup
	start_in_cgroup "$SCB_CGROUP" sleep 600
	id=kept-$(random_string 8)
	scb_track_attach "$id"
	scb_oci_state "$id" "$SCB_BG_PID" '{"sockops-cb.io/flag-set":"full"}' >"$BATS_TEST_TMPDIR/state"
	run_hook createRuntime "$cfg" "$BATS_TEST_TMPDIR/state"
	assert_file_exists "$SCB_PIN_LINKS/$id"

	printf '{' >"$cfg"
	scb_oci_state "$id" 0 '{}' stopped >"$BATS_TEST_TMPDIR/poststop"
	run_hook poststop "$cfg" "$BATS_TEST_TMPDIR/poststop"
	assert_file_not_exists "$SCB_PIN_LINKS/$id"
	check "$(scb_target_json "$id")" .removed true "retained, as attached"
}

@test "detach matches exactly: a name is not a prefix, it says what it removed, and an unknown name lists what is traced" {
	local a=nu-cli-$(random_string 4) b

	b=$a-manual
	attach_by_hand "$a" STATE
	attach_by_hand "$b" STATE

	run_scb 1 detach "${a:0:5}"
	assert_output --partial "no traced container is named \"${a:0:5}\" exactly"
	assert_output --partial "$a"
	run_scb detach "$a"
	assert_output "detached $a"
	assert_no_target "$a"
	check "$(scb_target_json "$b")" .name "\"$b\"" "the other one is still traced"
	assert_file_exists "$SCB_PIN_LINKS/$b"
}

@test "the cgroup2 root: a hook for a process there is refused, attach needs --force" {
	local cfg=$BATS_TEST_TMPDIR/config.json

	# A process of ours in the root (pid 1 is there only when no init
	# system makes cgroups of its own: not with systemd).
	scb_bg_start sleep 600
	echo "$SCB_BG_PID" >"$(cgroup2_mount)/cgroup.procs"
	[ "$(sed -n 's/^0:://p' "/proc/$SCB_BG_PID/cgroup")" = / ] ||
		fail "cannot move a process into the cgroup2 root"
	scb_write_config "$cfg" '{"flagSets":{"full":["STATE"]}}'
	scb_oci_state "root-$(random_string 8)" "$SCB_BG_PID" '{"sockops-cb.io/flag-set":"full"}' \
		>"$BATS_TEST_TMPDIR/state"
	run_hook 1 createRuntime "$cfg" "$BATS_TEST_TMPDIR/state"
	[[ $stderr == *"cgroup2 root"* ]] || fail "no reason given: $stderr"

	run_scb 1 attach --cgroup / --name "root-$(random_string 8)" --flags STATE
	assert_output --partial "add --force"
	! cgroup_sockops_attached "$(cgroup2_mount)" | grep -qw scb_sockops ||
		fail "the cgroup program is attached to the cgroup2 root"
}

@test "names with a dot: attach, list, gc and detach work (bpffs refuses a dot in a pin's name)" {
	local name=web.v1-$(random_string 4)

	attach_by_hand "$name" STATE
	check "$(scb_target_json "$name")" .name "\"$name\"" "listed by its own name"
	run_scb gc --dry-run --json
	refute_output --partial "${name%%.*}"
	run_scb detach "$name"
	assert_output "detached $name"
	assert_no_target "$name"
	[ -z "$(ls -A "$SCB_PIN_LINKS" 2>/dev/null | grep "${name#web.v1-}")" ] ||
		fail "a pin of $name is left: $(ls -A "$SCB_PIN_LINKS")"
}

@test "an explicit request above maxFlags says what was not asked of the kernel" {
	local name=clamp-$(random_string 6)

	make_cgroup
	scb_track_attach "$name"
	scb_write_config "$BATS_TEST_TMPDIR/config.json" '{"maxFlags":["STATE","RTT"]}'
	run --separate-stderr "$SCB" attach --cgroup "${SCB_CGROUP#"$(cgroup2_mount)"}" \
		--name "$name" --flags RTT+WRITE_HDR_OPT --config "$BATS_TEST_TMPDIR/config.json"
	assert_success
	assert_regex "$stderr" "WRITE_HDR_OPT above the config's maxFlags: not asked of the kernel"
	check "$(scb_target_json "$name")" .effective '["RTT"]' "effective"
}

@test "readers refuse to print nothing: a non-root list or metrics fails and says why" {
	local bin=/tmp/scb-nonroot-$(random_string 6) cmd

	make_cgroup
	scb_track_attach nonroot-probe
	run_scb attach --cgroup "${SCB_CGROUP#"$(cgroup2_mount)"}" --name nonroot-probe --flags STATE
	install -m 0755 "$SCB" "$bin"
	for cmd in list metrics; do
		run setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" "$cmd"
		assert_failure
		refute_output --partial "sockops_cb_targets 0"
		assert_output --partial "run as root"
	done
	rm -f "$bin"
}

# serve_any_port ERR: `serve --listen 127.0.0.1:0`, its stderr in ERR; the
# port it says it bound in $SERVE_PORT (empty if it never said).
serve_any_port()
{
	local i

	"$SCB" serve --listen 127.0.0.1:0 2>"$1" 3>&- &
	SCB_BG_PIDS+=("$!")
	for ((i = 0; i < 50; i++)); do
		SERVE_PORT=$(sed -n 's|^sockops-cb: serving http://127.0.0.1:\([0-9]*\)/metrics$|\1|p' "$1")
		[ -n "$SERVE_PORT" ] && return 0
		sleep 0.1
	done
}

@test "serve: a port out of range is refused; :0 says which port it got, and serves there" {
	local err=$BATS_TEST_TMPDIR/serve.err port i

	run_scb 1 serve --listen 127.0.0.1:99999
	assert_output --partial "the port must be a number from 0 to 65535"
	serve_any_port "$err"
	port=$SERVE_PORT
	[ -n "$port" ] && [ "$port" -gt 0 ] || fail "serve did not say its port: $(cat "$err")"
	scb_wait_http "http://127.0.0.1:$port/metrics"
	[[ $SCB_HTTP_BODY == *"# TYPE sockops_cb_targets gauge"* ]] ||
		fail "not our metrics on port $port"
}

@test "stats --plot to a directory that does not exist fails at once, naming the file" {
	local name=plot-$(random_string 6)

	attach_by_hand "$name" STATE
	run_scb 1 stats "$name" --plot /nonexistent/x.svg --count 1 --interval 0.1
	assert_output --partial "cannot write /nonexistent/x.svg: No such file or directory"
	refute_output --partial "<svg"
}

@test "serve: 1100 idle connections do not keep a scrape out" {
	local err=$BATS_TEST_TMPDIR/serve.err port i

	serve_any_port "$err"
	port=$SERVE_PORT
	[ -n "$port" ] || fail "serve did not say its port: $(cat "$err")"
	# The idle clients hold their connections until told to go.
	scb_bg_start python3 -c '
import resource, socket, sys, time, os
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(1100)]
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[2] + ".done"):
    time.sleep(0.1)' "$port" "$BATS_TEST_TMPDIR/idle"
	for ((i = 0; i < 300; i++)); do
		[ -e "$BATS_TEST_TMPDIR/idle" ] && break
		sleep 0.1
	done
	[ -e "$BATS_TEST_TMPDIR/idle" ] || fail "the idle clients did not connect"
	scb_http "http://127.0.0.1:$port/metrics" || fail "the scrape failed: $SCB_HTTP_STATUS"
	[[ $SCB_HTTP_STATUS == "HTTP 200 "* ]] || fail "scrape: $SCB_HTTP_STATUS"
	touch "$BATS_TEST_TMPDIR/idle.done"
}

@test "list marks a target whose link is gone (a hook killed half-way) as incomplete, and gc removes it" {
	local name=half-$(random_string 6)

	attach_by_hand "$name" STATE
	check "$(scb_target_json "$name")" .incomplete false "a whole target"
	# What a kill between the entry and the link's pin leaves.
	rm "$SCB_PIN_LINKS/$name"
	check "$(scb_target_json "$name")" .incomplete true "no link"
	run_scb list
	assert_line --regexp "^$name .* half$"
	run_scb gc
	assert_no_target "$name"
}

@test "trace fits 80 columns (names cut with '~', the peer, short details); --wide shows both ends in full" {
	local name=trace-width-$(random_string 24) port out=$BATS_TEST_TMPDIR/trace.txt line

	attach_by_hand "$name" STATE,RTT,RTO,RETRANS
	port=$(scb_free_port)
	"$SCB" trace "$name" --duration 4 >"$out" 2>&1 3>&- &
	SCB_BG_PIDS+=($!)
	wait_until 10 scb_trace_armed "${SCB_BG_PIDS[-1]}"
	start_in_cgroup "$SCB_CGROUP" socat -u "TCP6-LISTEN:$port,bind=[::1],reuseaddr,fork" OPEN:/dev/null
	SCB_BG_PIDS+=("$SCB_BG_PID")
	scb_wait_for_port "$SCB_BG_PID" "$port" || fail "no listener on [::1]:$port"
	run_in_cgroup "$SCB_CGROUP" sh -c "head -c 200000 /dev/zero | socat -u - 'TCP6:[::1]:$port'"
	wait "${SCB_BG_PIDS[-2]}"
	run cat "$out"
	assert_line --regexp "^[0-9:.]{12} ${name:0:11}~ ESTAB_OUT \[::1\]:$port +flags ORST\$"
	assert_line --regexp "^[0-9:.]{12} ${name:0:11}~ CLOSE +\[::1\]:[0-9]+ +[0-9]+ms 195.3K/[01] retx 0\$"
	for line in "${lines[@]}"; do
		[ "${#line}" -le 80 ] || fail "a line of trace is ${#line} columns: $line"
	done

	"$SCB" trace "$name" --wide --duration 3 >"$out" 2>&1 3>&- &
	SCB_BG_PIDS+=($!)
	wait_until 10 scb_trace_armed "${SCB_BG_PIDS[-1]}"
	run_in_cgroup "$SCB_CGROUP" sh -c "socat -u OPEN:/dev/null 'TCP6:[::1]:$port'"
	wait "${SCB_BG_PIDS[-1]}"
	run cat "$out"
	assert_line --regexp "^[0-9:.]{12} $name +ACTIVE_ESTABLISHED +\[::1\]:[0-9]+ -> \[::1\]:$port flags RTO,RETRANS,STATE,RTT\$"
}

# check_setup: this binary installed into the test's prefix with its hooks
# in $T/hooks.d, and a containers.conf ($T/containers.conf, exported as
# CONTAINERS_CONF) that reads hooks there and CNI networks from $T/net.d
# with plugins in $T/cni.  INSTALLED_SCB is the installed binary.
check_setup()
{
	T=$BATS_TEST_TMPDIR
	make -s -C "$SCB_REPO" install PREFIX="$T/prefix" SYSCONFDIR="$T/etc" \
		CNIBINDIR="$T/cni" HOOKSDIR="$T/hooks.d" >/dev/null ||
		fail "make install into $T failed"
	INSTALLED_SCB=$T/prefix/bin/sockops-cb
	mkdir -p "$T/net.d"
	check_containers_conf "[\"$T/hooks.d\"]" cni
	export CONTAINERS_CONF=$T/containers.conf
}

# check_containers_conf HOOKS_DIR_ARRAY BACKEND: rewrite $T/containers.conf.
check_containers_conf()
{
	cat >"$T/containers.conf" <<-EOF
		[engine]
		# where the hooks are
		hooks_dir = $1

		[network]
		network_backend = "$2"
		network_config_dir = "$T/net.d"
		cni_plugin_dirs = [
		  "$T/nothing-here",   # a comment inside the array
		  "$T/cni",
		]
	EOF
}

# run_check [EXPECTED_RC] [ARGS...]: the installed binary's check.
run_check()
{
	local rc=0

	case "$1" in
	[0-9]) rc=$1; shift ;;
	esac
	run -"$rc" "$INSTALLED_SCB" check "$@"
	echo "$output"
}

@test "check: a sound install passes; hooks, CNI and config misconfigurations are errors or warnings saying what to do" {
	local line conf

	check_setup
	run_check
	assert_line --regexp "^ok +hooks +$T/hooks.d/sockops-cb.json \(podman\) runs this binary\$"
	assert_line --regexp "^ok +hooks +$T/hooks.d/sockops-cb-poststop.json \(podman\) runs this binary\$"
	assert_line --regexp "^ok +config +$T/etc/sockops-cb/config.json is valid: [0-9]+ flag sets"
	assert_line --regexp "^ok +cni +no CNI network chains sockops-cb"
	refute_line --regexp "^error"
	run_check --json
	for line in "${lines[@]}"; do
		jq -e '.check and (.level | IN("ok","warn","error")) and .message' <<<"$line" >/dev/null ||
			fail "not a finding: $line"
	done

	# podman reads hooks somewhere else: nothing would be traced.
	check_containers_conf "[\"$T/elsewhere\"]" cni
	run_check 1
	assert_line --regexp "^error +hooks +podman reads hooks from $T/elsewhere \(hooks_dir in $T/containers.conf\): no sockops-cb hook there.*make install HOOKSDIR="
	check_containers_conf "[\"$T/hooks.d\"]" cni

	# No poststop hook; then a hook whose binary is gone; then another binary.
	mv "$T/hooks.d/sockops-cb-poststop.json" "$T/poststop.json"
	run_check 1
	assert_line --regexp "^error +hooks +podman: no sockops-cb hook at poststop"
	mv "$T/poststop.json" "$T/hooks.d/sockops-cb-poststop.json"
	jq '.hook.path = "/nonexistent/sockops-cb"' "$T/hooks.d/sockops-cb.json" >"$T/h.json"
	cp "$T/hooks.d/sockops-cb.json" "$T/good.json"
	mv "$T/h.json" "$T/hooks.d/sockops-cb.json"
	run_check 1
	assert_line --regexp "^error +hooks +$T/hooks.d/sockops-cb.json \(podman\) runs /nonexistent/sockops-cb, which is not an executable"
	jq --arg p "$SCB" '.hook.path = $p' "$T/good.json" >"$T/hooks.d/sockops-cb.json"
	run_check
	assert_line --regexp "^warn +hooks +.* runs $SCB, not this binary"
	mv "$T/good.json" "$T/hooks.d/sockops-cb.json"

	# The config the hook passes: broken, then missing.
	conf=$T/etc/sockops-cb/config.json
	cp "$conf" "$T/config.good"
	printf '{"flagSets":{"full":["STATE"]},}' >"$conf"
	run_check 1
	assert_line --regexp "^error +config +config $conf: .*byte [0-9]+.*containers that ask for tracing fail to start"
	rm "$conf"
	run_check
	assert_line --regexp "^warn +config +$conf does not exist: the built-in defaults apply"
	mv "$T/config.good" "$conf"

	# A network chaining sockops-cb: plugin missing, then found, then a
	# bad entry, then podman on netavark (conflists unread).
	jq '.name = "chk"' "$SCB_REPO/examples/podman-cni/sockops-cb.conflist" >"$T/net.d/chk.conflist"
	rm -f "$T/cni/sockops-cb"
	run_check 1
	assert_line --regexp "^error +cni +$T/net.d/chk.conflist chains sockops-cb but podman's plugin directories \($T/nothing-here, $T/cni\) have no sockops-cb"
	ln -s "$INSTALLED_SCB" "$T/cni/sockops-cb"
	run_check
	assert_line --regexp "^ok +cni +$T/net.d/chk.conflist \(podman\) chains sockops-cb, found at $T/cni/sockops-cb\$"
	jq '(.plugins[] | select(.type == "sockops-cb") | .maxFlags) = ["RTX"]' \
		"$T/net.d/chk.conflist" >"$T/bad.conflist"
	mv "$T/bad.conflist" "$T/net.d/chk.conflist"
	run_check 1
	assert_line --regexp "^error +cni +$T/net.d/chk.conflist \(podman\): the sockops-cb entry is refused: .*RTX"
	jq '.name = "chk"' "$SCB_REPO/examples/podman-cni/sockops-cb.conflist" >"$T/net.d/chk.conflist"
	check_containers_conf "[\"$T/hooks.d\"]" netavark
	run_check
	assert_line --regexp "^warn +cni +.*chains sockops-cb but podman uses netavark"
}

@test "check: node findings: not loaded, loaded, leftovers, another build; no bpffs, no cgroup2, no BTF" {
	local name=chk-$(random_string 6) bin

	scb_private_node
	bin=$SCB_NODE_DIR/sockops-cb.bin
	run "$SCB" check
	assert_line --regexp "^ok +node +not loaded"
	attach_by_hand "$name" STATE
	run "$SCB" check
	assert_line --regexp "^ok +node +loaded, of this build\$"
	assert_line --regexp "^ok +gc +no leftovers\$"
	rm "$SCB_PIN_LINKS/$name"
	run "$SCB" check
	assert_line --regexp "^warn +gc +1 leftover\(s\).*run \`sockops-cb gc\`"
	run_scb gc

	# Pins of another build: every command would refuse them.
	scb_node_exec bpftool map update pinned /sys/fs/bpf/sockops-cb/build_id \
		key 0 0 0 0 value 1 2 3 4 5 6 7 8
	run -1 "$SCB" check
	assert_line --regexp "^error +node +.*another sockops-cb build.*unload --force"
	scb_node_exec sh -c 'rm -rf /sys/fs/bpf/sockops-cb'

	run scb_node_exec unshare -m --propagation private sh -c '
		while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf; done
		exec "$0" check' "$bin"
	assert_line --regexp "^warn +bpffs +/sys/fs/bpf is not mounted: sockops-cb mounts it"
	run scb_node_exec unshare -m --propagation private sh -c '
		for m in $(findmnt -rn -t cgroup2 -o TARGET); do umount -l "$m"; done
		exec "$0" check' "$bin"
	assert_line --regexp "^error +cgroup2 +.*boot with systemd.unified_cgroup_hierarchy=1"
	run scb_node_exec unshare -m --propagation private sh -c '
		mount -t tmpfs none /sys/kernel/btf && exec "$0" check' "$bin"
	assert_line --regexp "^error +btf +/sys/kernel/btf/vmlinux: No such file or directory"
}
