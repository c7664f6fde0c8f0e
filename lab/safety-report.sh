#!/usr/bin/env bash
# Write build/report/safety.json from the safety runs that exist:
#   build/runs/x86_64-safety            the race stress per policy and the
#                                       x86 negative control (tests/safety.sh)
#   build/runs/x86_64-selftests-POLICY  the kernel's mm selftests per policy
#                                       (tests/selftests.sh)
#   build/runs/arm64-safety-storm       the race stress with the munmap storm
#                                       (tlb_remove_table_one(), 6.12) or the
#                                       collapse-then-zap rounds (7.3), and quiet
#                                       with the walk delay (tests/arm64.sh)
#   build/runs/arm64-safety-control     the arm64 negative control
# Splats are attributed to the program that was running when the kernel
# printed them ("quietsync: running ..." lines of the console log). A part
# that did not run is null.
#
# Usage: lab/safety-report.sh
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

SPLATS=$(grep -Ev '^[[:space:]]*(#|$)' "$QS_ROOT/lab/splat-patterns.txt" | paste -sd'|')

# "KEY SPLATS" per race_stress run of the console log $1; KEY is the
# policy, with "/no-flush-wait" for a run with flush_did_not_wait (-F) and
# "/delay" for a run with the walk delay (-w).
splats_per_run() {
	tr -d '\r' < "$1" | awk -v re="$SPLATS" '
	/^quietsync: running / {
		run = ($3 == "race_stress") ? $5 (index($0, " -F") ? "/no-flush-wait" : "") (index($0, " -w ") ? "/delay" : "") : ""
		if (run != "") n[run] += 0
		next
	}
	run != "" && $0 ~ re { n[run]++ }
	END { for (r in n) print r, n[r] }'
}

# "KEY<TAB>JSON" per race_stress run of the run directory $1: KEY as
# above, JSON its figures ("detected": a splat or a corrupted page, or
# the program's own KASAN report; walker_other_ipis: the function-call
# IPIs the walkers' CPUs took besides the sync, on x86 the TLB flushes).
stress_rows() {
	local run=$1
	if [ ! -r "$run/ktap.log" ] || ! qs_run_finished "$run"; then
		return 0
	fi
	qs_metrics "$run/ktap.log" | awk -v splatlist="$(splats_per_run "$run/console.log" | tr '\n' ';')" "$QS_AWK_VAL"'
	BEGIN {
		n = split(splatlist, s, ";")
		for (i = 1; i <= n; i++) if (s[i] != "") { split(s[i], kv, " "); splats[kv[1]] = kv[2] }
	}
	val("stress") == "race" {
		delay = val("walk_delay_us") + 0
		key = val("policy") (val("flush_did_not_wait") == 1 ? "/no-flush-wait" : "") (delay >= 0 ? "/delay" : "")
		detected = (splats[key] + val("corruptions") + val("kasan_detected") > 0) ? "true" : "false"
		printf "%s\t{\"policy\": \"%s\", \"flush_did_not_wait\": %s, \"seconds\": %d, \"walk_delay_us\": %d, \"splats\": %d, \"corruptions\": %d, \"detected\": %s, \"rounds\": %d, \"pins\": %d, \"vmsplices\": %d, \"walker_other_ipis\": %d, \"walker_sync_ipis\": %d, \"paths_hit\": {\"collapse\": %d, \"hugetlb-unshare\": %d, \"table-alloc-failure\": %d}}\n",
			key, val("policy"), val("flush_did_not_wait") == 1 ? "true" : "false", val("seconds"), delay, splats[key] + 0, val("corruptions"), detected,
			val("rounds"), val("pins"), val("vmsplices"),
			val("walker_all_ipis") - val("walker_sync_ipis"), val("walker_sync_ipis"),
			val("collapse_syncs"), val("unshare_syncs"), val("table_one_syncs")
	}'
}

# The JSON of row KEY ($2) of stress_rows output $1, or null.
row() {
	printf '%s\n' "$1" | awk -F '\t' -v k="$2" '$1 == k { print $2; found = 1; exit }
		END { if (!found) print "null" }'
}

# {"quiet": ..., "broadcast": ...}: the rows without a walk delay.
policy_rows() {
	printf '%s\n' "$1" | awk -F '\t' '$1 != "" && $1 !~ /\/delay$/ {
		out = out (out == "" ? "" : ",\n    ") sprintf("\"%s\": %s", $1, $2) }
		END { printf "{%s}", out }'
}

# x86: the race stress per policy and the x86 negative control.
x86_json() {
	local rows
	rows=$(stress_rows "$QS_BUILD/runs/x86_64-safety")
	printf '"stress": %s,\n "x86_control": %s' \
		"$([ -n "$rows" ] && policy_rows "$rows" || echo null)" "$(row "$rows" none/delay)"
}

# The value of KEY ($1) on the control run's metric line ($control).
control_value() {
	printf '%s\n' "$control" | awk -v k="$1" "$QS_AWK_VAL"'{ print val(k) }'
}

# arm64: the storm runs, the negative control and its quiet counterpart.
# The control is detected only by a KASAN report of GUP-fast's read of the
# freed table (use-after-free, or out-of-bounds once slab reused it) in the
# console of its own boot (lab/vm.sh checked it was the only splat).
arm64_json() {
	local rows control ctl_run=$QS_BUILD/runs/arm64-safety-control detected seconds
	rows=$(stress_rows "$QS_BUILD/runs/arm64-safety-storm")
	printf '"arm64": {"stress": %s,\n   "quiet_walk_delay": %s},\n' \
		"$([ -n "$rows" ] && policy_rows "$rows" || echo null)" "$(row "$rows" quiet/delay)"
	if [ -r "$ctl_run/ktap.log" ] && qs_run_finished "$ctl_run"; then
		control=$(qs_metrics "$ctl_run/ktap.log" | awk "$QS_AWK_VAL"'val("stress") == "race" && val("control") == 1')
		detected=false
		if grep -q 'kasan_detected=1' <<< "$control" &&
			grep -aEq "$QS_GUP_FAST_KASAN_RE" "$ctl_run/console.log"; then
			detected=true
		fi
		seconds=$(control_value seconds_to_detect)
		printf ' "negative_control": {"arch": "arm64", "kernel": "%s", "mode": "%s", "policy": "none", "walk_delay_us": %s, "detected": %s, "seconds_to_detect": %s, "bound_seconds": %s, "report": "%s", "table_alloc_failure_syncs": %s, "zap_collapses": %s, "also_seen": [%s]},\n' \
			"$(tr -d '\r' < "$ctl_run/console.log" | grep -o -m 1 'Linux version [^ ]*' | cut -d' ' -f3)" \
			"$([ "$(control_value zap)" = 1 ] && echo collapse-then-zap || echo storm)" \
			"$(control_value walk_delay_us)" "$detected" "${seconds:-null}" \
			"$(control_value seconds)" \
			"$(tr -d '\r' < "$ctl_run/console.log" | grep -o 'BUG: KASAN: [^"]*' | head -n 1)" \
			"$(control_value table_one_syncs)" "$(control_value zap_collapses | grep . || echo 0)" \
			"$(sed -n 's/^# also seen (allowed): [0-9]*:\[ *[0-9.]*\] \(.*\)/"\1"/p' "$ctl_run/verdict" 2> /dev/null | paste -sd, -)"
	else
		printf ' "negative_control": null,\n'
	fi
	# The same storm and delay under quiet: detected nothing.
	printf ' "quiet_detected": %s' "$(row "$rows" quiet/delay | sed -n 's/.*"detected": \(true\|false\).*/\1/p;t;s/^null$/null/p')"
}

# {"pass": [...], "fail": [...], "skip": [...]} of the selftests run $1.
selftests_policy_json() {
	qs_metrics "$1/ktap.log" | awk "$QS_AWK_VAL"'
	function add(list, item) { return list (list == "" ? "" : ", ") "\"" item "\"" }
	val("selftest") != "" {
		# args are comma-separated on the metric line
		a = val("args"); gsub(",", " ", a)
		t = val("selftest") (a == "" ? "" : " " a)
		r = val("result")
		if (r == "pass") pass = add(pass, t)
		else if (r == "skip") skip = add(skip, t)
		else fail = add(fail, t (r == "timeout" ? " (timeout)" : ""))
	}
	END { printf "{\"pass\": [%s], \"fail\": [%s], \"skip\": [%s]}", pass, fail, skip }'
}

selftests_json() {
	local run first=1 policy
	printf '"selftests": {'
	for run in "$QS_BUILD"/runs/x86_64-selftests-*; do
		if [ ! -r "$run/ktap.log" ] || ! qs_run_finished "$run"; then
			continue
		fi
		policy=${run##*-selftests-}
		[ "$first" ] || printf ','
		first=
		printf '\n  "%s": %s' "$policy" "$(selftests_policy_json "$run")"
	done
	printf '}'
}

main() {
	# The safety, selftests and arm64 suites write it, side by side.
	qs_lock safety-report
	mkdir -p "$QS_REPORT"
	printf '{%s,\n %s,\n %s}\n' "$(x86_json)" "$(selftests_json)" "$(arm64_json)" \
		> "$QS_REPORT/safety.json.tmp"
	mv "$QS_REPORT/safety.json.tmp" "$QS_REPORT/safety.json"
	qs_log "safety report: $QS_REPORT/safety.json"
	cat "$QS_REPORT/safety.json"
}

main "$@"
