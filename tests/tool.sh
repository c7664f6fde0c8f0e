#!/usr/bin/env bash
# quietsync-check on the host: it builds with -Wall -Wextra -Werror, --help
# documents it, bad input gets one line on stderr and exit 2, and without
# root it says it cannot tell (exit 2). Its verdicts are asserted inside the
# guests (check_verdict in the collapse and livepatch suites).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

tool=$QS_BUILD/tool/quietsync-check
if make -s -C tool O="$QS_BUILD/tool" >&2; then
	t_pass "builds with -Wall -Wextra -Werror"
else
	t_fail "builds with -Wall -Wextra -Werror" "make -C tool failed"
	t_finish
fi

t_expect "--help documents the exit status" 0 '^Exit status: 0 not exposed' "$tool" --help

# One line on stderr, exit 2, nothing on stdout.
bad_input() {
	local name=$1 out err rc=0
	shift
	out=$("$tool" "$@" 2> "$QS_BUILD/tool/stderr") || rc=$?
	err=$(cat "$QS_BUILD/tool/stderr")
	if [ "$rc" -eq 2 ] && [ -z "$out" ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
		[[ $err == quietsync-check:* ]]; then
		t_pass "$name: one-line error, exit 2"
	else
		t_fail "$name: one-line error, exit 2" "exit $rc, stdout '$out', stderr '$err'"
	fi
}
bad_input "unknown flag" --fast
bad_input "--seconds 0" --seconds 0
bad_input "--seconds not a number" --seconds ten
bad_input "--seconds without a value" --seconds
bad_input "a CPU list that does not parse" --cpus 2-x
bad_input "a reversed CPU range" --cpus 3-1
bad_input "a stray argument" now

# The unprivileged user may not reach the clone (mktemp -d makes 0700
# folders): it runs a copy of the tool from a folder it can read.
nobody_dir=$(mktemp -d)
chmod 755 "$nobody_dir"
cp "$tool" "$nobody_dir/"
if grep -q ' tlb_remove_table_smp_sync$' /proc/kallsyms; then
	t_expect "not root: cannot tell, exit 2" 2 '^verdict: cannot tell \(not root' \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$nobody_dir/quietsync-check" --cpus 1 --seconds 1
else
	# This host's kernel has no sync IPI: that is the verdict, root or not.
	t_expect "no sync IPI in this kernel: not exposed, exit 0" 0 \
		'^verdict: not exposed \(this kernel has no page-table sync IPI' \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$nobody_dir/quietsync-check" --cpus 1 --seconds 1
fi
rm -rf "$nobody_dir"

# As root on this host: a second instance is refused while one runs, and
# Ctrl-C leaves tracefs as it was (mounted or not, event off, no filter).
tracefs_state() {
	if mountpoint -q /sys/kernel/tracing; then
		cat /sys/kernel/tracing/tracing_on \
			/sys/kernel/tracing/events/csd/csd_function_entry/enable \
			/sys/kernel/tracing/events/csd/csd_function_entry/filter 2> /dev/null | tr '\n' ' '
	else
		echo "not mounted"
	fi
}

if [ "$(id -u)" -eq 0 ] && grep -q ' tlb_remove_table_smp_sync$' /proc/kallsyms; then
	before=$(tracefs_state)
	"$tool" --cpus 1 --seconds 30 > "$QS_BUILD/tool/first.out" 2>&1 &
	first=$!
	sleep 1
	t_expect "a second instance is refused" 2 'another instance is running' "$tool" --cpus 1 --seconds 1
	kill -INT "$first"
	rc=0
	wait "$first" || rc=$?
	if [ "$rc" -eq 2 ] && grep -q '^verdict: cannot tell (interrupted)' "$QS_BUILD/tool/first.out"; then
		t_pass "Ctrl-C: cannot tell (interrupted), exit 2"
	else
		t_fail "Ctrl-C: cannot tell (interrupted), exit 2" "exit $rc: $(tail -n 1 "$QS_BUILD/tool/first.out")"
	fi
	after=$(tracefs_state)
	if [ "$before" = "$after" ]; then
		t_pass "Ctrl-C: tracefs left as it was ($before)"
	else
		t_fail "Ctrl-C: tracefs left as it was" "before '$before', after '$after'"
	fi
else
	t_skip "lock and Ctrl-C on this host" "needs root and a kernel with the sync IPI"
fi
t_finish
