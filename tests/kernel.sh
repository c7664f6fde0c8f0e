#!/usr/bin/env bash
# Build the lab kernel and the initramfs (source, config, build: each script
# decides what is up to date), then check that the options every measurement
# depends on are in the final .config.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

REQUIRED="SMP ACPI PARAVIRT KVM_GUEST MMU_GATHER_RCU_TABLE_FREE NO_HZ_FULL
CONTEXT_TRACKING_USER TRANSPARENT_HUGEPAGE DEBUG_FS FTRACE EVENT_TRACING
TRACEPOINTS KALLSYMS SERIAL_8250_CONSOLE BLK_DEV_INITRD ADVISE_SYSCALLS
CONTEXT_TRACKING_IDLE ARCH_HAS_MM_CPUMASK KUNIT KUNIT_DEBUGFS
MMU_GATHER_KUNIT_TEST TLB_REMOVE_TABLE_SYNC_EVAL GUP_TEST NUMA USERFAULTFD
HUGETLBFS"

t_step "source extracted and patched" lab/source.sh
t_step "config merged and verified" lab/config.sh
t_step "kernel built" lab/build.sh
for opt in $REQUIRED; do
	if grep -qx "CONFIG_$opt=y" "$QS_OBJ/.config"; then
		t_pass "lab config has CONFIG_$opt"
	else
		t_fail "lab config has CONFIG_$opt" "not in $QS_OBJ/.config"
	fi
done
t_step "guest programs and initramfs built" lab/initramfs.sh
t_finish
