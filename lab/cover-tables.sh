#!/usr/bin/env bash
# Print the count tables of the 7.3 cover letter from one run's reports, so
# that the letter quotes one run: sync IPIs per 1,000 operations on the
# isolated CPUs 1/2/3, per rule, for each scenario of
# build/report/mainline.json (x86_64, and arm64 when it ran) and its
# isolcpus-only layout. Emulator timing is left out on purpose.
#
# Usage: lab/cover-tables.sh [MAINLINE_JSON]
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

json=${1:-$QS_REPORT/mainline.json}
[ -r "$json" ] || qs_die "no $json: run tests/mainline.sh (make check) first"

# table SCENARIOS_PATH TITLE: one block per scenario present at that path.
table() {
	jq -r --arg title "$2" "$1"' as $s | if $s == null then empty else
		($s | to_entries[]) as $e
		| ["broadcast", "mm", "kernel-state", "quiet", "quiet-flush", "flush-ipi", "rcu-exp", "rcu"] as $order
		| {"broadcast": "broadcast (today)", "mm": "mm_cpumask only", "kernel-state": "2023 rule",
		   "quiet": "RCU rule", "quiet-flush": "the series", "flush-ipi": "flush-ipi",
		   "rcu-exp": "rcu-exp", "rcu": "rcu"} as $lbl
		| "  \($title), \($e.key)" as $head
		| (if ($head | length) < 34 then $head + (" " * (34 - ($head | length)))
		   else $head + "\n" + (" " * 34) end) + "cpu1 / cpu2 / cpu3",
		  ($order[] as $p | $e.value.policies[$p] // empty | . as $pol
		   | [1, 2, 3] | map(. as $c | first($pol.cpus[]? | select(.cpu == $c) | .sync_ipis) // null)
		   | map(if . == null then "   -" else (. * 1000 / ($e.value.operations // 1) | floor | tostring | (" " * (4 - length)) + .) end)
		   | "  \($lbl[$p])" + (" " * (32 - ($lbl[$p] | length))) + join(" / ")),
		  ""
		end' "$json"
}

table '.arches.x86_64.scenarios' "x86_64"
table '.arches.arm64.scenarios' "arm64"
table '.layouts.isolcpus.x86_64.scenarios' "x86_64, isolcpus only"
