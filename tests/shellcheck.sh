#!/usr/bin/env bash
# Every shell script of the project is shellcheck clean.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

command -v shellcheck > /dev/null || { t_fail shellcheck "shellcheck missing: apt-get install shellcheck"; t_finish; }
for f in lab/*.sh tests/*.sh model/*.sh livepatch/*.sh livepatch/quietsync-livepatch .ci/run guest/init guest/package-test debian/quietsync.prerm; do
	[ -f "$f" ] || continue
	if out=$(shellcheck -x "$f" 2>&1); then
		t_pass "shellcheck $f"
	else
		t_fail "shellcheck $f" "$(printf '%s' "$out" | grep -m1 -E 'SC[0-9]+')"
	fi
done
t_finish
