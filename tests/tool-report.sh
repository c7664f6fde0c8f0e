#!/usr/bin/env bash
# quietsync-check's fault cases on real kernels, counted into
# build/report/tool.json beside tests/tool.sh's host cases: every run of
# guest/check_verdict in this make check (the verdict written before the
# run, then its exit, verdict, signals, counts and the settings it must
# leave), one case per run, wrong if any of its results failed. Runs after
# the guest suites (tests/run.sh's last suites); alone, it has nothing to
# count.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

results=$QS_BUILD/tests/results
report=$QS_REPORT/tool.json

# "CASE ok|not" per check_verdict result: CASE is the suite, the kernel
# prefix and the run's label (labels have no "_"; the result's name follows
# it after "_").
cases() {
	sed -n 's/^\(not \)\?ok \(.*check_verdict\.[^_]*\)_.*$/\2 \1/p' "$results" |
		awk '{ wrong = ($NF == "not"); if (wrong) NF--; $1 = $1; key = $0
			if (!(key in seen)) { seen[key] = 1; n++ }
			if (wrong && !(key in bad)) { bad[key] = 1; w++ } }
			END { print n + 0, w + 0 }'
}

if [ ! -f "$results" ] || ! grep -q 'check_verdict\.' "$results"; then
	t_skip "tool.json: quietsync-check's cases in the guests" "no guest suite ran before this one (make check runs them)"
	t_finish
fi
read -r n wrong < <(cases)
mkdir -p "$QS_REPORT"
[ -f "$report" ] || echo '{}' > "$report"
jq --argjson n "$n" --argjson w "$wrong" '. + {guest_cases: $n, guest_wrong_verdicts: $w}' \
	"$report" > "$report.new" && mv "$report.new" "$report"
if [ "$n" -gt 0 ] && [ "$wrong" -eq 0 ]; then
	t_pass "tool.json: $n runs of quietsync-check on real kernels in the guests (check_verdict), none wrong"
else
	t_fail "tool.json: $n runs of quietsync-check on real kernels in the guests (check_verdict), none wrong" \
		"$wrong wrong (their results above)"
fi
t_finish
