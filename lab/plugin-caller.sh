#!/usr/bin/env bash
# The ranges qs-interference measures the caller's side of the sync by,
# from an x86_64 kernel's vmlinux (the lab kernel's; Debian ships none):
#   lab/plugin-caller.sh VMLINUX >> SYMS
#   call START END NAME   the entry of tlb_remove_table_sync_one() and
#                         tlb_remove_table_sync_flushed() (where it exists)
#   ret START END NAME    the instruction after each direct call of one of
#                         them: where the call returns to
#   wait START END NAME   each spin-wait loop of the kernel: a PAUSE and the
#                         branch back to it, at most 64 bytes
#                         (csd_lock_wait(), inlined into
#                         smp_call_function_many_cond(), and the spinlocks'
#                         slow paths): its iterations count the host's
#                         scheduling of the CPU waited for, not work
#   irq START END NAME    each interrupt and exception entry (asm_sysvec_*,
#                         asm_exc_*, asm_common_interrupt, ...): what the
#                         caller's CPU runs from there to its IRETQ is an
#                         interruption of the call, not the call's work
#   switch START END NAME __switch_to_asm: the caller left the CPU (slept)
# A tail call (jmp) of a sync function has no return site of its own: the
# plugin counts such a call as unended (the lab's only ones are in its
# KUnit tests, which run before any window). Exits 1 if no call site is
# found.
set -euo pipefail

vmlinux=${1:?usage: lab/plugin-caller.sh VMLINUX}
[ -r "$vmlinux" ] || { echo "error: cannot read $vmlinux" >&2; exit 2; }
command -v objdump > /dev/null || { echo "error: objdump is missing: apt-get install binutils" >&2; exit 2; }

dis=$(mktemp)
trap 'rm -f "$dis"' EXIT
# Only what the ranges need: headings, PAUSEs, branches, the sync's call
# sites and the instruction after each.
objdump -d --no-show-raw-insn "$vmlinux" |
	grep -E -A1 '>:$|'$'\t''(pause|j[a-z]* +[0-9a-f]+ <|call +[0-9a-f]+ <tlb_remove_table_sync_(one|flushed)>)' > "$dis" || true

# Kernel text addresses need 64 bits, more than awk's doubles hold exactly:
# the arithmetic is on the low 32 bits (text never crosses a 4 GiB line).
awk '
function lo(s) { return strtonum("0x" substr(s, length(s) - 7)) }
function plus(s, n) { return sprintf("%s%08x", substr(s, 1, length(s) - 8), lo(s) + n) }
# A function heading: "ffffffff81188ea0 <tlb_remove_table_sync_one>:".
/^[0-9a-f]+ <[^>]+>:$/ {
	fn = substr($2, 2, length($2) - 3)
	if (fn == "tlb_remove_table_sync_one" || fn == "tlb_remove_table_sync_flushed")
		printf "call %s %s %s\n", $1, plus($1, 1), fn
	else if (fn ~ /^asm_(exc|sysvec)_/ || fn == "asm_common_interrupt" || fn == "asm_spurious_interrupt")
		printf "irq %s %s %s\n", $1, plus($1, 1), fn
	else if (fn == "__switch_to_asm")
		printf "switch %s %s %s\n", $1, plus($1, 1), fn
	npause = 0
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
	if (insn ~ /^call +[0-9a-f]+ <tlb_remove_table_sync_(one|flushed)>/) {
		ret_pending = fn
		next
	}
	if (insn ~ /^pause/) {
		pause[npause++] = lo(addr)
		next
	}
	# A branch back to a PAUSE at most 64 bytes before it: a wait loop from
	# its target to the branch (the plugin looks at where blocks begin).
	if (npause && insn ~ /^j[a-z]* +[0-9a-f]+ </) {
		split(insn, g, / +/)
		target = lo(g[2])
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
