#!/usr/bin/env bash
# The address ranges qs-interference attributes interruptions by, from a
# kernel's symbols (System.map, or the "ADDR TYPE NAME" lines
# lab/kallsyms.sh takes from /proc/kallsyms; the kernel booted nokaslr):
#   lab/plugin-syms.sh SYMBOLS > FILE
# one "CLASS START END NAME" line per function found (END: the next text
# symbol's higher address). CLASS: sync (the sync's IPI callback; the plugin
# counts calls at its first instruction), flush (x86's TLB flush IPI),
# tick (the scheduler tick's handlers, whichever this kernel has), ipi
# (where both of x86's function-call IPI handlers enter the generic code,
# right after each incremented /proc/interrupts' CAL: counted where it
# starts; counted there rather than at the vectors' entry, whose prologue a
# descheduled vCPU may stretch across the guest's read of CAL).
# Exits 1 if there is no sync callback: nothing could be attributed.
#   lab/plugin-syms.sh --names
# the function names, commas between (guest/init's qs.kallsyms=).
set -euo pipefail

HANDLERS="tlb_remove_table_smp_sync:sync flush_tlb_func:flush tick_nohz_handler:tick
tick_nohz_highres_handler:tick tick_sched_timer:tick tick_handle_periodic:tick
generic_smp_call_function_single_interrupt:ipi"

if [ "${1:-}" = --names ]; then
	tr ' ' '\n' <<< "$HANDLERS" | cut -d: -f1 | paste -sd, -
	exit 0
fi
map=${1:?usage: lab/plugin-syms.sh SYMBOLS | --names}
[ -r "$map" ] || { echo "error: cannot read $map" >&2; exit 2; }
awk -v handlers="$HANDLERS" '
BEGIN {
	n = split(handlers, h, /[ \n]+/)
	for (i = 1; i <= n; i++) { split(h[i], kv, ":"); cls[kv[1]] = kv[2] }
}
# The end is the next text symbol at a higher address: an alias at the same
# address (an empty function folded with another) would make it empty.
$2 ~ /^[tTwW]$/ {
	if (pending != "" && $1 != start) {
		printf "%s %s %s %s\n", cls[pending], start, $1, pending
		if (cls[pending] == "sync")
			sync = 1
		pending = ""
	}
	if (pending == "" && ($3 in cls)) {
		pending = $3
		start = $1
	}
}
END { exit sync ? 0 : 1 }
' "$map"
