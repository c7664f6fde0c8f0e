#!/usr/bin/env bash
# make bench's caller cost (docs/interference.md, "The caller's side"): the
# instructions the CPU that calls the sync spends in it, per policy,
# scenario and vCPU count, from the plugin boots lab/bench.sh listed in
# BENCH_DIR/caller-runs ("NAME VCPUS FILE", FILE from
# lab/interference-report.sh; the guest's CPU0 calls):
#   BENCH_DIR/caller-cost.json  "table": per scenario, policy and vCPU
#       count: calls, those that slept (not measured), the instructions per
#       call (mode, its share of the calls, the measured calls and those
#       within 2% of the mode, min, p50, max); "fit": per
#       scenario and policy, the least-squares line through the modes
#       against the vCPU count (instructions per added CPU, and at 0), and
#       its largest residual;
#   BENCH_DIR/caller-cost.md    the table bench.md shows;
#   BENCH_DIR/bench-caller.png  instructions per call against vCPUs, a
#       line per policy, a panel per scenario.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

BENCH=${1:?usage: lab/caller-cost-summary.sh BENCH_DIR}
list=$BENCH/caller-runs
[ -s "$list" ] || qs_die "no caller-cost runs listed in $list"
command -v gnuplot > /dev/null || qs_die "gnuplot is missing: apt-get install gnuplot-nox"

# The policies' order: lab/bench.sh's.
ORDER=$(jq -cn --arg p "$QS_LAB_POLICIES" '$p | split(",")')

while read -r name vcpus file; do
	jq --arg name "$name" --argjson vcpus "$vcpus" \
		'[.[] | select(.cpu == 0) | {run: $name, vcpus: $vcpus, scenario, policy,
			guest_calls: .caller_syncs, calls: .caller.calls, slept: .caller.slept,
			unended: .caller.unended, mode: .caller.insns.mode,
			mode_share: (if (.caller.insns.n // 0) > 0 then (.caller.insns.mode_n / .caller.insns.n * 100 | round / 100) else null end),
			measured: .caller.insns.n, near: .caller.insns.near_n,
			min: .caller.insns.min, p50: .caller.insns.p50, max: .caller.insns.max}]' "$file"
done < "$list" | jq -s --argjson order "$ORDER" '
	add as $t
	| {note: ("Instructions the calling CPU executes from the entry of the sync to its return, " +
		"leaving out the spin-wait loops (they count the host scheduling the CPUs waited for) and " +
		"interrupts taken meanwhile; a call that slept (synchronize_rcu*) is counted, not measured. " +
		"Cache misses on real many-core hardware are out of this measure'"'"'s reach."),
	   table: ($t | sort_by(.scenario, (.policy as $p | $order | index($p)), .vcpus)),
	   fit: [$t | map(select(.mode != null)) | group_by([.scenario, .policy])[] | select(length >= 2) |
		(length) as $n | (map(.vcpus) | add / $n) as $mx | (map(.mode) | add / $n) as $my |
		(map((.vcpus - $mx) * (.mode - $my)) | add) as $sxy | (map((.vcpus - $mx) * (.vcpus - $mx)) | add) as $sxx |
		(if $sxx > 0 then $sxy / $sxx else null end) as $slope |
		{scenario: .[0].scenario, policy: .[0].policy, vcpus: map(.vcpus),
		 per_added_cpu: (if $slope == null then null else ($slope * 10 | round / 10) end),
		 at_0: (if $slope == null then null else (($my - $slope * $mx) | round) end),
		 largest_residual: (if $slope == null then null else
			(map(.mode - ($my + $slope * (.vcpus - $mx)) | fabs) | max * 10 | round / 10) end)}]
		| sort_by(.scenario, (.policy as $p | $order | index($p)))}' > "$BENCH/caller-cost.json.tmp"
mv "$BENCH/caller-cost.json.tmp" "$BENCH/caller-cost.json"

{
	echo "## What the sync costs its caller (TCG plugin)"
	echo
	jq -r .note "$BENCH/caller-cost.json"
	echo
	jq -r --argjson order "$ORDER" '
		([.table[].vcpus] | unique) as $v | .fit as $fit |
		.table | group_by(.scenario)[] |
		"### \(.[0].scenario): instructions per call (the most common count)\n",
		"| policy | \($v | map("\(.) vCPUs") | join(" | ")) | per added CPU |",
		"|---|\($v | map("---|") | join(""))---|",
		(group_by(.policy) | sort_by(.[0].policy as $p | $order | index($p))[] |
			(map({key: "\(.vcpus)", value: .}) | from_entries) as $r | .[0] as $x |
			([$fit[] | select(.scenario == $x.scenario and .policy == $x.policy)][0]) as $f |
			"| \($x.policy) | \($v | map($r["\(.)"] | if . == null then "-" elif .mode != null then "\(.mode)" elif .slept > 0 and .slept == .calls then "slept (\(.slept) of \(.calls))" else "- (\(.calls) calls, \(.slept) slept, \(.unended) unended)" end) | join(" | ")) | \($f.per_added_cpu // "-") |"),
		""' "$BENCH/caller-cost.json"
} > "$BENCH/caller-cost.md"

# The plot: a data block per scenario and policy (gnuplot's index).
plot=""
for scenario in collapse hugetlb-unshare; do
	for policy in ${QS_LAB_POLICIES//,/ }; do
		jq -r --arg s "$scenario" --arg p "$policy" \
			'.table[] | select(.scenario == $s and .policy == $p and .mode != null) | "\(.vcpus) \(.mode)"' \
			"$BENCH/caller-cost.json" > "$BENCH/caller-$scenario-$policy.dat"
		if [ -s "$BENCH/caller-$scenario-$policy.dat" ]; then
			plot+="${scenario}|${policy}|$BENCH/caller-$scenario-$policy.dat"$'\n'
		fi
	done
done
{
	echo 'set terminal pngcairo size 1100,460 font ",10" noenhanced'
	echo "set output \"$BENCH/bench-caller.png\""
	echo 'set multiplot layout 1,2 title "Instructions the caller spends in one sync (TCG plugin; wait loops and interrupts left out)"'
	echo 'set xlabel "vCPUs"'
	echo 'set ylabel "instructions per call"'
	echo 'set grid'
	echo 'set key top left'
	echo "set xtics ($(jq -r '[.table[].vcpus] | unique | join(", ")' "$BENCH/caller-cost.json"))"
	for scenario in collapse hugetlb-unshare; do
		echo "set title \"$scenario\""
		printf 'plot '
		# A policy keeps its colour in both panels: its place in ORDER.
		awk -F'|' -v s="$scenario" -v order="${QS_LAB_POLICIES//,/ }" '
			BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) lt[o[i]] = i }
			$1 == s { printf "%s\"%s\" using 1:2 with linespoints lt %d title \"%s\"", k++ ? ", " : "", $3, lt[$2], $2 }
			END { print "" }' <<< "$plot"
	done
	echo 'unset multiplot'
} | gnuplot
qs_log "bench: $BENCH/caller-cost.json, caller-cost.md, bench-caller.png"
