#!/usr/bin/env bash
# The address ranges qs-interference attributes interruptions by, from a
# kernel's System.map (the kernel booted with nokaslr):
#   lab/plugin-syms.sh SYSTEM_MAP > FILE
# one "CLASS START END NAME" line per function found (END: the next
# symbol's address). CLASS: sync (the sync's IPI callback; the plugin
# counts calls at its first instruction), flush (x86's TLB flush IPI),
# tick (the scheduler tick's handlers, whichever this kernel has).
# Exits 1 if the map has no sync callback: nothing could be attributed.
set -euo pipefail

map=${1:?usage: lab/plugin-syms.sh SYSTEM_MAP}
[ -r "$map" ] || { echo "error: cannot read $map" >&2; exit 2; }
awk '
BEGIN {
	cls["tlb_remove_table_smp_sync"] = "sync"
	cls["flush_tlb_func"] = "flush"
	cls["tick_nohz_handler"] = "tick"
	cls["tick_nohz_highres_handler"] = "tick"
	cls["tick_sched_timer"] = "tick"
	cls["tick_handle_periodic"] = "tick"
}
$2 ~ /^[tTwW]$/ {
	if (pending != "") {
		printf "%s %s %s %s\n", cls[pending], start, $1, pending
		pending = ""
	}
	if ($3 in cls) {
		pending = $3
		start = $1
		if (cls[$3] == "sync")
			sync = 1
	}
}
END { exit sync ? 0 : 1 }
' "$map"
