#!/usr/bin/env bash
# Golden tests for the KTAP verdict: pass-*.ktap must pass; fail-*.ktap must
# fail (a "not ok", a missing plan, a short run, a program that died, a suite
# that never finished, an unknown suite, an empty log).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

verdict=lab/ktap-verdict.sh
for log in tests/ktap/pass-*.ktap; do
	t_expect "passes: $(basename "$log")" 0 '^# verdict: PASS' "$verdict" "$log"
done
for log in tests/ktap/fail-*.ktap; do
	t_expect "fails: $(basename "$log")" 1 '^# verdict: FAIL' "$verdict" "$log"
done
t_expect "names the program that died" 1 \
	'collapse_ipi # died or hung while running, last seen: test 1 started_pinned_to_cpu0' \
	"$verdict" tests/ktap/fail-died-mid-program.ktap
t_expect "counts skips apart" 0 'passed=1 failed=0 skipped=1' \
	"$verdict" tests/ktap/pass-skip.ktap
t_expect "missing log is a usage error" 2 'no KTAP log' "$verdict" tests/ktap/none.ktap
t_finish
