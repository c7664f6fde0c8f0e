#!/usr/bin/env bash
# The evaluation patch's interface from user space: the tlb_sync_policy=
# boot parameter (valid, and junk that must leave the default), debugfs
# policy and stats accepting what they document and rejecting junk with
# EINVAL.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

lab/initramfs.sh >&2
t_expect "default boot: policy quiet-flush, debugfs ABI" 0 '^ok debugfs_abi.unknown_policy_gets_einval$' \
	lab/vm.sh abi
QS_CMDLINE_EXTRA="tlb_sync_policy=mm" t_expect "tlb_sync_policy=mm is applied" 0 \
	'^ok debugfs_abi.boot_policy_from_command_line$' lab/vm.sh abi
QS_CMDLINE_EXTRA="tlb_sync_policy=bogus" t_expect "tlb_sync_policy=bogus keeps quiet-flush" 0 \
	'^ok debugfs_abi.boot_policy_from_command_line$' lab/vm.sh abi
console=$QS_BUILD/runs/$QS_ARCH-abi/console.log
if grep -aq 'tlb_sync_policy=bogus: unknown policy, keeping quiet-flush' "$console"; then
	t_pass "tlb_sync_policy=bogus is reported on the console"
else
	t_fail "tlb_sync_policy=bogus is reported on the console" "no warning in $console"
fi
t_finish
