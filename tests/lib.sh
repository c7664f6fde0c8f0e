# shellcheck shell=bash
# Helpers for the host test suites: each result is one line, "ok NAME" or
# "not ok NAME # why", which tests/run.sh counts.

QS_TEST_FAILED=0

t_pass() {
	echo "ok $1"
}

t_skip() {
	echo "ok $1 # SKIP $2"
}

t_fail() {
	echo "not ok $1 # $2"
	QS_TEST_FAILED=1
}

# t_expect NAME RC REGEX CMD...: CMD must exit RC and print (stdout+stderr)
# something matching the extended regular expression REGEX.
t_expect() {
	local name=$1 want_rc=$2 regex=$3 out rc=0
	shift 3
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		t_fail "$name" "exit $rc, expected $want_rc; output: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
	elif ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then
		t_fail "$name" "output lacks /$regex/: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
	else
		t_pass "$name"
	fi
}

t_finish() {
	exit "$QS_TEST_FAILED"
}
