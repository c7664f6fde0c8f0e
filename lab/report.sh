#!/usr/bin/env bash
# Turn an IPI-scenario run (build/runs/ARCH-SUITE) into the demo report: a
# table per scenario on stdout, build/report/NAME.json and a PNG per
# scenario (NAME.png for collapse, NAME-SCENARIO.png for the others).
#
# NAME.json keeps its first readers' shape: the top-level "collapses" and
# "policies" are the collapse scenario; "scenarios" holds every scenario
# (collapse, hugetlb-unshare) with "operations" and per-policy figures.
#
# Usage: lab/report.sh RUN_DIR [NAME]     (NAME defaults to "demo")
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

run_value() {
	sed -n "s/^$1=//p" "$RUN_DIR/run.env"
}

metrics() {
	qs_metrics "$RUN_DIR/ktap.log"
}

# Only the metric lines of scenario $1.
scenario_metrics() {
	metrics | awk -v s="$1" "$QS_AWK_VAL"'val("scenario") == s'
}

scenarios_in_run() {
	metrics | awk "$QS_AWK_VAL"'val("scenario") != "" && !seen[val("scenario")]++ { print val("scenario") }'
}

write_json() {
	metrics | awk -v accel="$(run_value accel)" -v vcpus="$(run_value vcpus)" "$QS_AWK_VAL"'
	val("kernel") != "" { kernel = val("kernel"); sub(/[^0-9.].*$/, "", kernel) }
	val("ops") != "" {
		s = val("scenario"); p = val("policy"); k = s SUBSEP p
		if (!(s in sseen)) { sorder[++nsc] = s; sseen[s] = 1 }
		if (!(k in seen)) { order[s, ++npol[s]] = p; seen[k] = 1 }
		ops[k] = val("ops"); rate[k] = val("per_second")
		lat[k] = ""
		if (val("syncs") != "" && val("syncs") >= 0)
			lat[k] = sprintf(", \"syncs\": %d, \"sync_latency_ns\": {\"p50\": %d, \"p99\": %d, \"max\": %d, \"mean\": %d}",
				val("syncs"), val("sync_p50_ns"), val("sync_p99_ns"), val("sync_max_ns"), val("sync_mean_ns"))
	}
	val("cpu") != "" && val("cpu") != 0 {
		k = val("scenario") SUBSEP val("policy")
		cpus[k] = cpus[k] (cpus[k] == "" ? "" : ", ") \
			sprintf("{\"cpu\": %d, \"role\": \"%s\", \"sync_ipis\": %d, \"all_ipis\": %d}",
				val("cpu"), val("role"), val("sync_ipis"), val("all_ipis"))
	}
	# The policies of scenario s; unit: what one operation is called.
	function policies(s, unit,   i, p, k, out) {
		out = ""
		for (i = 1; i <= npol[s]; i++) {
			p = order[s, i]; k = s SUBSEP p
			out = out sprintf("%s\n  \"%s\": {\"%s\": %d, \"%s_per_second\": %s%s,\n   \"cpus\": [%s]}",
				(i > 1 ? "," : ""), p, unit, ops[k], unit, rate[k], lat[k], cpus[k])
		}
		return out
	}
	END {
		if (!nsc) { print "no scenario metrics in the run" > "/dev/stderr"; exit 1 }
		first = ("collapse" in sseen) ? "collapse" : sorder[1]
		printf "{\"kernel\": \"%s\", \"accel\": \"%s\", \"vcpus\": %d, \"collapses\": %d,\n",
			kernel, accel, vcpus, ("collapse" in sseen) ? ops[first, order[first, 1]] : 0
		printf " \"policies\": {%s},\n", ("collapse" in sseen) ? policies("collapse", "collapses") : ""
		printf " \"scenarios\": {"
		for (j = 1; j <= nsc; j++) {
			s = sorder[j]
			printf "%s\n \"%s\": {\"operations\": %d, \"policies\": {%s}}", (j > 1 ? "," : ""),
				s, ops[s, order[s, 1]], policies(s, "operations")
		}
		printf "}}\n"
	}'
}

print_table() {
	awk "$QS_AWK_VAL"'
	val("ops") != "" { n[val("policy")] = val("ops"); sums[++ns] = $0 }
	val("cpu") != "" && val("cpu") != 0 { rows[++nr] = $0 }
	END {
		printf "%-12s %-4s %-14s %16s %16s\n", "policy", "cpu", "role",
			"sync IPIs/1k", "all IPIs/1k"
		for (r = 1; r <= nr; r++) {
			$0 = rows[r]; p = val("policy")
			printf "%-12s %-4s %-14s %16.0f %16.0f\n", p, val("cpu"), val("role"),
				val("sync_ipis") * 1000 / n[p], val("all_ipis") * 1000 / n[p]
		}
		printf "\n%-12s %14s %14s %14s %14s\n", "policy", "ops/s",
			"sync p50 us", "sync p99 us", "sync max us"
		for (r = 1; r <= ns; r++) {
			$0 = sums[r]
			if (val("syncs") == "" || val("syncs") < 0)
				printf "%-12s %14.1f %14s %14s %14s\n", val("policy"), val("per_second"), "-", "-", "-"
			else
				printf "%-12s %14.1f %14.1f %14.1f %14.1f\n", val("policy"), val("per_second"),
					val("sync_p50_ns") / 1000, val("sync_p99_ns") / 1000, val("sync_max_ns") / 1000
		}
	}'
}

# What one operation of scenario $1 is, for titles.
scenario_title() {
	case $1 in
	collapse) echo "MADV_COLLAPSE on CPU0" ;;
	hugetlb-unshare) echo "hugetlb PMD-table unshares (munmap) on CPU0" ;;
	*) echo "$1 operations on CPU0" ;;
	esac
}

# Bars grouped by policy, one per isolated CPU's role: sync IPIs per 1,000
# (top) and all function-call IPIs per 1,000 (bottom). (One group per CPU
# and policy, labelled with both, overlapped at 8 policies.)
write_png() {
	local scenario=$1 png=$2 data=${2%.png}.dat
	awk "$QS_AWK_VAL"'
	val("ops") != "" { n[val("policy")] = val("ops") }
	val("cpu") != "" && val("cpu") != 0 {
		p = val("policy")
		if (!(p in seen)) { seen[p] = 1; order[++np] = p }
		sync[p, val("role")] = val("sync_ipis") * 1000 / n[p]
		all[p, val("role")] = val("all_ipis") * 1000 / n[p]
	}
	END {
		split("idle other-process same-mm", r, " ")
		for (i = 1; i <= np; i++) {
			p = order[i]; line = p
			for (k = 1; k <= 3; k++) line = line sprintf(" %.0f", sync[p, r[k]])
			for (k = 1; k <= 3; k++) line = line sprintf(" %.0f", all[p, r[k]])
			print line
		}
	}' > "$data"
	gnuplot <<-GNUPLOT
		set terminal pngcairo size 1200,760 font ",10" noenhanced
		set output "$png"
		set multiplot layout 2,1 title "IPIs per 1,000 $(scenario_title "$scenario") on each isolated CPU (Linux $(run_value arch), $(run_value accel), $(run_value vcpus) vCPUs)"
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set yrange [0:*]
		set key top right horizontal
		set offsets graph 0, graph 0, graph 0.2, graph 0
		set grid ytics
		set ylabel "page-table sync IPIs /1,000"
		plot "$data" using 2:xtic(1) title "idle", "" using 3 title "other process", "" using 4 title "same mm"
		set ylabel "all function-call IPIs /1,000"
		plot "$data" using 5:xtic(1) title "idle", "" using 6 title "other process", "" using 7 title "same mm"
		unset multiplot
	GNUPLOT
}

main() {
	local s png pngs=()
	RUN_DIR=${1:-}
	NAME=${2:-demo}
	[ -n "$RUN_DIR" ] || qs_die "usage: lab/report.sh RUN_DIR [NAME]"
	[ -r "$RUN_DIR/ktap.log" ] || qs_die "no guest results in $RUN_DIR: run the collapse suite first"
	mkdir -p "$QS_REPORT"
	write_json > "$QS_REPORT/$NAME.json.tmp"
	mv "$QS_REPORT/$NAME.json.tmp" "$QS_REPORT/$NAME.json"
	for s in $(scenarios_in_run); do
		echo "== $s: sync IPIs per 1,000 $(scenario_title "$s")"
		scenario_metrics "$s" | print_table
		echo
		png=$QS_REPORT/$NAME-$s.png
		[ "$s" = collapse ] && png=$QS_REPORT/$NAME.png
		scenario_metrics "$s" | write_png "$s" "$png"
		pngs+=("$png")
	done
	qs_log "report: $QS_REPORT/$NAME.json, ${pngs[*]}"
}

main "$@"
