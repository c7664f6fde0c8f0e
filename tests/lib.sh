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
	elif ! grep -Eq -- "$regex" <<< "$out"; then
		t_fail "$name" "output lacks /$regex/: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
	else
		t_pass "$name"
	fi
}

# t_none NAME FILE FILTER [JQ_OPTION...]: jq's FILTER on the JSON FILE
# yields an array of what is wrong; the result passes only if it is empty
# (a FILE or FILTER jq cannot read fails it).
t_none() {
	local name=$1 file=$2 filter=$3 bad
	shift 3
	bad=$(jq -c "$@" "$filter" "$file" 2>&1) || bad="jq failed on $file: $bad"
	if [ "$bad" = "[]" ]; then
		t_pass "$name"
	else
		t_fail "$name" "$(cut -c1-400 <<< "$bad")"
	fi
}

# t_step NAME CMD...: CMD (its output to stderr) is one result; the suite
# stops at a failed step, as everything after it depends on it.
t_step() {
	local name=$1
	shift
	if "$@" >&2; then
		t_pass "$name"
	else
		t_fail "$name" "$* failed (its output is above)"
		t_finish
	fi
}

# t_guest CMD...: CMD prints its own results (a guest run through
# lab/vm.sh); if it fails, the suite fails, and goes on.
t_guest() {
	"$@" || QS_TEST_FAILED=1
}

# t_nested PREFIX LOG CMD...: CMD is another suite (or one kernel's part of
# one); its output is kept in LOG and its results printed with PREFIX
# before their names; if it fails, this suite fails too, and goes on.
t_nested() {
	local prefix=$1 log=$2 rc=0
	shift 2
	"$@" > "$log" || rc=$?
	sed "s/^\(\(not \)\?ok \)/\1$prefix/" "$log"
	[ "$rc" -eq 0 ] || QS_TEST_FAILED=1
}

t_finish() {
	exit "$QS_TEST_FAILED"
}
