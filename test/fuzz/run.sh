#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# make fuzz: run each libFuzzer harness for SECONDS on a copy of its seed
# corpus (test/fuzz/corpus/<name>/), so new inputs stay out of git.
#   test/fuzz/run.sh SECONDS .output/fuzz/fuzz_config ...
set -uo pipefail

secs=$1
shift
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/scb-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0

for bin in "$@"; do
	name=$(basename "$bin")
	seeds=$dir/corpus/${name#fuzz_}
	mkdir -p "$work/$name"
	cp -r "$seeds/." "$work/$name/" 2>/dev/null
	echo "== $name: ${secs}s"
	# -max_len 1 MiB reaches the size limits; -rss_limit keeps it bounded.
	if "$bin" -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=2048 \
		-artifact_prefix="$work/$name-" "$work/$name" >"$work/$name.log" 2>&1; then
		grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs)' "$work/$name.log" | tail -1
	else
		failed=1
		tail -40 "$work/$name.log"
		cp "$work/$name"-* "$dir/" 2>/dev/null && echo "crash input saved in test/fuzz/"
	fi
done
exit $failed
