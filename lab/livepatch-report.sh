#!/usr/bin/env bash
# Summarise the livepatch run (build/runs/ARCH-livepatch) into
# build/report/livepatch.json: sync IPIs per 1,000 collapses on the isolated
# CPU running another process before loading, enabled and disabled, every
# CPU's figures per phase, the cycles completed and the splats found.
#
# Usage: lab/livepatch-report.sh RUN_DIR
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

main() {
	local run=${1:-} splats=0
	[ -n "$run" ] || qs_die "usage: lab/livepatch-report.sh RUN_DIR"
	[ -r "$run/ktap.log" ] || qs_die "no guest results in $run"
	"$QS_ROOT/lab/scan-console.sh" "$run/console.log" > /dev/null 2>&1 || splats=$?
	if [ "$splats" -eq 1 ]; then
		splats=$(tr -d '\r' < "$run/console.log" |
			grep -cEf <(grep -Ev '^[[:space:]]*(#|$)' "$QS_ROOT/lab/splat-patterns.txt") || true)
	elif [ "$splats" -ne 0 ]; then
		qs_die "cannot scan $run/console.log for splats"
	fi
	mkdir -p "$QS_REPORT"
	tr -d '\r' < "$run/ktap.log" | sed -n 's/^# metric //p' | awk -v splats="$splats" "$QS_AWK_VAL"'
	val("kernel") != "" { kernel = val("kernel") }
	val("cycles") != "" { cycles = val("cycles") }
	val("collapses") != "" { n[val("policy")] = val("collapses") }
	val("cpu") != "" && val("cpu") != 0 {
		p = val("policy"); c = val("cpu")
		per1k = n[p] ? val("sync_ipis") * 1000 / n[p] : -1
		if (c == 2) other[p] = per1k
		cpus = cpus (cpus == "" ? "" : ", ") \
			sprintf("{\"phase\": \"%s\", \"cpu\": %d, \"role\": \"%s\", \"sync_per_1k\": %.1f, \"all_ipis_per_1k\": %.1f}",
				p, c, val("role"), per1k, n[p] ? val("all_ipis") * 1000 / n[p] : -1)
	}
	# A phase that did not run is null, never 0.
	function fig(p) { return (p in other) ? sprintf("%.1f", other[p]) : "null" }
	END {
		printf "{\"kernel\": \"%s\", \"before_per_1k\": %s, \"enabled_per_1k\": %s, \"disabled_per_1k\": %s, \"removed_per_1k\": %s, \"cycles\": %d, \"splats\": %d,\n \"cpus\": [%s]}\n",
			kernel, fig("stock"), fig("livepatch"), fig("livepatch-disabled"),
			fig("livepatch-removed"), cycles, splats, cpus
	}' > "$QS_REPORT/livepatch.json"
	qs_log "livepatch report: $QS_REPORT/livepatch.json"
	cat "$QS_REPORT/livepatch.json"
}

main "$@"
