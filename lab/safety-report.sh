#!/usr/bin/env bash
# Write build/report/safety.json from the safety runs that exist:
#   build/runs/ARCH-safety              the race stress per policy and the
#                                       x86 negative control (tests/safety.sh)
#   build/runs/ARCH-selftests-POLICY    the kernel's mm selftests per policy
#                                       (tests/selftests.sh)
# Splats are attributed to the program that was running when the kernel
# printed them ("quietsync: running ..." lines of the console log). A part
# that did not run is null.
#
# Usage: lab/safety-report.sh
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

SPLATS=$(grep -Ev '^[[:space:]]*(#|$)' "$QS_ROOT/lab/splat-patterns.txt" | paste -sd'|')

# "POLICY SPLATS" per race_stress run of the console log $1.
splats_per_run() {
	tr -d '\r' < "$1" | awk -v re="$SPLATS" '
	/^quietsync: running / { run = ($3 == "race_stress") ? $5 : ""; if (run != "") n[run] += 0; next }
	run != "" && $0 ~ re { n[run]++ }
	END { for (r in n) print r, n[r] }'
}

stress_json() {
	local run=$QS_BUILD/runs/$QS_ARCH-safety
	if [ ! -r "$run/ktap.log" ]; then
		printf '"stress": null, "x86_control": null'
		return
	fi
	qs_metrics "$run/ktap.log" | awk -v splatlist="$(splats_per_run "$run/console.log" | tr '\n' ';')" "$QS_AWK_VAL"'
	BEGIN {
		n = split(splatlist, s, ";")
		for (i = 1; i <= n; i++) if (s[i] != "") { split(s[i], kv, " "); splats[kv[1]] = kv[2] }
	}
	val("stress") == "race" {
		p = val("policy")
		row = sprintf("{\"seconds\": %d, \"splats\": %d, \"corruptions\": %d, \"rounds\": %d, \"pins\": %d, \"vmsplices\": %d, \"paths_hit\": {\"collapse\": %d, \"hugetlb-unshare\": %d, \"table-alloc-failure\": %d}}",
			val("seconds"), splats[p] + 0, val("corruptions"), val("rounds"), val("pins"),
			val("vmsplices"), val("collapse_syncs"), val("unshare_syncs"), val("table_one_syncs"))
		if (p == "none") {
			control = sprintf("{\"policy\": \"none\", \"walk_delay_us\": %d, \"detected\": %s, \"seconds\": %d, \"walker_flush_ipis\": %d, \"walker_sync_ipis\": %d, \"paths_hit\": {\"collapse\": %d, \"hugetlb-unshare\": %d}}",
				val("walk_delay_us"), (splats[p] + val("corruptions") > 0) ? "true" : "false",
				val("seconds"), val("walker_all_ipis") - val("walker_sync_ipis"),
				val("walker_sync_ipis"), val("collapse_syncs"), val("unshare_syncs"))
		} else {
			stress = stress (stress == "" ? "" : ",\n  ") sprintf("\"%s\": %s", p, row)
		}
	}
	END { printf "\"stress\": {%s},\n \"x86_control\": %s", stress, control == "" ? "null" : control }'
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
	for run in "$QS_BUILD"/runs/"$QS_ARCH"-selftests-*; do
		[ -r "$run/ktap.log" ] || continue
		policy=${run##*-selftests-}
		[ "$first" ] || printf ','
		first=
		printf '\n  "%s": %s' "$policy" "$(selftests_policy_json "$run")"
	done
	printf '}'
}

main() {
	mkdir -p "$QS_REPORT"
	printf '{%s,\n %s}\n' "$(stress_json)" "$(selftests_json)" > "$QS_REPORT/safety.json.tmp"
	mv "$QS_REPORT/safety.json.tmp" "$QS_REPORT/safety.json"
	qs_log "safety report: $QS_REPORT/safety.json"
	cat "$QS_REPORT/safety.json"
}

main "$@"
