#!/usr/bin/env bash
# Scan a guest console log for kernel splats. Exit 0 when clean, 1 when a
# pattern from the deny-list matched (the matching lines are printed), 2 when
# the deny-list or the log is missing or the list is empty: an unreadable
# list must never read as a clean log.
#
# Usage: lab/scan-console.sh CONSOLE_LOG [PATTERN_FILE]
set -euo pipefail

patterns_in() {
	grep -Ev '^[[:space:]]*(#|$)' "$1" || true
}

main() {
	local log=${1:-} list=${2:-$(dirname "$0")/splat-patterns.txt} patterns matches
	if [ -z "$log" ]; then
		echo "usage: lab/scan-console.sh CONSOLE_LOG [PATTERN_FILE]" >&2
		exit 2
	fi
	if [ ! -r "$list" ]; then
		echo "error: splat deny-list $list is missing" >&2
		exit 2
	fi
	patterns=$(patterns_in "$list")
	if [ -z "$patterns" ]; then
		echo "error: splat deny-list $list has no patterns" >&2
		exit 2
	fi
	if [ ! -r "$log" ]; then
		echo "error: console log $log is missing" >&2
		exit 2
	fi
	matches=$(tr -d '\r' < "$log" | grep -En -e "$patterns" | head -n 20 || true)
	if [ -n "$matches" ]; then
		echo "kernel splat in $log:" >&2
		printf '%s\n' "$matches" | sed 's/^/    /' >&2
		exit 1
	fi
}

main "$@"
