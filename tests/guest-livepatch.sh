#!/usr/bin/env bash
# The livepatch on one of Debian's unmodified stock kernels (FLAVOR amd64,
# the default, or rt-amd64: tests/guest-livepatch-rt.sh), booted under QEMU
# with the lab's command line: the IPI scenarios before loading, enabled,
# disabled and removed; modules that claim another release, another size of
# the patched function or the other flavor refuse to load; load/disable/
# unload cycles under a storm; no splat. Updates build/report/livepatch.json.
#
# Usage: tests/guest-livepatch.sh [FLAVOR]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh
# shellcheck source=livepatch/verified.env
. livepatch/verified.env

flavor=${1:-amd64}
var=QS_LP_RELEASE_${flavor//-/_}
release=${!var}
var=QS_LP_PACKAGE_${flavor//-/_}
package=${!var}
kernel=/boot/vmlinuz-$release
suite=livepatch
[ "$flavor" = amd64 ] || suite=livepatch-rt

if [ "$flavor" = amd64 ]; then
	t_expect "build refuses another kernel release, naming the verified ones" 1 \
		"verified for ${QS_LP_RELEASE_amd64//+/.} ${QS_LP_RELEASE_rt_amd64//+/.} only, not 6.1.0-99-amd64" \
		env QS_LP_KERNEL=6.1.0-99-amd64 lab/livepatch.sh
fi

if [ ! -f "$kernel" ]; then
	t_fail "$flavor: stock kernel present" "no $kernel: apt-get install $package"
	t_finish
fi
if ! lab/livepatch-initramfs.sh "$flavor" >&2; then
	t_fail "$flavor: livepatch modules built" "lab/livepatch-initramfs.sh failed (output above)"
	t_finish
fi
t_pass "$flavor: livepatch modules built"

# 500 operations per window keep make check near 10 minutes warm; the
# bounds are per 1,000 (broadcast >= 450 of 500, quiet <= 10 of 500), and
# make demo measures 1,000.
export QS_COLLAPSES=${QS_COLLAPSES:-500}
rc=0
# About 5 minutes under TCG on 2 cores for the standard flavor (its
# windows and 20 cycles), 2 for PREEMPT_RT; 900 s leaves room for a loaded
# machine before calling it a hang.
QS_TIMEOUT=900 QS_KERNEL=$kernel QS_INITRAMFS=$QS_BUILD/initramfs-livepatch-$flavor.cpio.gz \
	lab/vm.sh "$suite" || rc=$?

# The module's own guard names both the release and the flavor.
console=$QS_BUILD/runs/$QS_ARCH-$suite/console.log
if grep -aq "built and verified for 6.12.0-quietsync-test (flavor $flavor, .*), this kernel is $release (" "$console"; then
	t_pass "$flavor: the release guard names release and flavor"
else
	t_fail "$flavor: the release guard names release and flavor" "no such message in $console"
fi
lab/livepatch-report.sh >&2 || rc=1
[ "$rc" -eq 0 ] || QS_TEST_FAILED=1
t_finish
