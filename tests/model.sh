#!/usr/bin/env bash
# The formal model: every variant of model/variants.txt gets, under TSO and
# under the weaker memory model, the verdict the table there states.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

model/run.sh >&2 || true
while read -r name _ _ _ _ want_tso want_weak; do
	case $name in '' | '#'*) continue ;; esac
	got=$(awk -v n="$name" '$1 == n { print $2 " " $3 }' "$QS_BUILD/model/verdicts.txt" 2> /dev/null || true)
	if [ "$got" = "$want_tso $want_weak" ]; then
		t_pass "$name: TSO $want_tso, weak $want_weak"
	else
		t_fail "$name: TSO $want_tso, weak $want_weak" "spin says: ${got:-nothing}"
	fi
done < model/variants.txt
t_finish
