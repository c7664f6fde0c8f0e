#!/usr/bin/env bash
# Golden tests for the splat scan: every tests/console/clean-*.log must be
# judged clean, every splat-*.log must be caught, and a missing or empty
# deny-list must be an error, never a clean verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

scan=lab/scan-console.sh
for log in tests/console/clean-*.log; do
	t_expect "clean log $(basename "$log")" 0 '' "$scan" "$log"
done
for log in tests/console/splat-*.log; do
	t_expect "splat caught in $(basename "$log")" 1 'kernel splat in' "$scan" "$log"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t_expect "missing deny-list is an error" 2 'deny-list .* is missing' \
	"$scan" tests/console/clean-x86_64-collapse.log "$tmp/none.txt"
printf '# only a comment\n\n' > "$tmp/empty.txt"
t_expect "empty deny-list is an error" 2 'has no patterns' \
	"$scan" tests/console/clean-x86_64-collapse.log "$tmp/empty.txt"
t_expect "missing console log is an error" 2 'console log .* is missing' \
	"$scan" "$tmp/no-such.log"
t_finish
