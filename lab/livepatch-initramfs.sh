#!/usr/bin/env bash
# The initramfs that tests the livepatch on one stock flavor: the lab's
# guest programs plus, under /lib/quietsync/,
#   quietsync_livepatch.ko               the module for FLAVOR
#   bad-release/quietsync_livepatch.ko   claims another release: its own
#                                        guard must refuse it (EINVAL)
#   bad-function/quietsync_livepatch.ko  expects another size of
#                                        tlb_remove_table_sync_one (EINVAL)
#   other-flavor/quietsync_livepatch.ko  the other flavor's module claiming
#                                        this release: the kernel's
#                                        modversions check refuses it
# Writes build/initramfs-livepatch-FLAVOR.cpio.gz.
#
# Usage: lab/livepatch-initramfs.sh FLAVOR    (amd64 or rt-amd64)
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"
# shellcheck source=livepatch/verified.env
. "$QS_ROOT/livepatch/verified.env"

other_flavor() {
	local f
	for f in $QS_LP_FLAVORS; do
		[ "$f" = "$1" ] || { echo "$f"; return; }
	done
}

main() {
	local flavor=${1:-} fixtures release size other lp=/lib/quietsync var
	case " $QS_LP_FLAVORS " in
	*" $flavor "*) ;;
	*) qs_die "usage: lab/livepatch-initramfs.sh FLAVOR (one of: $QS_LP_FLAVORS)" ;;
	esac
	var=QS_LP_RELEASE_${flavor//-/_}
	release=${!var}
	var=QS_LP_FUNC_SIZE_${flavor//-/_}
	size=${!var}
	other=$(other_flavor "$flavor")
	fixtures=$QS_BUILD/livepatch-fixtures/$flavor
	"$QS_ROOT/lab/livepatch.sh" "$flavor"
	QS_LP_OUT=$fixtures/bad-release QS_LP_CLAIM_RELEASE=6.12.0-quietsync-test \
		"$QS_ROOT/lab/livepatch.sh" "$flavor"
	QS_LP_OUT=$fixtures/bad-function QS_LP_CLAIM_FUNC_SIZE=$((size + 16)) \
		"$QS_ROOT/lab/livepatch.sh" "$flavor"
	QS_LP_OUT=$fixtures/other-flavor QS_LP_CLAIM_RELEASE=$release \
		"$QS_ROOT/lab/livepatch.sh" "$other"
	QS_INITRAMFS_NAME=initramfs-livepatch-$flavor \
	QS_INITRAMFS_EXTRA="$QS_BUILD/livepatch/$flavor/quietsync_livepatch.ko:$lp/quietsync_livepatch.ko $fixtures/bad-release/quietsync_livepatch.ko:$lp/bad-release/quietsync_livepatch.ko $fixtures/bad-function/quietsync_livepatch.ko:$lp/bad-function/quietsync_livepatch.ko $fixtures/other-flavor/quietsync_livepatch.ko:$lp/other-flavor/quietsync_livepatch.ko" \
		"$QS_ROOT/lab/initramfs.sh"
}

main "$@"
