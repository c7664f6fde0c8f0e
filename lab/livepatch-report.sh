#!/usr/bin/env bash
# Summarise the livepatch runs into build/report/livepatch.json: for each
# stock flavor booted (build/runs/ARCH-livepatch: the standard kernel, the
# collapse scenario; build/runs/ARCH-livepatch-rt: PREEMPT_RT, the
# hugetlb-unshare scenario, "rt"), sync IPIs per 1,000 operations on the
# isolated CPU running another process before loading, enabled, disabled
# (and removed), every CPU's figures per phase, the cycles completed and
# the splats found. A flavor not run is null; a phase not run is null.
# "kernels" maps every stock kernel booted (build/runs/ARCH-livepatch*,
# one run per kernel) by its `uname -r` to its line, flavour, scenario,
# status (verified or checked, as its module was built), the rule its
# first load put in force and why, the census of the sync's references it
# judged, the boot's nohz_full CPUs (the others of 1-3 isolcpus= only) and
# figures: enabled (the rule in force), and with the paravirt stand-in
# (test_flush=paravirt: the quiet rule).
#
# Usage: lab/livepatch-report.sh
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

# Lines of $1/console.log matching a splat pattern (0 if none).
count_splats() {
	local rc=0
	"$QS_ROOT/lab/scan-console.sh" "$1/console.log" > /dev/null 2>&1 || rc=$?
	if [ "$rc" -eq 1 ]; then
		tr -d '\r' < "$1/console.log" |
			grep -cEf <(grep -Ev '^[[:space:]]*(#|$)' "$QS_ROOT/lab/splat-patterns.txt") || true
	elif [ "$rc" -eq 0 ]; then
		echo 0
	else
		qs_die "cannot scan $1/console.log for splats"
	fi
}

# flavor_json RUN_DIR SCENARIO: one flavor's figures, or null.
flavor_json() {
	local run=$1 scenario=$2
	if [ ! -r "$run/ktap.log" ] || ! qs_run_finished "$run"; then
		echo null
		return
	fi
	qs_metrics "$run/ktap.log" |
		awk -v splats="$(count_splats "$run")" -v scenario="$scenario" \
			-v skipped="$(tr -d '\r' < "$run/ktap.log" | sed -n 's/^ok [0-9]* \(.*\)_scenario # SKIP \(.*\)$/\1: \2/p' | head -n 1)" \
			"$QS_AWK_VAL"'
	val("kernel") != "" { kernel = val("kernel") }
	val("cycles") != "" { cycles = val("cycles") }
	val("ops") != "" && val("scenario") == scenario { n[val("policy")] = val("ops") }
	val("cpu") != "" && val("cpu") != 0 && val("scenario") == scenario {
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
		# Enabled: the rule in force ("flushed" where the gate held);
		# the quiet rule then ran again under the paravirt stand-in.
		flushed = ("livepatch-flushed" in other)
		printf "{\"kernel\": \"%s\", \"scenario\": \"%s\", \"skipped\": %s, \"before_per_1k\": %s, \"enabled_per_1k\": %s, \"paravirt_per_1k\": %s, \"disabled_per_1k\": %s, \"removed_per_1k\": %s, \"cycles\": %d, \"splats\": %d,\n \"cpus\": [%s]}",
			kernel, scenario, skipped == "" ? "null" : "\"" skipped "\"", fig("stock"),
			fig(flushed ? "livepatch-flushed" : "livepatch"),
			flushed ? fig("livepatch") : "null",
			fig("livepatch-disabled"), fig("livepatch-removed"),
			cycles, splats, cpus
	}'
}

# gate_json RUN_DIR: the rule the module's first load put in force, why,
# the census it judged (the census lines before its first "replacing"
# line) and the boot's nohz_full= CPUs, from the console.
gate_json() {
	local console=$1/console.log
	tr -d '\r' < "$console" | awk '
		/Kernel command line:/ && match($0, /nohz_full=[0-9,-]+/) {
			nohz = substr($0, RSTART + 10, RLENGTH - 10) }
		done { next }
		/quietsync_livepatch: census: / {
			sub(/.*quietsync_livepatch: census: /, ""); n++
			census = census (n > 1 ? "\t" : "") $0 }
		/quietsync_livepatch: replacing tlb_remove_table_sync_one / && match($0, /; rule [a-z]+: /) {
			rule = substr($0, RSTART + 7, RLENGTH - 9)
			why = substr($0, RSTART + RLENGTH); done = 1 }
		END { printf "%s\n%s\n%s\n%s\n", rule, why, nohz, census }' |
		jq -R -s 'split("\n") | {rule: (if .[0] == "" then null else .[0] end),
			rule_why: (if .[1] == "" then null else .[1] end),
			nohz_full: (if .[2] == "" then null else .[2] end),
			census: (if .[3] == "" then [] else (.[3] | split("\t")) end)}'
}

# kernel_entry RUN_DIR SCENARIO: {"<uname -r>": {...}}, one kernel booted,
# with the line, flavour and status of the module built for it.
kernel_entry() {
	local run=$1 scenario=$2 figures meta
	figures=$(flavor_json "$run" "$scenario")
	if [ "$figures" = null ]; then
		echo '{}'
		return
	fi
	meta=$QS_BUILD/livepatch/$(jq -r .kernel <<< "$figures")/livepatch.json
	[ -r "$meta" ] || qs_die "no $meta for the run in $run"
	jq -n --argjson f "$figures" --slurpfile m "$meta" --arg scenario "$scenario" \
		--argjson g "$(gate_json "$run")" '
		{($f.kernel): {line: $m[0].line, flavour: $m[0].flavour,
			scenario: $scenario, status: $m[0].status,
			rule: $g.rule, rule_why: $g.rule_why, census: $g.census,
			nohz_full: $g.nohz_full,
			before_per_1k: $f.before_per_1k, enabled_per_1k: $f.enabled_per_1k,
			paravirt_per_1k: $f.paravirt_per_1k,
			disabled_per_1k: $f.disabled_per_1k, cycles: $f.cycles,
			splats: $f.splats, cpus: $f.cpus}}'
}

# Every stock kernel booted: build/runs/ARCH-livepatch* (the -rt runs with
# the hugetlb-unshare scenario, the others with the collapse scenario).
kernels_json() {
	local run scenario
	for run in "$QS_BUILD/runs/$QS_ARCH"-livepatch*; do
		[ -r "$run/ktap.log" ] || continue
		scenario=collapse
		case ${run##*/} in
		*-livepatch-rt*) scenario=hugetlb-unshare ;;
		esac
		kernel_entry "$run" "$scenario"
	done | jq -s 'add // {}'
}

main() {
	local runs=$QS_BUILD/runs/$QS_ARCH-livepatch standard rt
	# Not while a module directory is rebuilt (lab/livepatch-initramfs.sh)
	# or another suite writes this report.
	qs_lock livepatch
	compgen -G "$runs*/ktap.log" > /dev/null ||
		qs_die "no livepatch run in $runs*: make check-guest-livepatch"
	standard=$(flavor_json "$runs" collapse)
	rt=$(flavor_json "$runs-rt" hugetlb-unshare)
	mkdir -p "$QS_REPORT"
	# The standard flavor's figures stay at the top level (their first
	# readers); the PREEMPT_RT flavor's are under "rt"; every kernel booted,
	# by release, under "kernels".
	jq -n --argjson std "$standard" --argjson rt "$rt" --argjson kernels "$(kernels_json)" \
		'(if $std == null then {kernel: null} else $std end) + {rt: $rt, kernels: $kernels}' \
		> "$QS_REPORT/livepatch.json.tmp"
	mv "$QS_REPORT/livepatch.json.tmp" "$QS_REPORT/livepatch.json"
	qs_log "livepatch report: $QS_REPORT/livepatch.json"
	cat "$QS_REPORT/livepatch.json"
}

main "$@"
