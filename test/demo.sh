#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: two containers on a private bridge, the client with the "full"
# flag set, a few HTTP requests between them while `sockops-cb trace` runs,
# then `sockops-cb list` and `sockops-cb stats`.  Leaves nothing behind.
#
# Uses the test harness's podman setup (test/lib.sh): a private
# containers.conf and a private hooks dir, so nothing is installed.

set -euo pipefail

# shellcheck source=test/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=8080
REQUESTS=5
TRACE_SECONDS=5
# The demo's own bridge, outside the range the tests use.
SUBNET=10.90.1.0/24

TMP=
NET=scb-demo-$$
SRV=scb-demo-server-$$
CLI=scb-demo-client-$$
TRACE_PID=

CONFIG='{
	"flagSets": {
		"basic": ["STATE"],
		"full": ["STATE", "RTT", "RETRANS", "RTO"]
	},
	"defaultFlagSet": "basic",
	"maxFlags": ["STATE", "RTT", "RETRANS", "RTO"]
}'

step()
{
	printf '\n== %s\n' "$*"
}

# The hooks dir travels with each container to its cleanup, so poststop
# (and the product's detach) runs when cleanup removes the containers.
demo_podman()
{
	podman --hooks-dir "$TMP/hooks.d" "$@"
}

# Runs on every exit.  Containers first: their poststop hooks still need
# the config in $TMP.
cleanup()
{
	set +e
	if [ -n "$TRACE_PID" ]; then
		kill "$TRACE_PID" 2>/dev/null
		wait "$TRACE_PID" 2>/dev/null
	fi
	if [ -n "$TMP" ]; then
		demo_podman rm -f -t 0 "$CLI" "$SRV" >/dev/null 2>&1
		scb_network_rm "$NET"
		scb_cni_firewall_cleanup
		rm -rf "$TMP"
		# The program stays loaded for the next container, as on a node;
		# a demo leaves none behind (refused while anything is traced).
		"$SCB" unload >/dev/null 2>&1
	fi
}

prepare()
{
	"$SCB_TEST_DIR/setup.sh"
	if [ ! -x "$SCB" ]; then
		scb_msg "$SCB is missing: run make first"
		exit 1
	fi

	TMP=$(mktemp -d "${TMPDIR:-/tmp}/scb-demo.XXXXXX")
	export CONTAINERS_CONF=$TMP/containers.conf
	scb_containers_conf "$CONTAINERS_CONF" "$TMP/net"
	jq -e . <<<"$CONFIG" >/dev/null
	printf '%s\n' "$CONFIG" >"$TMP/config.json"
	scb_write_hooks "$TMP/hooks.d" "$TMP/config.json"

	step "config ($TMP/config.json)"
	cat "$TMP/config.json"
	step "network $NET ($SUBNET)"
	podman network create --internal --subnet "$SUBNET" "$NET" >/dev/null
}

start_server()
{
	step "server $SRV: busybox httpd on port $PORT (default flag set)"
	demo_podman run -d --name "$SRV" --network "$NET" \
		--label "$SCB_LABEL=demo" "$SCB_IMAGE" sh -c \
		"echo hello from $SRV >/var/www/index.html &&
		 exec httpd -f -p $PORT -h /var/www" >/dev/null
	scb_wait_for_port "$(scb_ctr_pid "$SRV")" "$PORT"
	SRV_IP=$(podman inspect --format \
		"{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$SRV")
}

# The client stays up after its requests so that list and stats show it.
start_client()
{
	step "client $CLI: $REQUESTS requests to $SRV_IP:$PORT (flag set full)"
	demo_podman run -d --name "$CLI" --network "$NET" \
		--label "$SCB_LABEL=demo" \
		--annotation sockops-cb.io/flag-set=full "$SCB_IMAGE" sh -c \
		"for i in \$(seq $REQUESTS); do
			wget -q -O - http://$SRV_IP:$PORT/
			sleep 0.3
		 done
		 exec sleep 3600" >/dev/null
}

main()
{
	trap cleanup EXIT
	prepare
	start_server

	step "sockops-cb trace --duration $TRACE_SECONDS"
	"$SCB" trace --duration "$TRACE_SECONDS" &
	TRACE_PID=$!
	# Let trace open its ring buffer before the first connection.
	sleep 1
	start_client
	wait "$TRACE_PID"
	TRACE_PID=

	step "client output"
	podman logs "$CLI"
	step "sockops-cb list"
	"$SCB" list
	step "sockops-cb stats"
	"$SCB" stats
}

main "$@"
