#!/usr/bin/env bash
# What each window of a run cost each CPU, from the TCG plugin
# (lab/plugin/qs-interference.c, a run booted with QS_PLUGIN=1) joined with
# the guest's own counts (sync_ipi's metric lines):
#   lab/interference-report.sh RUN_DIR > FILE.json
# A JSON array, one object per window and CPU: scenario, policy, cpu, role,
# ops, the guest's sync_ipis (trace) and all_ipis (/proc/interrupts), and
# the plugin's interruptions (kernel stretches begun from user mode or
# idle), by handler, kernel instructions (total, by handler), the longest
# stretch, the log2 histogram of stretch lengths, the sync callback's calls
# and the function-call IPI entries (x86: what /proc/interrupts counts),
# inside the window and in its edges (between the guest's reads of
# /proc/interrupts and the window's markers; null before plugin version 3);
# stretch_insns: per handler (and all), from the stretches' raw lengths:
# the shortest, the most common (mode, mode_n times), p50, p90, p99, n;
# per_1k: interruptions and kernel instructions per 1,000 ops; caller: the
# syncs this CPU called (where the plugin had lab/plugin-caller.sh's
# ranges, else null): calls, those it slept in, those with no return seen,
# the instructions of wait loops and of interrupts left out, and the
# instructions per measured call (min, mode, mode_n, near_n: the calls
# within 2% of the mode, p50, p90, p99, max, n), beside
# the guest's own caller_syncs for the window.
# Exits 2 if the run has no plugin output, no row, a window the plugin
# lacks or dropped, or if the guest's windows and the plugin's differ in
# number (the two count them independently: a mismatch would join the
# wrong figures).
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

run=${1:?usage: lab/interference-report.sh RUN_DIR}
[ -s "$run/plugin.txt" ] || { echo "error: no plugin output in $run (booted with QS_PLUGIN=1?)" >&2; exit 2; }
[ -r "$run/ktap.log" ] || { echo "error: no ktap.log in $run" >&2; exit 2; }
plugin_windows=$(sed -n '1s/.* windows=\([0-9]*\) dropped_windows=\([0-9]*\)$/\1 \2/p' "$run/plugin.txt")
guest_windows=$(qs_metrics "$run/ktap.log" | awk "$QS_AWK_VAL"'val("plugin_window") != "" { print val("plugin_window") }' | sort -n | paste -sd' ')
if [ "${plugin_windows#* }" != 0 ] ||
	[ "$guest_windows" != "$(seq -s' ' 0 $((${plugin_windows%% *} - 1)))" ]; then
	echo "error: the plugin counted windows (count, dropped) '$plugin_windows', the guest numbered '$guest_windows'" >&2
	exit 2
fi

# One JSON object per CPU line of the guest, its window's plugin line joined.
rows=$(qs_metrics "$run/ktap.log" | awk "$QS_AWK_VAL"'
FNR == NR {
	if (split($0, f, " ") && f[1] ~ /^window=/) {
		split(f[1], a, "="); split(f[2], b, "=")
		plugin[a[2] " " b[2]] = $0
	}
	next
}
val("plugin_window") != "" {
	key = val("scenario") " " val("policy")
	win[key] = val("plugin_window"); ops[key] = val("ops"); csyncs[key] = val("caller_syncs")
	next
}
val("cpu") != "" && val("role") != "" {
	key = val("scenario") " " val("policy")
	if (!(key in win)) next
	p = plugin[win[key] " " val("cpu")]
	if (p == "") { missing = 1; print "error: the plugin has no window " win[key] " (" key ")" > "/dev/stderr"; next }
	line = $0; sc = val("scenario"); po = val("policy"); $0 = p
	hist = val("hist"); sub(/,(0,)*0$/, "", hist)
	printf "{\"scenario\":\"%s\",\"policy\":\"%s\",\"window\":%s,\"ops\":%s,", sc, po, win[key], ops[key]
	printf "\"kernel_insns\":%s,\"user_insns\":%s,\"interruptions\":%s,\"longest\":%s,\"sync_calls\":%s,\"ipi_entries\":%s,\"edge_ipi_entries\":%s,", \
		val("kernel_insns"), val("user_insns"), val("entries"), val("longest"), val("sync_calls"), val("ipi_entries"), (val("edge_ipi_entries") == "" ? "null" : val("edge_ipi_entries"))
	printf "\"interruptions_by\":{\"sync\":%s,\"flush\":%s,\"tick\":%s,\"other\":%s},", \
		val("entries_sync"), val("entries_flush"), val("entries_tick"), val("entries_other")
	printf "\"insns_by\":{\"sync\":%s,\"flush\":%s,\"tick\":%s,\"other\":%s},\"hist_log2\":[%s],", \
		val("insns_sync"), val("insns_flush"), val("insns_tick"), val("insns_other"), hist
	printf "\"stretch_insns\":{"
	n = split("all sync flush tick other", cl, " ")
	for (i = 1; i <= n; i++) {
		if (val("samples_" cl[i]) + 0 == 0)
			printf "%s\"%s\":{\"min\":null,\"mode\":null,\"mode_n\":0,\"p50\":null,\"p90\":null,\"p99\":null,\"n\":0}", (i > 1 ? "," : ""), cl[i]
		else
			printf "%s\"%s\":{\"min\":%s,\"mode\":%s,\"mode_n\":%s,\"p50\":%s,\"p90\":%s,\"p99\":%s,\"n\":%s}", (i > 1 ? "," : ""), cl[i], \
				val("min_" cl[i]), val("mode_" cl[i]), val("modecount_" cl[i]), \
				val("p50_" cl[i]), val("p90_" cl[i]), val("p99_" cl[i]), val("samples_" cl[i])
	}
	printf "},"
	# The caller'"'"'s side of the syncs this CPU made (plugin version 2 or later, with
	# lab/plugin-caller.sh'"'"'s ranges: the lab kernel'"'"'s vmlinux).
	if (val("calls") != "" && val("samples_call") != "") {
		printf "\"caller\":{\"calls\":%s,\"slept\":%s,\"unended\":%s,\"wait_insns\":%s,\"irq_insns\":%s,", \
			val("calls"), val("calls_slept"), val("calls_unended"), val("call_wait_insns"), val("call_irq_insns")
		if (val("samples_call") + 0 == 0)
			printf "\"insns\":{\"min\":null,\"mode\":null,\"mode_n\":0,\"near_n\":0,\"p50\":null,\"p90\":null,\"p99\":null,\"max\":null,\"n\":0}},"
		else
			printf "\"insns\":{\"min\":%s,\"mode\":%s,\"mode_n\":%s,\"near_n\":%s,\"p50\":%s,\"p90\":%s,\"p99\":%s,\"max\":%s,\"n\":%s}},", \
				val("min_call"), val("mode_call"), val("modecount_call"), (val("near_call") == "" ? "null" : val("near_call")), val("p50_call"), \
				val("p90_call"), val("p99_call"), val("max_call"), val("samples_call")
	} else {
		printf "\"caller\":null,"
	}
	printf "\"caller_syncs\":%s,", (csyncs[key] == "" || csyncs[key] < 0) ? "null" : csyncs[key]
	$0 = line
	printf "\"cpu\":%s,\"role\":\"%s\",\"sync_ipis\":%s,\"all_ipis\":%s}\n", val("cpu"), val("role"), val("sync_ipis"), val("all_ipis")
}
END { exit missing ? 2 : 0 }
' "$run/plugin.txt" -) || exit 2
[ -n "$rows" ] || { echo "error: no guest CPU line joined a plugin window in $run" >&2; exit 2; }
jq -s <<< "$rows" 'map(. + {per_1k: {
	interruptions: (if .ops > 0 then (.interruptions * 1000 / .ops | round) else null end),
	kernel_insns: (if .ops > 0 then (.kernel_insns * 1000 / .ops | round) else null end)}})'
