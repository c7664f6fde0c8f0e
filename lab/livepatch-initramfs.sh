#!/usr/bin/env bash
# The initramfs that tests the livepatch on one stock kernel: the lab's
# guest programs plus, under /lib/quietsync/,
#   quietsync_livepatch.ko               the module for RELEASE
#   bad-release/quietsync_livepatch.ko   claims another release: its own
#                                        guard must refuse it (EINVAL)
#   bad-function/quietsync_livepatch.ko  expects tlb_remove_table_sync_one()
#                                        to call smp_call_function_many():
#                                        its decoding of the kernel's
#                                        function must refuse it (EINVAL)
#   other-flavor/quietsync_livepatch.ko  the other flavour's module claiming
#                                        this release: the kernel's
#                                        modversions check refuses it
# Writes build/initramfs-livepatch-RELEASE.cpio.gz.
#
# Usage: lab/livepatch-initramfs.sh SET FLAVOUR RELEASE
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

other_flavour() {
	case $1 in
	amd64) echo rt-amd64 ;;
	*) echo amd64 ;;
	esac
}

main() {
	local set=${1:-} flavour=${2:-} rel=${3:-} fixtures other lp=/lib/quietsync
	[ -n "$rel" ] || qs_die "usage: lab/livepatch-initramfs.sh SET FLAVOUR RELEASE"
	other=$(other_flavour "$flavour")
	# lab/livepatch-report.sh reads every release's module directory,
	# which lab/livepatch.sh empties before it builds.
	qs_lock livepatch
	fixtures=$QS_BUILD/livepatch-fixtures/$rel
	"$QS_ROOT/lab/livepatch.sh" "$set" "$flavour" "$rel"
	QS_LP_OUT=$fixtures/bad-release QS_LP_CLAIM_RELEASE=6.12.0-quietsync-test \
		"$QS_ROOT/lab/livepatch.sh" "$set" "$flavour" "$rel"
	QS_LP_OUT=$fixtures/bad-function QS_LP_CLAIM_CALLEE=smp_call_function_many \
		"$QS_ROOT/lab/livepatch.sh" "$set" "$flavour" "$rel"
	QS_LP_OUT=$fixtures/other-flavor QS_LP_CLAIM_RELEASE=$rel \
		"$QS_ROOT/lab/livepatch.sh" "$set" "$other"
	QS_INITRAMFS_NAME=initramfs-livepatch-$rel \
	QS_INITRAMFS_EXTRA="$QS_BUILD/livepatch/$rel/quietsync_livepatch.ko:$lp/quietsync_livepatch.ko $fixtures/bad-release/quietsync_livepatch.ko:$lp/bad-release/quietsync_livepatch.ko $fixtures/bad-function/quietsync_livepatch.ko:$lp/bad-function/quietsync_livepatch.ko $fixtures/other-flavor/quietsync_livepatch.ko:$lp/other-flavor/quietsync_livepatch.ko" \
		"$QS_ROOT/lab/initramfs.sh"
}

main "$@"
