#!/usr/bin/env bash
# The guest harness reports a guest that dies or hangs as a failure that
# names the program that was running and shows the console tail.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

# Cheap (about 1 s): the guest always runs the init and programs of this tree.
lab/initramfs.sh >&2

t_expect "passing guest passes" 0 '^ok boot_check.page_table_sync_compiled_in$' lab/vm.sh smoke
# One panicking boot, two claims about what it printed.
panic_rc=0
panic_out=$(lab/vm.sh harness-panic 2>&1) || panic_rc=$?
# shellcheck disable=SC2317 # called through t_expect
replay_panic_boot() {
	printf '%s\n' "$panic_out"
	return "$panic_rc"
}
t_expect "panic fails and names the program" 1 \
	'not ok harness_panic # died or hung while running' replay_panic_boot
t_expect "panic is reported as a panic" 1 'not ok vm # kernel panic' replay_panic_boot
# 20 s: the guest reaches the hang in about 3 s under TCG.
QS_TIMEOUT=20 t_expect "hang is killed and reported" 1 \
	'not ok vm # guest hung: killed after 20 s' lab/vm.sh harness-hang
t_expect "unknown suite fails" 1 'not ok suite # unknown suite' lab/vm.sh nonsense
t_finish
