#!/usr/bin/env bash
# The ranges qs-interference measures the caller's side of the sync by,
# from an x86_64 kernel's vmlinux (the lab kernel's; Debian ships none):
#   lab/plugin-caller.sh VMLINUX >> SYMS
#   call START END NAME   the entry of tlb_remove_table_sync_one() and of
#                         the syncs after a flush, _after_flush() and
#                         _shared_after_flush() (where they exist)
#   ret START END NAME    the instruction after each direct call of one of
#                         them: where the call returns to
#   wait START END NAME   each spin-wait loop: a PAUSE and the branch back
#                         to it, at most 64 bytes (the two csd_lock_wait()
#                         loops inlined into smp_call_function_many_cond()),
#                         or a PAUSE followed by a jump back to the test,
#                         at most 128 bytes before it
#                         (virt_spin_lock() in queued_spin_lock_slowpath():
#                         the test's first block, and the PAUSE's): their
#                         iterations count the host's scheduling of the CPU
#                         waited for, not work
#   irq START END NAME    where an interrupt or exception enters: each
#                         asm_sysvec_* and asm_exc_* entry, repeat_nmi, and
#                         the device interrupts' stub tables (a block that
#                         begins anywhere in them)
#   iret START END NAME   the IRETQ of an interrupt's return (not the IRETs
#                         to self of sync_core() and the like)
#   switch START END NAME __switch_to_asm: the caller left the CPU (slept)
# A tail call (jmp) of a sync function has no return site of its own: the
# lab's only ones are in its KUnit tests, which run before any window, and
# a call that never returns is counted nowhere (tests/bench.sh compares the
# calls the plugin saw with the guest's count). Exits 1 if no call site is
# found.
set -euo pipefail

vmlinux=${1:?usage: lab/plugin-caller.sh VMLINUX}
[ -r "$vmlinux" ] || { echo "error: cannot read $vmlinux" >&2; exit 2; }
command -v objdump > /dev/null || { echo "error: objdump is missing: apt-get install binutils" >&2; exit 2; }
command -v gawk > /dev/null || { echo "error: gawk is missing: apt-get install gawk" >&2; exit 2; }

# The syncs whose entries and call sites are measured (an ERE).
syncs='tlb_remove_table_sync_(one|after_flush|shared_after_flush)'

dis=$(mktemp)
trap 'rm -f "$dis" "$dis.all"' EXIT
objdump -d --no-show-raw-insn "$vmlinux" > "$dis.all"
# Only what the ranges need: headings, PAUSEs and what follows each,
# branches, IRETQs, the sync's call sites and the instruction after each.
grep -E -A1 '>:$|'$'\t''(pause|iretq|j[a-z]* +[0-9a-f]+ <|callq? +[0-9a-f]+ <'"$syncs"'>)' \
	"$dis.all" > "$dis" || true

# Kernel text addresses need 64 bits, more than awk's doubles hold exactly:
# the arithmetic is on the low 32 bits (text never crosses a 4 GiB line).
gawk -v syncs="$syncs" '
function lo(s) { return strtonum("0x" substr(s, length(s) - 7)) }
function plus(s, n) { return sprintf("%s%08x", substr(s, 1, length(s) - 8), lo(s) + n) }
/^--$/ { after_pause = 0; next }
# A function heading: "ffffffff81188ea0 <tlb_remove_table_sync_one>:".
/^[0-9a-f]+ <[^>]+>:$/ {
	if (table != "") {
		printf "irq %s %s %s\n", table, $1, table_name
		table = ""
	}
	fn = substr($2, 2, length($2) - 3)
	if (fn ~ ("^" syncs "$"))
		printf "call %s %s %s\n", $1, plus($1, 1), fn
	else if (fn ~ /^asm_(exc|sysvec)_/ || fn == "repeat_nmi")
		printf "irq %s %s %s\n", $1, plus($1, 1), fn
	else if (fn == "irq_entries_start" || fn == "spurious_entries_start") {
		table = $1; table_name = fn
	} else if (fn == "__switch_to_asm")
		printf "switch %s %s %s\n", $1, plus($1, 1), fn
	npause = 0; after_pause = 0
	next
}
# An instruction: "ffffffff81189041:<TAB>call   ffffffff81188ea0 <tlb_...>".
/^ *[0-9a-f]+:\t/ {
	addr = $1; sub(/:$/, "", addr)
	if (ret_pending) {
		printf "ret %s %s %s\n", addr, plus(addr, 1), ret_pending
		ret_pending = ""
		sites++
	}
	split($0, f, "\t")
	insn = f[2]
	was_pause = after_pause; after_pause = 0
	if (insn ~ ("^callq? +[0-9a-f]+ <" syncs ">")) {
		ret_pending = fn
		next
	}
	if (insn ~ /^iretq/ && (fn == "native_irq_return_iret" || fn == "nested_nmi_out" || fn == "nmi_restore")) {
		printf "iret %s %s %s\n", addr, plus(addr, 1), fn
		next
	}
	if (insn ~ /^pause/) {
		pause[npause++] = lo(addr)
		pause_addr = addr; after_pause = 1
		next
	}
	if (npause && insn ~ /^j[a-z]* +[0-9a-f]+ </) {
		split(insn, g, / +/)
		target = lo(g[2])
		# PAUSE; jmp back to the test: the test block that begins at the
		# target (the first pass falls into it from the block before),
		# and the PAUSE block.
		if (was_pause && insn ~ /^jmp/ && target < lo(pause_addr) && lo(pause_addr) - target <= 128) {
			printf "wait %s %s %s+pause\n", g[2], plus(g[2], 1), fn
			printf "wait %s %s %s+pause\n", pause_addr, plus(addr, 1), fn
			npause = 0
			next
		}
		# A branch back to a PAUSE at most 64 bytes before it: a wait
		# loop from its target to the branch (the plugin looks at where
		# blocks begin).
		for (i = 0; i < npause; i++) {
			if (target <= pause[i] && pause[i] < lo(addr) && lo(addr) - target <= 64) {
				printf "wait %s %s %s+pause\n", g[2], plus(addr, 1), fn
				npause = 0
				break
			}
		}
	}
}
END { exit sites ? 0 : 1 }
' "$dis"
