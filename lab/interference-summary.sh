#!/usr/bin/env bash
# make bench's interference figures (docs/interference.md) from the plugin
# boots lab/bench.sh listed in BENCH_DIR/interference-runs ("NAME LAYOUT
# FILE", FILE from lab/interference-report.sh):
#   BENCH_DIR/interference.json  every run's rows; "table": per run,
#       scenario, policy and isolated CPU role: interruptions and sync IPIs
#       per 1,000 operations, kernel instructions per operation, the
#       median, p99 and longest stretch; "determinism": interference-1
#       against interference-2, row by row, and the largest relative
#       difference where timing cannot matter (broadcast and stock on the
#       idle and other-process CPUs: their sync IPIs, and the shortest sync
#       interruption);
#   BENCH_DIR/interference.md    the tables bench.md leads with;
#   BENCH_DIR/bench-interference.png  kernel instructions per operation on
#       each isolated CPU, per policy, log scale (collapse, nohz_full).
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

BENCH=${1:?usage: lab/interference-summary.sh BENCH_DIR}
list=$BENCH/interference-runs
[ -s "$list" ] || qs_die "no plugin runs listed in $list"
command -v gnuplot > /dev/null || qs_die "gnuplot is missing: apt-get install gnuplot-nox"

# The tables' and the plot's order of policies: lab/bench.sh's, then stock.
ORDER='["broadcast", "mm", "kernel-state", "rcu-exp", "rcu", "quiet", "flush-ipi", "quiet-flush", "stock"]'

# {NAME: {layout, rows}} from the list.
runs_json() {
	local name layout file
	while read -r name layout file; do
		jq --arg name "$name" --arg layout "$layout" '{($name): {layout: $layout, rows: .}}' "$file"
	done < "$list" | jq -s 'add'
}

runs_json | jq '
	def per1k($n; $ops): if $ops > 0 then ($n * 1000 / $ops | round) else null end;
	def row($run): {run: $run, scenario, policy, role,
		interruptions_per_1k: per1k(.interruptions; .ops),
		sync_interruptions_per_1k: per1k(.interruptions_by.sync; .ops),
		sync_ipis_per_1k: per1k(.sync_ipis; .ops),
		kernel_insns_per_op: (if .ops > 0 then (.kernel_insns / .ops | round) else null end),
		median_insns: .stretch_insns.all.p50, p99_insns: .stretch_insns.all.p99,
		longest_insns: .longest};
	def steady: (.policy == "broadcast" or .policy == "stock") and
		(.role == "idle" or .role == "other-process");
	. as $runs
	| {ops: ([.[].rows[0].ops] | max),
	   runs: $runs,
	   table: [to_entries[] | .key as $k | .value.rows[] | select(.cpu > 0) | row($k)],
	   determinism: (if .["interference-1"] and .["interference-2"] then
		# Run 2 joined to run 1 by scenario, policy and CPU, not by position.
		(.["interference-2"].rows | map({key: "\(.scenario)/\(.policy)/\(.cpu)", value: .}) | from_entries) as $two
		| [.["interference-1"].rows[] | select(.cpu > 0) | [., $two["\(.scenario)/\(.policy)/\(.cpu)"]] | {
			row: "\(.[0].scenario)/\(.[0].policy)/\(.[0].role)", steady: (.[0] | steady),
			sync_ipis: [.[].sync_calls?], interruptions: [.[].interruptions?],
			kernel_insns: [.[].kernel_insns?], median_sync_insns: [.[].stretch_insns.sync.p50?],
			min_sync_insns: [.[].stretch_insns.sync.min?]}]
		| {rows: ., largest_steady_difference: ([.[] | select(.steady) |
			(if (.sync_ipis | map(type) | unique) != ["number"] then 1
			 else ((.sync_ipis[0] - .sync_ipis[1]) | fabs) / ([.sync_ipis[], 1] | max) end),
			(if .min_sync_insns == [null, null] then 0
			 elif (.min_sync_insns | any(. == null)) then 1 else
			 ((.min_sync_insns[0] - .min_sync_insns[1]) | fabs) / ([.min_sync_insns[], 1] | max) end)]
			| max)}
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
		"### \(.[0].run), \(.[0].scenario)\n",
		"| policy | idle: interruptions /1k | idle: kernel insns /op | other process: /1k | insns /op | same mm: /1k | insns /op | longest stretch (insns) |",
		"|---|---|---|---|---|---|---|---|",
		(group_by(.policy) | sort_by(.[0].policy as $p | $order | index($p))[] |
			(map({key: .role, value: .}) | from_entries) as $r |
			"| \(.[0].policy) | \($r.idle.interruptions_per_1k // "-") | \($r.idle.kernel_insns_per_op // "-") | \($r["other-process"].interruptions_per_1k // "-") | \($r["other-process"].kernel_insns_per_op // "-") | \($r["same-mm"].interruptions_per_1k // "-") | \($r["same-mm"].kernel_insns_per_op // "-") | \([.[].longest_insns] | max) |"),
		""' "$BENCH/interference.json"
	jq -r 'if .determinism.largest_steady_difference then "Determinism (interference-1 against interference-2): where timing cannot matter (broadcast and stock, idle and other-process CPUs) the sync IPIs and the shortest sync interruption differ by at most \(.determinism.largest_steady_difference * 10000 | round / 100)%; the idle CPU'"'"'s shortest sync interruption is \([.determinism.rows[] | select(.steady and (.row | test("/idle$"))) | .min_sync_insns[]] | unique | map(tostring) | join(", ")) instructions, its median \([.determinism.rows[] | select(.steady and (.row | test("/idle$"))) | .median_sync_insns[]] | unique | map(tostring) | join(", ")) (medians move with the host'"'"'s timing)." else empty end' "$BENCH/interference.json"
	echo
} > "$BENCH/interference.md"

# The plot: collapse, nohz_full, interference-1 and the stock run.
jq -r --argjson order "$ORDER" '.table | map(select(.scenario == "collapse" and (.run == "interference-1" or .run == "interference-stock")))
	| group_by(.policy) | sort_by(.[0].policy as $p | $order | index($p))[]
	| (map({key: .role, value: .kernel_insns_per_op}) | from_entries) as $r
	| "\(.[0].policy) \([$r.idle, $r["other-process"], $r["same-mm"]] | map(if . == null or . < 1 then 1 else . end) | join(" "))"' \
	"$BENCH/interference.json" > "$BENCH/interference.dat"
gnuplot <<-GNUPLOT
	set terminal pngcairo size 1000,480 font ",10" noenhanced
	set output "$BENCH/bench-interference.png"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set logscale y
	set yrange [1:*]
	set grid ytics
	set key above horizontal
	set xtics rotate by -30
	set title "Kernel instructions stolen per collapse on each isolated CPU (TCG plugin; 1 = none)"
	set ylabel "kernel instructions per operation (log)"
	plot "$BENCH/interference.dat" using 2:xtic(1) title "idle", "" using 3 title "other process", \
	     "" using 4 title "same mm"
GNUPLOT
qs_log "bench: $BENCH/interference.json, interference.md, bench-interference.png"
