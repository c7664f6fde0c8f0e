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
#   P KEY VALUE            per policy (P) of the main run; "stock" for the stock run
#   scaling V P KEY VALUE  per CPU count and policy
facts() {
	tagged_metrics | awk "$QS_AWK_VAL"'
	function main_run() { return val("run") == "bench-policies" || val("run") == "bench-stock" }
	val("run") ~ /^bench-scaling-/ && val("ops") != "" {
		k = val("vcpus") " " val("policy"); ops[k] = val("ops")
		print "scaling", val("vcpus"), val("policy"), "median_ns", val("sync_p50_ns")
	}
	val("run") ~ /^bench-scaling-/ && val("cpu") != "" {
		k = val("vcpus") " " val("policy"); total[k] += val("sync_ipis")
	}
	main_run() && val("ops") != "" && val("scenario") == "collapse" {
		p = val("policy"); n[p] = val("ops")
		print p, "ops", n[p]
		print p, "per_s", val("per_second")
		if (val("syncs") >= 0 && val("syncs") != "") {
			print p, "median_ns", val("sync_p50_ns")
			print p, "p99_ns", val("sync_p99_ns")
			print p, "max_ns", val("sync_max_ns")
		}
	}
	main_run() && val("cpu") != "" && val("scenario") == "collapse" {
		p = val("policy"); r = val("role"); per1k = val("sync_ipis") * 1000 / n[p]
		if (r != "housekeeping") print p, r, per1k
		sum[p] += per1k
	}
	main_run() && val("bench") == "oslat" {
		print val("policy"), "oslat_max_us", val("max_us")
		print val("policy"), "oslat_gaps", val("gaps_over_10us")
		print val("policy"), "oslat_sync_ipis", val("sync_ipis")
	}
	# The fastest run: noise only adds time (guest/bench_policy.c).
	main_run() && val("bench") == "gup" {
		print val("policy"), "gup_us", val("get_us_min")
		print val("policy"), "gup_us_median", val("get_us_median")
	}
	END {
		for (p in sum) print p, "total", sum[p]
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

policy_json() {
	local p=$1 gup base ratio=null
	gup=$(fact "$p" gup_us)
	base=$(fact broadcast gup_us)
	if [ "$gup" != null ] && [ "$base" != null ] && [ "$gup" -gt 0 ]; then
		ratio=$(awk -v a="$base" -v b="$gup" 'BEGIN { printf "%.3f", a / b }')
	fi
	printf '{"isolated_sync_ipis_per_1k": %s, "same_mm_sync_ipis_per_1k": %s, "idle_sync_ipis_per_1k": %s, "total_sync_ipis_per_1k": %s, "sync_ns": {"median": %s, "p99": %s, "max": %s}, "collapse_per_s": %s, "oslat": {"max_us": %s, "gaps_over_10us": %s, "sync_ipis": %s}, "gup_fast_ratio": %s}' \
		"$(fact "$p" other-process)" "$(fact "$p" same-mm)" "$(fact "$p" idle)" \
		"$(fact "$p" total)" "$(fact "$p" median_ns)" "$(fact "$p" p99_ns)" \
		"$(fact "$p" max_ns)" "$(fact "$p" per_s)" "$(fact "$p" oslat_max_us)" \
		"$(fact "$p" oslat_gaps)" "$(fact "$p" oslat_sync_ipis)" "$ratio"
}

write_json() {
	local p first=1 v stock
	printf '{"kernel": "%s", "accel": "%s", "date": "%s", "syncs": %s,\n "policies": {' \
		"$KERNEL" "$ACCEL" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(fact broadcast ops)"
	for p in $POLICIES; do
		[ "$first" ] || printf ','
		first=
		printf '\n  "%s": %s' "$p" "$(policy_json "$p")"
	done
	stock=null
	[ "$(fact stock ops)" = null ] || stock=$(policy_json stock)
	printf '},\n "stock": %s,\n "scaling": [' "$stock"
	first=1
	for v in $VCPUS; do
		for p in $POLICIES; do
			[ "$(fact scaling "$v" "$p" median_ns)" = null ] && continue
			[ "$first" ] || printf ','
			first=
			printf '\n  {"vcpus": %s, "policy": "%s", "total_sync_ipis_per_sync": %s, "sync_ns_median": %s}' \
				"$v" "$p" "$(fact scaling "$v" "$p" ipis_per_sync)" "$(fact scaling "$v" "$p" median_ns)"
		done
	done
	printf ']}\n'
}

# met CONDITION-AS-AWK-EXPRESSION: "met" or "NOT met".
met() {
	awk "BEGIN { exit !($1) }" && echo met || echo "NOT met"
}

write_md() {
	local p q=quiet b=broadcast
	echo "# quietsync benchmark: $KERNEL, $ACCEL, $(date -u +%Y-%m-%d)"
	echo
	echo "$(fact broadcast ops) collapses per policy on CPU0 of 4 vCPUs (CPU1 idle, CPU2 another"
	echo "process, CPU3 a thread of the collapsing process, both spinning in user space)."
	echo "Under TCG absolute times are inflated; compare policies within one run."
	echo
	echo "| policy | idle /1k | other process /1k | same mm /1k | total /1k | sync median us | p99 us | max us | collapses/s | oslat max us | oslat gaps >10us | GUP-fast ratio |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for p in $POLICIES stock; do
		[ "$(fact "$p" ops)" = null ] && continue
		awk -v p="$p" -v i="$(fact "$p" idle)" -v o="$(fact "$p" other-process)" \
			-v s="$(fact "$p" same-mm)" -v t="$(fact "$p" total)" \
			-v m="$(fact "$p" median_ns)" -v p99="$(fact "$p" p99_ns)" -v mx="$(fact "$p" max_ns)" \
			-v r="$(fact "$p" per_s)" -v om="$(fact "$p" oslat_max_us)" \
			-v og="$(fact "$p" oslat_gaps)" -v g="$(policy_json "$p" | sed 's/.*"gup_fast_ratio": //; s/}$//')" '
			function us(x) { return x == "null" ? "-" : sprintf("%.1f", x / 1000) }
			function n(x) { return x == "null" ? "-" : x }
			BEGIN { printf "| %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
				p, i, o, s, t, us(m), us(p99), us(mx), n(r), n(om), n(og), n(g) }'
	done
	echo
	echo "## Figures (issue 6)"
	echo
	echo "- quiet: idle CPU $(fact $q idle) and other-process CPU $(fact $q other-process) sync IPIs per 1,000, at most 10: $(met "$(fact $q idle) <= 10 && $(fact $q other-process) <= 10")"
	echo "- quiet: same-mm CPU $(fact $q same-mm) per 1,000, fewer than mm's $(fact mm same-mm): $(met "$(fact $q same-mm) < $(fact mm same-mm)")"
	echo "- quiet: median sync latency $(fact $q median_ns) ns, no higher than broadcast's $(fact $b median_ns) ns: $(met "$(fact $q median_ns) <= $(fact $b median_ns)")"
	echo "- quiet: $(fact $q per_s) collapses/s, at least broadcast's $(fact $b per_s): $(met "$(fact $q per_s) >= $(fact $b per_s)")"
	echo "- quiet: GUP-fast ratio $(policy_json $q | sed 's/.*"gup_fast_ratio": //; s/}$//'), at least 0.98: $(met "$(policy_json $q | sed 's/.*"gup_fast_ratio": //; s/}$//') >= 0.98")"
	echo "- quiet: $(fact $q oslat_gaps) oslat gaps over 10 us, fewer than broadcast's $(fact $b oslat_gaps): $(met "$(fact $q oslat_gaps) < $(fact $b oslat_gaps)")"
	if [ "$(fact stock ops)" != null ]; then
		echo "- stock kernel agrees with broadcast (each isolated CPU within 2%): $(met "$(fact stock idle) >= 980 && $(fact stock other-process) >= 980 && $(fact stock same-mm) >= 980 && $(fact $b idle) >= 980")"
	fi
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
	local p v title="($KERNEL, $ACCEL)"
	for p in $POLICIES stock; do
		[ "$(fact "$p" ops)" = null ] && continue
		echo "$p $(fact "$p" idle) $(fact "$p" other-process) $(fact "$p" same-mm) $(fact "$p" oslat_max_us) $(fact "$p" oslat_gaps)"
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
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set grid ytics
		set key above horizontal
		set yrange [0:*]
		set output "$BENCH/bench-ipis.png"
		set title "Sync IPIs per 1,000 collapses on each isolated CPU $title"
		set ylabel "sync IPIs per 1,000 collapses"
		plot "$BENCH/policies.dat" using 2:xtic(1) title "idle", "" using 3 title "other process", "" using 4 title "same mm"
		set output "$BENCH/bench-oslat.png"
		set title "oslat on the isolated CPUs under a collapse storm $title"
		set ylabel "max latency (us)"
		set y2label "gaps over 10 us"
		set y2tics
		set y2range [0:*]
		set ytics nomirror
		set style histogram clustered gap 3
		plot "$BENCH/policies.dat" using 5:xtic(1) axes x1y1 title "max latency (us, left)", \
		     "" using 6 axes x1y2 title "gaps over 10 us (right)"
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
	POLICIES="broadcast mm kernel-state rcu-exp rcu quiet"
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
