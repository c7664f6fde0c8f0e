# shellcheck shell=bash disable=SC2034
# Sourced by every lab script: the kernel base and its version, the paths
# under build/ and the logging helpers. This is the one place they live.

QS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QS_BUILD=${QS_BUILD:-$QS_ROOT/build}
QS_ARCH=${QS_ARCH:-x86_64}
QS_REPORT=$QS_BUILD/report
QS_PACKAGES=${QS_PACKAGES:-$QS_ROOT/lab/packages.txt}
# Outside the clone, so a CI run on the same machine starts warm: ccache,
# Debian's stock kernels and their headers, the private apt lists.
if [ "$(id -u)" -eq 0 ]; then
	QS_CACHE=${QS_CACHE:-/var/cache/quietsync}
else
	QS_CACHE=${QS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/quietsync}
fi
export CCACHE_DIR=${CCACHE_DIR:-$QS_CACHE/ccache}
# Paths under build/ are hashed relative to it, so a clone in another folder
# (as CI makes) hits the cache its predecessors filled.
export CCACHE_BASEDIR=$QS_BUILD
export CCACHE_NOHASHDIR=true

# The base the series applies to (README, "Mainline"): 6.12, the Debian
# backport, pinned to the bookworm linux-source-6.12 the host installs; or
# 7.3, the mainline series, which follows the archive: lab/source.sh fetches
# the newest linux-source-7.3 (trixie-backports) into $QS_CACHE/source and
# the tree must be a 7.3.y. 6.12 keeps the object directories it always had.
QS_BASE=${QS_BASE:-6.12}
case $QS_BASE in
6.12)
	QS_KERNEL_VERSION=6.12.117
	QS_SOURCE_TARBALL=${QS_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
	QS_SRC=$QS_BUILD/linux-$QS_KERNEL_VERSION
	QS_BASE_SUFFIX=
	;;
7.3)
	QS_KERNEL_VERSION=7.3
	QS_SOURCE_TARBALL=${QS_SOURCE_TARBALL:-$QS_CACHE/source/linux-source-7.3.tar.xz}
	QS_SRC=$QS_BUILD/linux-7.3
	QS_BASE_SUFFIX=-7.3
	;;
*)
	printf 'error: unsupported QS_BASE=%s (6.12, 7.3)\n' "$QS_BASE" >&2
	exit 1
	;;
esac
QS_PATCHES=${QS_PATCHES:-$QS_ROOT/patches/linux-$QS_BASE}
# The lab's queue, applied after the series: what is never mailed (the
# evaluation policies, the debug knobs of the negative controls). Empty
# (QS_LAB_PATCHES=) builds the series as it would be mailed; a directory
# without a series file is an empty queue.
QS_LAB_PATCHES=${QS_LAB_PATCHES-$QS_PATCHES-lab}
# The series alone has its tree and objects in build/series/, beside the
# lab's, under the same names one level down: ccache sees paths relative to
# the object directory, so it finds the lab build's objects for every file
# the queue does not change.
QS_SERIES_DIR=
if [ -z "$QS_LAB_PATCHES" ]; then
	QS_SERIES_DIR=/series
	QS_SRC=$QS_BUILD$QS_SERIES_DIR/${QS_SRC##*/}
fi

# Per QS_ARCH: the kernel's config fragments and object directory, the
# compiler prefix (the kernel and the guest programs alike), the kernel
# image under the object directory, the QEMU binary and its Debian package.
# arm64 has one kernel per base, the debug one (KASAN, fault injection,
# the negative control): one cross build for every arm64 suite of that
# base (tests/arm64.sh runs the 7.3 one; QS_BASE=6.12 the backport's).
case $QS_ARCH in
arm64)
	QS_DEFAULT_CONFIGS="lab debug"
	QS_OBJ=${QS_OBJ:-$QS_BUILD$QS_SERIES_DIR/obj-arm64-debug$QS_BASE_SUFFIX}
	QS_CROSS_COMPILE=aarch64-linux-gnu-
	QS_IMAGE=arch/arm64/boot/Image
	QS_QEMU=qemu-system-aarch64
	QS_QEMU_PACKAGE=qemu-system-arm
	;;
x86_64)
	QS_DEFAULT_CONFIGS=lab
	QS_OBJ=${QS_OBJ:-$QS_BUILD$QS_SERIES_DIR/obj-$QS_ARCH$QS_BASE_SUFFIX}
	QS_CROSS_COMPILE=
	QS_IMAGE=arch/x86/boot/bzImage
	QS_QEMU=qemu-system-x86_64
	QS_QEMU_PACKAGE=qemu-system-x86
	;;
*)
	printf 'error: unsupported QS_ARCH=%s (x86_64, arm64)\n' "$QS_ARCH" >&2
	exit 1
	;;
esac

# The lab queue's evaluation policies (patches/linux-*-lab), in the order
# make bench runs them and its tables and plots show them.
QS_LAB_POLICIES=broadcast,mm,kernel-state,rcu-exp,rcu,quiet,flush-ipi,quiet-flush

# The negative controls' symptoms on the console, one definition for the
# guests' judges (tests/arm64.sh, tests/safety.sh, tests/console-scan.sh)
# and lab/safety-report.sh: KASAN catching GUP-fast's read of the freed
# table (use-after-free while it is free, (slab-)out-of-bounds once the page
# is reused; guest/race_stress.c checks the same three), and gup_test's pin
# check, which a walker that went on through the stale table may trip first
# (6.12's WARN format and 7.3's).
QS_GUP_FAST_KASAN_RE='BUG: KASAN: (use-after-free|(slab-)?out-of-bounds) in gup_fast'
QS_GUP_TEST_WARN_RE='WARNING: (CPU: [0-9]+ PID: [0-9]+ at [^ ]*mm/gup_test\.c:[0-9]+ gup_test_ioctl|[^ ]*mm/gup_test\.c:[0-9]+ at gup_test_ioctl)'

# awk: val("key") is the value of "key=value" on the current line; the
# reports read the guests' "# metric key=value ..." lines with it.
# shellcheck disable=SC2016 # awk code, not shell
QS_AWK_VAL='
function val(key,   i, kv) {
	for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) return kv[2] }
	return ""
}'

# qs_metrics KTAP_LOG: the guest's "# metric a=1 b=2" lines as "a=1 b=2",
# each scenario line with its scenario= (logs from before the hugetlb
# scenario: collapse) and, as ops=, the count the reports divide IPIs by:
# the window's attempts where the guest reports them (a collapse retried
# after EAGAIN may have synced in each attempt), else its operations
# (older logs: collapses=).
qs_metrics() {
	tr -d '\r' < "$1" | sed -n 's/^# metric //p' | awk "$QS_AWK_VAL"'
	val("scenario") == "" && (val("collapses") != "" || val("role") != "") { $0 = "scenario=collapse " $0 }
	val("ops") == "" && val("collapses") != "" { $0 = $0 " ops=" val("collapses") }
	val("attempts") != "" { a = val("attempts"); sub(/ ops=[^ ]*/, " ops=" a) }
	{ print }'
}

# The patch file names of DIR/series (default: the series, patches/linux-
# $QS_BASE), in order: blank lines and everything after a '#' are ignored;
# nothing when DIR is empty or has no series file.
qs_series_patches() {
	local line dir=${1-$QS_PATCHES}
	[ -n "$dir" ] && [ -f "$dir/series" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		line=${line//[[:space:]]/}
		if [ -n "$line" ]; then
			printf '%s\n' "$line"
		fi
	done < "$dir/series"
}

qs_log() {
	printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

qs_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# qs_run_finished RUN_DIR: lab/vm.sh has judged the guest run (its result
# is PASS or FAIL); a run still booting or running, which another suite may
# have started beside this one, is not read.
qs_run_finished() {
	local result
	result=$(cat "$1/result" 2> /dev/null) || return 1
	[ "$result" = PASS ] || [ "$result" = FAIL ]
}

# qs_lock NAME [DIR]: hold the lock DIR/NAME (DIR: $QS_BUILD/locks) until this
# shell exits. tests/run.sh runs guest suites side by side; the steps that
# write a file another suite writes or reads (an initramfs, the selftests'
# build, a report, the private apt lists, a stock kernel's unpacking) take
# the lock of that file first. Never taken twice by one process tree: a
# child's flock on a lock its parent holds would wait forever.
qs_lock() {
	local dir=${2:-$QS_BUILD/locks} fd
	mkdir -p "$dir"
	exec {fd}>> "$dir/$1"
	flock "$fd"
}
