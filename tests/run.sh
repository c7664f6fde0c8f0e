#!/usr/bin/env bash
# Run the test suites (all, or the ones named) and count their results. Each
# suite is tests/NAME.sh printing "ok ..." / "not ok ..." lines. The last
# line is "N passed, N failed, N skipped", also kept in build/check-summary.
#
# Usage: tests/run.sh [--list | SUITE...]
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/../lab/env.sh"

# In dependency order: host checks, then the kernel, then guest runs.
SUITES=(deps shellcheck console-scan ktap-verdict source config kernel
	patches model tool stock livepatch-build guest-harness guest-abi guest-collapse guest-livepatch
	guest-livepatch-rt guest-livepatch-lines bench selftests safety arm64 mainline package host)

run_suite() {
	local suite=$1 log=$QS_BUILD/tests/$1.log rc=0 start=$SECONDS
	qs_log "check: $suite"
	# Progress (stderr) shows live and is kept; results are counted below.
	if "$QS_ROOT/tests/$suite.sh" 2>&1 > "$log" | tee "$log.stderr" |
		{ grep --line-buffered '^\[' || true; } >&2; then
		rc=0
	else
		rc=${PIPESTATUS[0]}
	fi
	grep -E '^(not )?ok ' "$log" | sed "s/^\(\(not \)\?ok \)/\1$suite: /" || true
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$log"; then
		echo "not ok $suite: suite # exited $rc without a failing result"
	fi
	if [ "$rc" -ne 0 ]; then
		# Not a failure of its own when only progress lines were printed.
		sed 's/^/#   /' "$log.stderr" | grep -v '^#   \[' | tail -n 60 || true
	fi
	if ! grep -qE '^(not )?ok ' "$log" && [ "$rc" -eq 0 ]; then
		echo "not ok $suite: suite # reported no result"
	fi
	qs_log "check: $suite done in $((SECONDS - start)) s"
}

main() {
	local suites=("$@") out passed failed skipped s
	if [ "${1:-}" = --list ]; then
		printf '%s\n' "${SUITES[@]}"
		return 0
	fi
	[ ${#suites[@]} -gt 0 ] || suites=("${SUITES[@]}")
	for s in "${suites[@]}"; do
		[ -x "$QS_ROOT/tests/$s.sh" ] ||
			qs_die "no test suite '$s' (tests/run.sh --list names them)"
	done
	mkdir -p "$QS_BUILD/tests"
	# Every suite may need the lab's packages: install them first.
	"$QS_ROOT/lab/deps.sh"
	# What the lab must not change on the host, for tests/host.sh to
	# compare at the end of a whole run (a partial run has no record).
	rm -f "$QS_BUILD/tests/host-before.txt"
	if [ $# -eq 0 ]; then
		"$QS_ROOT/lab/host-state.sh" > "$QS_BUILD/tests/host-before.txt"
	fi
	out=$QS_BUILD/tests/results
	: > "$out"
	for s in "${suites[@]}"; do
		run_suite "$s" | tee -a "$out"
	done
	passed=$(grep -E '^ok ' "$out" | grep -vc '# SKIP' || true)
	skipped=$(grep -cE '^ok .*# SKIP' "$out" || true)
	failed=$(grep -c '^not ok ' "$out" || true)
	echo "$passed passed, $failed failed, $skipped skipped" | tee "$QS_BUILD/check-summary"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main "$@"
