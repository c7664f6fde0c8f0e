#!/usr/bin/env bash
# The livepatch on Debian's unmodified stock kernel, booted under QEMU with
# the lab's command line: the IPI scenario before loading, enabled, disabled
# and removed; modules that claim another release or another size of the
# patched function refuse to load; 20 load/disable/unload cycles under a
# collapse storm; no splat. Writes build/report/livepatch.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh
# shellcheck source=livepatch/verified.env
. livepatch/verified.env

kernel=/boot/vmlinuz-$QS_LP_RELEASE
lp=/lib/quietsync

build_modules() {
	lab/livepatch.sh >&2 &&
		QS_LP_OUT=$QS_BUILD/livepatch-bad-release QS_LP_CLAIM_RELEASE=6.12.0-quietsync-test \
			lab/livepatch.sh >&2 &&
		QS_LP_OUT=$QS_BUILD/livepatch-bad-function \
			QS_LP_CLAIM_FUNC_SIZE=$((QS_LP_FUNC_SIZE + 16)) lab/livepatch.sh >&2
}

t_expect "build refuses another kernel release, naming both" 1 \
	"verified for ${QS_LP_RELEASE//+/.} only, not 6.1.0-99-amd64" \
	env QS_LP_KERNEL=6.1.0-99-amd64 lab/livepatch.sh

if [ ! -f "$kernel" ]; then
	t_fail "stock kernel present" "no $kernel: apt-get install $QS_LP_PACKAGE"
	t_finish
fi
if ! build_modules; then
	t_fail "livepatch modules built" "lab/livepatch.sh failed (output above)"
	t_finish
fi
t_pass "livepatch modules built"

QS_INITRAMFS_NAME=initramfs-livepatch \
QS_INITRAMFS_EXTRA="$QS_BUILD/livepatch/quietsync_livepatch.ko:$lp/quietsync_livepatch.ko $QS_BUILD/livepatch-bad-release/quietsync_livepatch.ko:$lp/bad-release/quietsync_livepatch.ko $QS_BUILD/livepatch-bad-function/quietsync_livepatch.ko:$lp/bad-function/quietsync_livepatch.ko" \
	lab/initramfs.sh >&2

# 500 collapses per window keep make check near 10 minutes warm; the bounds
# are per 1,000 (broadcast >= 450 of 500, quiet <= 10 of 500), and make demo
# measures 1,000.
export QS_COLLAPSES=${QS_COLLAPSES:-500}
rc=0
# About 5 minutes under TCG on 2 cores (four 1,000-collapse windows and 20
# cycles); 900 s leaves room for a loaded machine before calling it a hang.
QS_TIMEOUT=900 QS_KERNEL=$kernel QS_INITRAMFS=$QS_BUILD/initramfs-livepatch.cpio.gz lab/vm.sh livepatch || rc=$?
lab/livepatch-report.sh "$QS_BUILD/runs/$QS_ARCH-livepatch" >&2 || rc=1
exit "$rc"
