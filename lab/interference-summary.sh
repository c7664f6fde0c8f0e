#!/usr/bin/env bash
# make bench's interference figures (docs/interference.md) from the plugin
# boots lab/bench.sh listed in BENCH_DIR/interference-runs ("NAME LAYOUT
# FILE ARCH", FILE from lab/interference-report.sh; ARCH x86_64 if absent):
#   BENCH_DIR/interference.json  every run's rows; "table": per run (its
#       arch and layout), scenario, policy and isolated CPU role: interruptions and sync IPIs
#       per 1,000 operations, kernel instructions per operation, the
#       median, p99 and longest stretch; "determinism": interference-1
#       against interference-2, row by row, and the largest relative
#       difference where timing cannot matter (broadcast and stock on the
#       idle and other-process CPUs: their sync IPIs, and the shortest sync
#       interruption);
#   BENCH_DIR/interference.md    the tables bench.md leads with;
#   BENCH_DIR/bench-interference.png  kernel instructions per operation on
#       each isolated CPU, per policy, log scale (collapse, nohz_full): a
#       panel for x86_64 (the stock kernel's beside), one for arm64 if run.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

BENCH=${1:?usage: lab/interference-summary.sh BENCH_DIR}
list=$BENCH/interference-runs
[ -s "$list" ] || qs_die "no plugin runs listed in $list"
command -v gnuplot > /dev/null || qs_die "gnuplot is missing: apt-get install gnuplot-nox"

# The tables' and the plot's order of policies: lab/bench.sh's, then stock.
ORDER=$(jq -cn --arg p "$QS_LAB_POLICIES,stock" '$p | split(",")')

# {NAME: {arch, layout, rows}} from the list.
runs_json() {
	local name layout file arch
	while read -r name layout file arch; do
		jq --arg name "$name" --arg layout "$layout" --arg arch "${arch:-x86_64}" \
			'{($name): {arch: $arch, layout: $layout, rows: .}}' "$file"
	done < "$list" | jq -s 'add'
}

runs_json | jq -L "$QS_ROOT/lab" '
	include "interference-join";
	def per1k($n; $ops): if $ops > 0 then ($n * 1000 / $ops | round) else null end;
	def row($run; $arch; $layout): {run: $run, arch: $arch, layout: $layout, scenario, policy, role,
		interruptions_per_1k: per1k(.interruptions; .ops),
		sync_interruptions_per_1k: per1k(.interruptions_by.sync; .ops),
		sync_ipis_per_1k: per1k(.sync_ipis; .ops),
		kernel_insns_per_op: (if .ops > 0 then (.kernel_insns / .ops | round) else null end),
		median_insns: .stretch_insns.all.p50, p99_insns: .stretch_insns.all.p99,
		longest_insns: .longest};
	. as $runs
	| {ops: ([.[].rows[0].ops] | max),
	   runs: $runs,
	   table: [to_entries[] | .key as $k | .value.arch as $a | .value.layout as $l |
		.value.rows[] | select(.cpu > 0) | row($k; $a; $l)],
	   determinism: (if .["interference-1"] and .["interference-2"] then
		.["interference-2"].rows as $two | (.["interference-1"].rows | join_runs($two)) as $rows
		| {rows: $rows, largest_steady_difference: ([$rows[] | select(.steady) | .sync_difference, .min_difference] | max)}
		else null end)}' > "$BENCH/interference.json.tmp"
mv "$BENCH/interference.json.tmp" "$BENCH/interference.json"

# The markdown tables: per run and scenario, a policy a line, each isolated
# CPU's interruptions per 1,000 operations and kernel instructions per
# operation.
{
	echo "## What the IPIs steal from the isolated CPUs, counted exactly (TCG plugin)"
	echo
	echo "Kernel instructions each isolated CPU executed, and the interruptions (kernel stretches"
	echo "begun from user space or idle) they came in, per $(jq -r .ops "$BENCH/interference.json") operations' window,"
	echo "counted by the emulator (docs/interference.md). Counts of instructions do not depend on the"
	echo "host's speed; whether a timing-dependent event (a tick, two IPIs in one stretch) happens does."
	echo
	jq -r --argjson order "$ORDER" '.table | group_by([.run, .scenario])[] |
		"### \(.[0].run) (\(.[0].arch), \(.[0].layout)), \(.[0].scenario)\n",
		"| policy | idle: interruptions /1k | idle: kernel insns /op | other process: /1k | insns /op | same mm: /1k | insns /op | longest stretch (insns) |",
		"|---|---|---|---|---|---|---|---|",
		(group_by(.policy) | sort_by(.[0].policy as $p | $order | index($p))[] |
			(map({key: .role, value: .}) | from_entries) as $r |
			"| \(.[0].policy) | \($r.idle.interruptions_per_1k // "-") | \($r.idle.kernel_insns_per_op // "-") | \($r["other-process"].interruptions_per_1k // "-") | \($r["other-process"].kernel_insns_per_op // "-") | \($r["same-mm"].interruptions_per_1k // "-") | \($r["same-mm"].kernel_insns_per_op // "-") | \([.[].longest_insns] | max) |"),
		""' "$BENCH/interference.json"
	jq -r 'if .determinism.largest_steady_difference then "Determinism (interference-1 against interference-2): where timing cannot matter (broadcast and stock, idle and other-process CPUs) the sync IPIs and the shortest sync interruption differ by at most \(.determinism.largest_steady_difference * 10000 | round / 100)%; the idle CPU'"'"'s shortest sync interruption is \([.determinism.rows[] | select(.steady and .role == "idle") | .min_sync_insns[]] | unique | map(tostring) | join(", ")) instructions, its median \([.determinism.rows[] | select(.steady and .role == "idle") | .median_sync_insns[]] | unique | map(tostring) | join(", ")) (medians move with the host'"'"'s timing)." else empty end' "$BENCH/interference.json"
	echo
} > "$BENCH/interference.md"

# The plot: collapse, nohz_full; x86_64's interference-1 and the stock
# run, and arm64's run in a panel of its own if there is one.
plot_data() {
	jq -r --argjson order "$ORDER" --arg runs "$1" '($runs | split(" ")) as $runs |
		.table | map(select(.scenario == "collapse" and (.run as $r | $runs | index($r))))
		| group_by(.policy) | sort_by(.[0].policy as $p | $order | index($p))[]
		| (map({key: .role, value: .kernel_insns_per_op}) | from_entries) as $r
		| "\(.[0].policy) \([$r.idle, $r["other-process"], $r["same-mm"]] | map(if . == null or . < 1 then 1 else . end) | join(" "))"' \
		"$BENCH/interference.json"
}
plot_data "interference-1 interference-stock" > "$BENCH/interference.dat"
plot_data interference-arm64 > "$BENCH/interference-arm64.dat"
panels=1
[ ! -s "$BENCH/interference-arm64.dat" ] || panels=2
{
	echo "set terminal pngcairo size $((panels * 800 + 200)),480 font \",10\" noenhanced"
	echo "set output \"$BENCH/bench-interference.png\""
	echo 'set style data histograms'
	echo 'set style histogram clustered gap 1'
	echo 'set style fill solid 0.8 border -1'
	echo 'set logscale y'
	echo 'set yrange [1:*]'
	echo 'set grid ytics'
	echo 'set key below horizontal'
	echo 'set xtics rotate by -30'
	echo 'set ylabel "kernel instructions per operation (log)"'
	echo "set multiplot layout 1,$panels title \"Kernel instructions stolen per collapse on each isolated CPU, every handler, ticks included (TCG plugin; 1 = none)\""
	for panel in x86_64:interference arm64:interference-arm64; do
		# x86_64 always (no data is gnuplot's error); arm64 if it ran.
		[ "${panel%%:*}" = x86_64 ] || [ -s "$BENCH/${panel#*:}.dat" ] || continue
		echo "set title \"${panel%%:*}\""
		echo "plot \"$BENCH/${panel#*:}.dat\" using 2:xtic(1) title \"idle\", \"\" using 3 title \"other process\", \"\" using 4 title \"same mm\""
	done
	echo 'unset multiplot'
} | gnuplot
qs_log "bench: $BENCH/interference.json, interference.md, bench-interference.png"
