#!/usr/bin/env bash
# Every shell script of the project is shellcheck clean.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

command -v shellcheck > /dev/null || { t_fail shellcheck "shellcheck missing: apt-get install shellcheck"; t_finish; }
scripts=()
for f in lab/*.sh tests/*.sh model/*.sh livepatch/*.sh livepatch/quietsync-livepatch .ci/run guest/init guest/package-test debian/quietsync.prerm; do
	[ -f "$f" ] && scripts+=("$f")
done
for f in "${scripts[@]}"; do
	if out=$(shellcheck -x "$f" 2>&1); then
		t_pass "shellcheck $f"
	else
		t_fail "shellcheck $f" "$(printf '%s' "$out" | grep -m1 -E 'SC[0-9]+')"
	fi
done

# Under pipefail, "WRITER | grep -q" fails when grep exits at its first match
# while WRITER still writes (SIGPIPE): a present match reads as absent once
# the output outgrows the pipe's buffer (CI, 2026-12-07: a kernel .config).
# Match a here-string or a file instead.
quiet_pipes=$(grep -nE '\|[[:space:]]*grep[[:space:]]([^|]*[[:space:]])?-[a-zA-Z]*q' "${scripts[@]}" /dev/null |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*#' || true)
if [ -z "$quiet_pipes" ]; then
	t_pass "no pipeline ends in grep -q (a writer's SIGPIPE would fail it under pipefail)"
else
	t_fail "no pipeline ends in grep -q (a writer's SIGPIPE would fail it under pipefail)" \
		"$(head -n 3 <<< "$quiet_pipes" | tr '\n' ' ')"
fi
# And t_expect itself, on such an output: 290 KB, the match on its first line.
got=$( (t_expect "inner" 0 '^MATCH$' sh -c 'echo MATCH; seq 50000') 2>&1 | head -n 1)
if [ "$got" = "ok inner" ]; then
	t_pass "t_expect finds a match on the first line of a 290 KB output"
else
	t_fail "t_expect finds a match on the first line of a 290 KB output" "got: $got"
fi
t_finish
