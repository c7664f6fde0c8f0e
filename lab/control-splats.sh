#!/usr/bin/env bash
# Judge the console of a boot whose last stress step is a negative control
# that may, but need not, trip a known detector (tests/safety.sh: x86's
# "none" run). The control's part runs from its step's "quietsync: running"
# line to the next step's, or to the end: there every splat must be one
# that ALLOW_REGEX matches (with its "Call Trace:"). Everywhere else, no
# splat at all (lab/scan-console.sh). Prints two KTAP results,
# vm.no_kernel_splat and vm.control_splats_allowed, and each allowed splat
# as a "# " line; exit 0 when both pass, 1 when one fails, 2 on bad input
# (no such step, an unreadable log or deny-list): never a clean verdict.
#
# Usage: lab/control-splats.sh CONSOLE_LOG STEP_REGEX ALLOW_REGEX
set -euo pipefail

# matches LOG: the deny-list's matching lines of LOG ("NNN:line"), or
# nothing; exit 2 if it could not scan.
matches() {
	local out rc=0
	out=$("$(dirname "$0")/scan-console.sh" "$1" 2>&1) || rc=$?
	case $rc in
	0) ;;
	1) printf '%s\n' "$out" | tail -n +2 | sed 's/^ *//' ;;
	*) printf '%s\n' "$out" >&2; return 2 ;;
	esac
}

main() {
	local log=${1:-} step=${2:-} allow=${3:-} from to outside control bad rc=0
	if [ -z "$log" ] || [ -z "$step" ] || [ -z "$allow" ]; then
		echo "usage: lab/control-splats.sh CONSOLE_LOG STEP_REGEX ALLOW_REGEX" >&2
		exit 2
	fi
	if [ ! -r "$log" ]; then
		echo "error: console log $log is missing" >&2
		exit 2
	fi
	from=$(grep -anE "quietsync: running ($step)" "$log" | head -n 1 | cut -d: -f1 || true)
	if [ -z "$from" ]; then
		echo "error: no step /$step/ in $log" >&2
		exit 2
	fi
	to=$(awk -v f="$from" 'NR > f && /quietsync: running / { print NR; exit }' "$log")
	to=${to:-$(($(wc -l < "$log") + 1))}
	TMP=$(mktemp -d)
	trap 'rm -rf "$TMP"' EXIT
	awk -v f="$from" -v t="$to" 'NR < f || NR >= t' "$log" > "$TMP/outside.log"
	awk -v f="$from" -v t="$to" 'NR >= f && NR < t' "$log" > "$TMP/control.log"
	outside=$(matches "$TMP/outside.log") || exit 2
	control=$(matches "$TMP/control.log") || exit 2
	if [ -z "$outside" ]; then
		echo "ok vm.no_kernel_splat"
	else
		echo "not ok vm.no_kernel_splat # outside the control: $(head -n 1 <<< "$outside")"
		rc=1
	fi
	bad=$(grep -vE -e "$allow" -e 'Call Trace:' <<< "$control" || true)
	if [ -z "$control" ]; then
		echo "ok vm.control_splats_allowed # the control tripped nothing"
	elif [ -n "$bad" ]; then
		echo "not ok vm.control_splats_allowed # not a known symptom: $(head -n 1 <<< "$bad")"
		rc=1
	elif ! grep -qE -e "$allow" <<< "$control"; then
		echo "not ok vm.control_splats_allowed # a call trace without a known symptom: $(head -n 1 <<< "$control")"
		rc=1
	else
		echo "ok vm.control_splats_allowed # the control tripped a known detector"
		grep -E -e "$allow" <<< "$control" | sed 's/^/# control: /'
	fi
	return "$rc"
}

main "$@"
