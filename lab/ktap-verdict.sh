#!/usr/bin/env bash
# Read the guest's KTAP results (ttyS1) and decide. Prints one line per guest
# test, "ok NAME", "not ok NAME # why" or "ok NAME # SKIP why", with NAME as
# program.test, then a "# verdict:" line. Exit 0 when every program ran to
# its plan and no test failed, 1 otherwise (a missing plan, a short run, a
# program that died, a suite that never finished), 2 on usage errors.
#
# Usage: lab/ktap-verdict.sh KTAP_LOG
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: lab/ktap-verdict.sh KTAP_LOG" >&2; exit 2; }
[ -r "$1" ] || { echo "error: no KTAP log $1" >&2; exit 2; }

tr -d '\r' < "$1" | awk '
function problem(msg) { printf "not ok %s\n", msg; bad++ }
function close_program(exitcode,   p) {
	p = prog
	if (plan == "")
		problem(p " # no KTAP plan (1..N) printed")
	else if (count != plan)
		problem(p " # planned " plan " tests, reported " count)
	if (exitcode != "" && exitcode != 0 && exitcode != 4 && failed == 0)
		problem(p " # exited " exitcode " without a failing test")
	prog = ""
}
/^# quietsync: suite / && $4 != "done" { suite = $4 }
/^# quietsync: unknown suite/ { problem("suite # " substr($0, 14)) }
/^# quietsync: begin / {
	if (prog != "") close_program("")
	prog = $4; plan = ""; count = 0; failed = 0; last = "(before its first test)"
	programs++
	next
}
/^# quietsync: end / {
	split($5, kv, "=")
	if (prog != "") close_program(kv[2])
	next
}
/^# quietsync: suite done/ { done = 1; next }
prog == "" { next }
/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next }
/^(not )?ok [0-9]+ / {
	pass = ($1 == "ok")
	name = pass ? $3 : $4
	count++
	last = "test " (pass ? $2 : $3) " " name
	why = ""
	if (index($0, "#") > 0)
		why = substr($0, index($0, "#"))
	if (pass) {
		printf "ok %s.%s%s\n", prog, name, (why ~ /^# SKIP/ ? " " why : "")
		if (why ~ /^# SKIP/) skipped++; else passed++
	} else {
		printf "not ok %s.%s%s\n", prog, name, (why != "" ? " " why : "")
		failed++; bad++
	}
}
END {
	if (!programs && !bad)
		problem("suite # no program ran (no \"# quietsync: begin\" line)")
	if (prog != "")
		problem(prog " # died or hung while running, last seen: " last)
	else if (!done)
		problem("suite # the guest never reported \"suite done\"")
	printf "# verdict: %s passed=%d failed=%d skipped=%d\n",
		bad ? "FAIL" : "PASS", passed, bad, skipped
	exit bad ? 1 : 0
}'
