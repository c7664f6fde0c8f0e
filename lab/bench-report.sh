#!/usr/bin/env bash
# Turn the bench runs listed in BENCH_DIR/runs (lab/bench.sh) into
# BENCH_DIR/bench.json, BENCH_DIR/bench.md (the table and the figures the
# issue asks for, each marked met or not) and three PNG plots:
# bench-ipis.png, bench-scaling.png, bench-oslat.png.
#
# Usage: lab/bench-report.sh BENCH_DIR
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

# Every run's metric lines, each prefixed with "run=NAME vcpus=N".
tagged_metrics() {
	local run name
	while IFS= read -r run; do
		name=$(basename "$run")
		name=${name#"$QS_ARCH"-}
		qs_metrics "$run/ktap.log" |
			sed "s/^/run=$name vcpus=$(sed -n 's/^vcpus=//p' "$run/run.env") /"
	done < "$BENCH/runs"
}

# Flatten the runs into "key value" facts the other steps read:
#   P KEY VALUE            per policy (P) of the main run, the median over
#                          its rounds; "stock" for the stock run
#   P KEY.min / KEY.max    the spread of those rounds, KEY.rounds the
#                          values in round order, comma-separated
#   scaling V P KEY VALUE  per CPU count and policy (one round)
# A round is one pass over every policy (guest/init, suite bench): the
# k-th window of a policy is its round k.
facts() {
	tagged_metrics | awk "$QS_AWK_VAL"'
	function main_run() { return val("run") == "bench-policies" || val("run") == "bench-stock" }
	function record(p, k, v) {
		if (!((p, k) in cnt)) keys[++nkeys] = p SUBSEP k
		vals[p, k, ++cnt[p, k]] = v + 0
	}
	function fmt(v) { return v == int(v) ? sprintf("%d", v) : sprintf("%.3f", v) }
	val("run") ~ /^bench-scaling-/ && val("ops") != "" {
		k = val("vcpus") " " val("policy"); ops[k] = val("ops")
		print "scaling", val("vcpus"), val("policy"), "median_ns", val("sync_p50_ns")
	}
	val("run") ~ /^bench-scaling-/ && val("cpu") != "" {
		k = val("vcpus") " " val("policy"); total[k] += val("sync_ipis")
	}
	main_run() && val("ops") != "" && val("scenario") == "collapse" {
		p = val("policy"); n[p] = val("ops"); round[p]++
		record(p, "ops", n[p])
		record(p, "per_s", val("per_second"))
		if (val("syncs") >= 0 && val("syncs") != "") {
			record(p, "median_ns", val("sync_p50_ns"))
			record(p, "p99_ns", val("sync_p99_ns"))
			record(p, "max_ns", val("sync_max_ns"))
		}
	}
	main_run() && val("cpu") != "" && val("scenario") == "collapse" {
		p = val("policy"); r = val("role"); per1k = val("sync_ipis") * 1000 / n[p]
		if (r != "housekeeping") record(p, r, per1k)
		sum[p, round[p]] += per1k
	}
	main_run() && val("bench") == "oslat" {
		record(val("policy"), "oslat_max_us", val("max_us"))
		record(val("policy"), "oslat_gaps", val("gaps_over_10us"))
		record(val("policy"), "oslat_sync_ipis", val("sync_ipis"))
	}
	# The fastest run of a round: noise only adds time (guest/bench_policy.c).
	main_run() && val("bench") == "gup" {
		p = val("policy"); gup[p, ++gups[p]] = val("get_us_min")
		record(p, "gup_us", val("get_us_min"))
		record(p, "gup_us_median", val("get_us_median"))
	}
	END {
		for (p in round) {
			print p, "rounds", round[p]
			for (i = 1; i <= round[p]; i++) record(p, "total", sum[p, i])
		}
		# GUP-fast against broadcast, round by round.
		for (p in gups)
			for (i = 1; i <= gups[p]; i++)
				if (gup[p, i] > 0 && (("broadcast", i) in gup))
					record(p, "gup_ratio", gup["broadcast", i] / gup[p, i])
		for (k = 1; k <= nkeys; k++) {
			split(keys[k], pk, SUBSEP); p = pk[1]; key = pk[2]; c = cnt[p, key]
			for (i = 1; i <= c; i++) v[i] = vals[p, key, i]
			list = ""
			for (i = 1; i <= c; i++) list = list (i > 1 ? "," : "") fmt(v[i])
			# insertion sort, then the median
			for (i = 2; i <= c; i++) { x = v[i]; j = i - 1; while (j > 0 && v[j] > x) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
			med = (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
			print p, key, fmt(med)
			print p, key ".min", fmt(v[1])
			print p, key ".max", fmt(v[c])
			print p, key ".rounds", list
		}
		for (k in ops) { split(k, kv, " "); print "scaling", kv[1], kv[2], "ipis_per_sync", total[k] / ops[k] }
	}'
}

# The CPU counts of the scaling runs, ascending, one per line.
scaling_vcpus() {
	awk '$1 == "scaling" { print $2 }' "$BENCH/facts" | sort -nu
}

# fact KEY...: the value, or "null".
fact() {
	awk -v k="$*" '{ key = $1; for (i = 2; i < NF; i++) key = key " " $i }
		key == k { v = $NF } END { print (v == "" ? "null" : v) }' "$BENCH/facts"
}

# bench.json from the facts: per policy each figure's median over the
# rounds, with its spread (min, max, the rounds' values) under "spread".
write_json() {
	jq -n --arg kernel "$KERNEL" --arg accel "$ACCEL" \
		--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg policies "$POLICIES" \
		--slurpfile interference <(cat "$BENCH/interference.json" 2> /dev/null || echo null) \
		--slurpfile caller <(cat "$BENCH/caller-cost.json" 2> /dev/null || echo null) \
		--rawfile facts "$BENCH/facts" '
	($facts | split("\n") | map(select(length > 0) | split(" "))) as $rows
	| ($rows | map(select(.[0] != "scaling") | {key: (.[0] + " " + .[1]), value: .[2]})
	   | from_entries) as $f
	| def fact($p; $k): $f[$p + " " + $k] | if . == null then null else tonumber end;
	  def spread($p; $k): {median: fact($p; $k), min: fact($p; $k + ".min"),
		max: fact($p; $k + ".max"),
		rounds: ($f[$p + " " + $k + ".rounds"] // "" | split(",") | map(select(. != "") | tonumber))};
	  def ratio: if . == null then null else (. * 1000 | round / 1000) end;
	  def policy($p): {
		rounds: fact($p; "rounds"),
		isolated_sync_ipis_per_1k: fact($p; "other-process"),
		same_mm_sync_ipis_per_1k: fact($p; "same-mm"),
		idle_sync_ipis_per_1k: fact($p; "idle"),
		total_sync_ipis_per_1k: fact($p; "total"),
		sync_ns: {median: fact($p; "median_ns"), p99: fact($p; "p99_ns"), max: fact($p; "max_ns")},
		collapse_per_s: fact($p; "per_s"),
		oslat: {max_us: fact($p; "oslat_max_us"), gaps_over_10us: fact($p; "oslat_gaps"),
			sync_ipis: fact($p; "oslat_sync_ipis")},
		gup_fast_ratio: (fact($p; "gup_ratio") | ratio),
		spread: {idle_sync_ipis_per_1k: spread($p; "idle"),
			other_process_sync_ipis_per_1k: spread($p; "other-process"),
			same_mm_sync_ipis_per_1k: spread($p; "same-mm"),
			sync_ns_median: spread($p; "median_ns"),
			collapse_per_s: spread($p; "per_s"),
			oslat_max_us: spread($p; "oslat_max_us"),
			oslat_gaps_over_10us: spread($p; "oslat_gaps"),
			gup_fast_ratio: spread($p; "gup_ratio")}};
	  ($policies | split(" ")) as $order
	| {kernel: $kernel, accel: $accel, date: $date,
	   interference: $interference[0],
	   caller_cost: $caller[0],
	   syncs: fact("broadcast"; "ops"), rounds: fact("broadcast"; "rounds"),
	   policies: ($order | map({key: ., value: policy(.)}) | from_entries),
	   stock: (if fact("stock"; "ops") == null then null else policy("stock") end),
	   scaling: ($rows | map(select(.[0] == "scaling"))
		| group_by([(.[1] | tonumber), .[2]])
		| map({vcpus: (.[0][1] | tonumber), policy: .[0][2],
			total_sync_ipis_per_sync: (map(select(.[3] == "ipis_per_sync"))[0][4] | tonumber),
			sync_ns_median: (map(select(.[3] == "median_ns"))[0][4] | tonumber)})
		| sort_by(.vcpus, (.policy as $p | $order | index($p))))}'
}

# met CONDITION-AS-AWK-EXPRESSION: "met" or "NOT met".
met() {
	awk "BEGIN { exit !($1) }" && echo met || echo "NOT met"
}

# range P KEY: "median (min-max)" of a figure over the rounds.
range() {
	echo "$(fact "$1" "$2") ($(fact "$1" "$2.min")-$(fact "$1" "$2.max"))"
}

# above P KEY Q: P's figure beats Q's (higher is better): the medians say
# so and the spreads do not overlap (P's lowest above Q's highest).
above() {
	met "$(fact "$1" "$2") > $(fact "$3" "$2") && $(fact "$1" "$2.min") > $(fact "$3" "$2.max")"
}

# below P KEY Q: the same where lower is better.
below() {
	met "$(fact "$1" "$2") < $(fact "$3" "$2") && $(fact "$1" "$2.max") < $(fact "$3" "$2.min")"
}

write_md() {
	local p q=quiet b=broadcast f=quiet-flush
	echo "# quietsync benchmark: $KERNEL, $ACCEL, $(date -u +%Y-%m-%d)"
	echo
	# The exact figures lead (lab/interference-summary.sh); the timed ones
	# below are TCG's, context with their caveat.
	if [ -s "$BENCH/interference.md" ]; then
		cat "$BENCH/interference.md"
		[ ! -s "$BENCH/caller-cost.md" ] || cat "$BENCH/caller-cost.md"
		echo "## Timed under TCG (context: host scheduling shows in every figure below)"
		echo
	fi
	echo "$(fact broadcast rounds) rounds; each round $(fact broadcast ops) collapses per policy on CPU0 of 4 vCPUs"
	echo "(CPU1 idle, CPU2 another process, CPU3 a thread of the collapsing process, both spinning"
	echo "in user space), then GUP-fast and oslat per policy, the policies' order rotated by one each"
	echo "round. Each figure is the median over the rounds, the range beside it the lowest and"
	echo "highest round; a comparison is met only when the medians say so and the ranges do not"
	echo "overlap. Under TCG absolute times are inflated; compare policies within one run."
	echo
	echo "| policy | idle /1k | other process /1k | same mm /1k | total /1k | sync median us | p99 us | max us | collapses/s | oslat max us | oslat gaps >10us | GUP-fast ratio |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for p in $POLICIES stock; do
		[ "$(fact "$p" ops)" = null ] && continue
		awk -v p="$p" -v i="$(fact "$p" idle)" -v o="$(fact "$p" other-process)" \
			-v s="$(fact "$p" same-mm)" -v t="$(fact "$p" total)" \
			-v m="$(fact "$p" median_ns)" -v p99="$(fact "$p" p99_ns)" -v mx="$(fact "$p" max_ns)" \
			-v r="$(fact "$p" per_s)" -v rl="$(fact "$p" per_s.min)" -v rh="$(fact "$p" per_s.max)" \
			-v om="$(fact "$p" oslat_max_us)" -v og="$(fact "$p" oslat_gaps)" \
			-v ogl="$(fact "$p" oslat_gaps.min)" -v ogh="$(fact "$p" oslat_gaps.max)" \
			-v g="$(fact "$p" gup_ratio)" '
			function us(x) { return x == "null" ? "-" : sprintf("%.1f", x / 1000) }
			function n(x) { return x == "null" ? "-" : x }
			function rng(x, l, h) { return x == "null" ? "-" : sprintf("%s (%s-%s)", x, l, h) }
			BEGIN { printf "| %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
				p, i, o, s, t, us(m), us(p99), us(mx), rng(r, rl, rh), n(om), rng(og, ogl, ogh), n(g) }'
	done
	echo
	echo "## Figures (issues 6 and 18)"
	echo
	echo "- quiet: idle CPU $(range $q idle) and other-process CPU $(range $q other-process) sync IPIs per 1,000, at most 10 in every round: $(met "$(fact $q idle.max) <= 10 && $(fact $q other-process.max) <= 10")"
	echo "- quiet: same-mm CPU $(range $q same-mm) per 1,000, fewer than mm's $(range mm same-mm): $(below $q same-mm mm)"
	echo "- quiet: median sync latency $(range $q median_ns) ns, lower than broadcast's $(range $b median_ns) ns: $(below $q median_ns $b)"
	echo "- quiet: $(range $q per_s) collapses/s, more than broadcast's $(range $b per_s): $(above $q per_s $b)"
	echo "- quiet: GUP-fast ratio $(range $q gup_ratio), at least 0.98 in every round: $(met "$(fact $q gup_ratio.min) >= 0.98")"
	echo "- quiet: $(range $q oslat_gaps) oslat gaps over 10 us, fewer than broadcast's $(range $b oslat_gaps): $(below $q oslat_gaps $b)"
	echo "- quiet-flush: same-mm CPU $(range $f same-mm), idle $(range $f idle), other-process $(range $f other-process) sync IPIs per 1,000, each at most 20 in every round: $(met "$(fact $f same-mm.max) <= 20 && $(fact $f idle.max) <= 20 && $(fact $f other-process.max) <= 20")"
	echo "- quiet-flush: same-mm CPU fewer than quiet's $(range $q same-mm): $(below $f same-mm $q)"
	echo "- quiet-flush: $(range $f per_s) collapses/s against flush-ipi's $(range flush-ipi per_s): $(above $f per_s flush-ipi) (higher), $(below $f per_s flush-ipi) (lower); neither met means no difference these rounds can show"
	echo "- flush-ipi: same-mm CPU $(range flush-ipi same-mm), idle $(range flush-ipi idle), other-process $(range flush-ipi other-process) sync IPIs per 1,000 (no sync after an IPI flush on x86; the broadcast elsewhere)"
	if [ "$(fact stock ops)" != null ]; then
		echo "- stock kernel agrees with broadcast (each isolated CPU within 2%): $(met "$(fact stock idle) >= 980 && $(fact stock other-process) >= 980 && $(fact stock same-mm) >= 980 && $(fact $b idle) >= 980")"
	fi
	echo
	echo "A figure not met is a result, not a failure: make bench records it; make check asserts"
	echo "only that every figure is there."
	echo
	echo "## Scaling: total sync IPIs per sync, median sync latency (us)"
	echo
	printf '| vCPUs |'
	for p in $POLICIES; do printf ' %s |' "$p"; done
	printf '\n|---|'
	for p in $POLICIES; do printf -- '---|'; done
	echo
	for v in $VCPUS; do
		printf '| %s |' "$v"
		for p in $POLICIES; do
			awk -v i="$(fact scaling "$v" "$p" ipis_per_sync)" -v m="$(fact scaling "$v" "$p" median_ns)" \
				'BEGIN { if (i == "null") printf " - |"; else printf " %.2f, %.1f |", i, m / 1000 }'
		done
		echo
	done
}

# The three plots, from small data files next to them.
write_pngs() {
	local p v k title="($KERNEL, $ACCEL)"
	# policy, then median, lowest and highest round of: idle, other
	# process, same mm, oslat max, oslat gaps
	for p in $POLICIES stock; do
		[ "$(fact "$p" ops)" = null ] && continue
		printf '%s' "$p"
		for k in idle other-process same-mm oslat_max_us oslat_gaps; do
			printf ' %s %s %s' "$(fact "$p" "$k")" "$(fact "$p" "$k.min")" "$(fact "$p" "$k.max")"
		done
		echo
	done | sed 's/null/0/g' > "$BENCH/policies.dat"
	for p in $POLICIES; do
		for v in $VCPUS; do
			echo "$v $(fact scaling "$v" "$p" median_ns) $(fact scaling "$v" "$p" ipis_per_sync)"
		done
		printf '\n\n'
	done > "$BENCH/scaling.dat"
	gnuplot <<-GNUPLOT
		set terminal pngcairo size 1000,480 font ",10" noenhanced
		set style data histograms
		set style histogram errorbars gap 1 lw 1
		set style fill solid 0.8 border -1
		set grid ytics
		set key above horizontal
		set yrange [0:*]
		set output "$BENCH/bench-ipis.png"
		set title "Sync IPIs per 1,000 collapses on each isolated CPU, median and range of the rounds $title"
		set ylabel "sync IPIs per 1,000 collapses"
		plot "$BENCH/policies.dat" using 2:3:4:xtic(1) title "idle", "" using 5:6:7 title "other process", \
		     "" using 8:9:10 title "same mm"
		set output "$BENCH/bench-oslat.png"
		set title "oslat on the isolated CPUs under a collapse storm $title"
		set ylabel "max latency (us)"
		set y2label "gaps over 10 us"
		set y2tics
		set y2range [0:*]
		set ytics nomirror
		set style histogram errorbars gap 3 lw 1
		plot "$BENCH/policies.dat" using 11:12:13:xtic(1) axes x1y1 title "max latency (us, left)", \
		     "" using 14:15:16 axes x1y2 title "gaps over 10 us (right)"
		unset y2tics
		unset y2label
		set ytics mirror
		set output "$BENCH/bench-scaling.png"
		set style data linespoints
		set logscale y
		set yrange [*:*]
		set xlabel "vCPUs (CPU0 collapses, CPU1 idle, the others another process in user space)"
		set ylabel "median sync latency (us)"
		set title "Sync latency against CPU count $title"
		set key top left
		plot for [i=0:$(($(echo "$POLICIES" | wc -w) - 1))] "$BENCH/scaling.dat" index i using 1:(\$2/1000) \
			title word("$POLICIES", i + 1)
	GNUPLOT
}

main() {
	BENCH=${1:-}
	if [ -z "$BENCH" ] || [ ! -s "$BENCH/runs" ]; then
		qs_die "usage: lab/bench-report.sh BENCH_DIR (with the runs of lab/bench.sh)"
	fi
	POLICIES="broadcast mm kernel-state rcu-exp rcu quiet flush-ipi quiet-flush"
	facts > "$BENCH/facts"
	VCPUS=$(scaling_vcpus | tr '\n' ' ')
	[ "$(fact broadcast ops)" != null ] || qs_die "no broadcast window in the runs of $BENCH/runs"
	KERNEL=$(tagged_metrics | awk "$QS_AWK_VAL"'val("run") == "bench-policies" && val("kernel") != "" && k == "" { k = val("kernel") } END { print k }')
	ACCEL=$(sed -n 's/^accel=//p' "$(head -n 1 "$BENCH/runs")/run.env")
	write_json > "$BENCH/bench.json.tmp"
	mv "$BENCH/bench.json.tmp" "$BENCH/bench.json"
	write_md > "$BENCH/bench.md"
	write_pngs
	cat "$BENCH/bench.md"
	qs_log "bench: $BENCH/bench.json, $BENCH/bench.md, $BENCH/bench-{ipis,scaling,oslat}.png"
}

main "$@"
