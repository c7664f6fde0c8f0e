#!/usr/bin/env bash
# Turn a collapse-scenario run (build/runs/ARCH-SUITE) into the demo report:
# a table on stdout, build/report/demo.json and build/report/demo.png.
#
# Usage: lab/report.sh RUN_DIR [NAME]     (NAME defaults to "demo")
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

run_value() {
	sed -n "s/^$1=//p" "$RUN_DIR/run.env"
}

# "# metric a=1 b=2" lines of the KTAP log, as "a=1 b=2".
metrics() {
	tr -d '\r' < "$RUN_DIR/ktap.log" | sed -n 's/^# metric //p'
}

write_json() {
	metrics | awk -v accel="$(run_value accel)" -v vcpus="$(run_value vcpus)" "$QS_AWK_VAL"'
	val("kernel") != "" { kernel = val("kernel"); sub(/[^0-9.].*$/, "", kernel) }
	val("collapses") != "" {
		p = val("policy")
		if (!(p in seen)) { order[++npol] = p; seen[p] = 1 }
		collapses[p] = val("collapses"); rate[p] = val("per_second")
		lat[p] = ""
		if (val("syncs") != "" && val("syncs") >= 0)
			lat[p] = sprintf(", \"syncs\": %d, \"sync_latency_ns\": {\"p50\": %d, \"p99\": %d, \"max\": %d, \"mean\": %d}",
				val("syncs"), val("sync_p50_ns"), val("sync_p99_ns"), val("sync_max_ns"), val("sync_mean_ns"))
	}
	val("cpu") != "" && val("cpu") != 0 {
		p = val("policy")
		cpus[p] = cpus[p] (cpus[p] == "" ? "" : ", ") \
			sprintf("{\"cpu\": %d, \"role\": \"%s\", \"sync_ipis\": %d, \"all_ipis\": %d}",
				val("cpu"), val("role"), val("sync_ipis"), val("all_ipis"))
	}
	END {
		if (!npol) { print "no collapse metrics in the run" > "/dev/stderr"; exit 1 }
		printf "{\"kernel\": \"%s\", \"accel\": \"%s\", \"vcpus\": %d, \"collapses\": %d,\n",
			kernel, accel, vcpus, collapses[order[1]]
		printf " \"policies\": {"
		for (i = 1; i <= npol; i++) {
			p = order[i]
			printf "%s\n  \"%s\": {\"collapses\": %d, \"collapses_per_second\": %s%s,\n   \"cpus\": [%s]}",
				(i > 1 ? "," : ""), p, collapses[p], rate[p], lat[p], cpus[p]
		}
		printf "}}\n"
	}'
}

print_table() {
	metrics | awk "$QS_AWK_VAL"'
	val("collapses") != "" { n[val("policy")] = val("collapses"); sums[++ns] = $0 }
	val("cpu") != "" && val("cpu") != 0 { rows[++nr] = $0 }
	END {
		printf "%-12s %-4s %-14s %16s %16s\n", "policy", "cpu", "role",
			"sync IPIs/1k", "all IPIs/1k"
		for (r = 1; r <= nr; r++) {
			$0 = rows[r]; p = val("policy")
			printf "%-12s %-4s %-14s %16.0f %16.0f\n", p, val("cpu"), val("role"),
				val("sync_ipis") * 1000 / n[p], val("all_ipis") * 1000 / n[p]
		}
		printf "\n%-12s %14s %14s %14s %14s\n", "policy", "collapses/s",
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

# Grouped bars per CPU: sync IPIs and all function-call IPIs per 1,000.
write_png() {
	local data=$QS_REPORT/$NAME.dat
	metrics | awk "$QS_AWK_VAL"'
	val("collapses") != "" { n[val("policy")] = val("collapses") }
	val("cpu") != "" && val("cpu") != 0 {
		printf "\"%s\\ncpu%s\\n%s\" %.0f %.0f\n", val("policy"), val("cpu"), val("role"),
			val("sync_ipis") * 1000 / n[val("policy")], val("all_ipis") * 1000 / n[val("policy")]
	}' > "$data"
	gnuplot <<-GNUPLOT
		set terminal pngcairo size 1200,520 font ",9" noenhanced
		set bmargin 6
		set output "$QS_REPORT/$NAME.png"
		set title "IPIs per 1,000 MADV_COLLAPSE on CPU0 (Linux $(run_value arch), $(run_value accel), $(run_value vcpus) vCPUs)"
		set ylabel "IPIs received per 1,000 collapses"
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set yrange [0:*]
		set key top left
		set grid ytics
		plot "$data" using 2:xtic(1) title "page-table sync IPIs", \
		     "" using 3 title "all function-call IPIs"
	GNUPLOT
}

main() {
	RUN_DIR=${1:-}
	NAME=${2:-demo}
	[ -n "$RUN_DIR" ] || qs_die "usage: lab/report.sh RUN_DIR [NAME]"
	[ -r "$RUN_DIR/ktap.log" ] || qs_die "no guest results in $RUN_DIR: run the collapse suite first"
	mkdir -p "$QS_REPORT"
	write_json > "$QS_REPORT/$NAME.json.tmp"
	mv "$QS_REPORT/$NAME.json.tmp" "$QS_REPORT/$NAME.json"
	print_table
	write_png
	qs_log "report: $QS_REPORT/$NAME.json, $QS_REPORT/$NAME.png"
}

main "$@"
