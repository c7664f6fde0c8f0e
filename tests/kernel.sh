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

# The build of the same inputs is reused, never that of other inputs or of
# a tree edited by hand (lab/build.sh).

# reused_in_another_clone KEY: the kept build reused where another clone would
# have it, later: this build directory bind-mounted at another path, in a
# mount namespace of its own, its object directory a new one, from a cache
# of its own holding a copy of the entry whose files all date from an hour
# before this tree was patched (as another clone's older build would);
# then make there compiles nothing, and no path of the clone that built it
# is left.
# shellcheck disable=SC2317 # called through t_expect
reused_in_another_clone() {
	local other cache
	other=$(mktemp -d)
	cache=$(mktemp -d)
	# t_expect runs this in a subshell of its own: the trap is its alone.
	# shellcheck disable=SC2064 # the paths are known now
	trap "rm -rf '$QS_BUILD/tests/kbuild-reuse' '$cache'; rmdir '$other' 2> /dev/null" EXIT
	trap 'exit 1' HUP INT TERM
	mkdir -p "$cache/kbuild"
	cp -a "$QS_CACHE/kbuild/$1" "$cache/kbuild/"
	find "$cache/kbuild/$1" -exec touch -h -d "@$(($(stat -c %Y "$QS_SRC/.quietsync-stamp") - 3600))" {} +
	rm -rf "$QS_BUILD/tests/kbuild-reuse"
	mkdir -p "$QS_BUILD/tests/kbuild-reuse"
	cp "$QS_OBJ/.config" "$QS_BUILD/tests/kbuild-reuse/"
	# shellcheck disable=SC2016 # the inner shell expands its own variables
	QS_ARCH=$QS_ARCH QS_CROSS_COMPILE=$QS_CROSS_COMPILE QS_IMAGE=$QS_IMAGE QS_CACHE=$cache \
		CCACHE_DIR=$CCACHE_DIR unshare --mount --propagation private bash -c '
		set -euo pipefail
		mount --bind "$1" "$2"
		export QS_BUILD=$2 QS_SRC=$2/${3##*/} QS_OBJ=$2/tests/kbuild-reuse
		out=$(lab/build.sh 2>&1) || { echo "lab/build.sh failed: $out"; exit 0; }
		grep -q "build: reused " <<< "$out" || { echo "not reused: $out"; exit 0; }
		from=$(sed -n 2p "$5/.quietsync-kbuild")
		left=$(grep -rlIF -e "$from/" -e "$1/" "$QS_OBJ" || true)
		[ -z "$left" ] || { echo "paths of the clone that built it left in: $(head -n 3 <<< "$left" | tr "\n" " ")"; exit 0; }
		[ "$(readlink "$QS_OBJ/source")" = "$QS_SRC" ] || { echo "source link: $(readlink "$QS_OBJ/source")"; exit 0; }
		out=$(make -C "$QS_OBJ" ARCH="$QS_ARCH" CROSS_COMPILE="$QS_CROSS_COMPILE" CC="ccache ${QS_CROSS_COMPILE}gcc" \
			KBUILD_BUILD_USER=quietsync KBUILD_BUILD_HOST=lab "$(basename "$QS_IMAGE")" 2>&1) ||
			{ echo "make failed: $(tail -n 3 <<< "$out" | tr "\n" " ")"; exit 0; }
		built=$({ grep -E "^  (CC|LD|AR|AS) " <<< "$out" || true; } | head -n 3 | tr "\n" " ")
		[ -z "$built" ] || { echo "make rebuilt: $built"; exit 0; }
		cmp -s "$QS_OBJ/$QS_IMAGE" "$4/$QS_IMAGE" || { echo "the image differs from the build'"'"'s"; exit 0; }
		echo "reused at another path: nothing left of the old one, make compiles nothing, the same image"
	' bash "$(cd "$QS_BUILD" && pwd -P)" "$other" "$QS_SRC" "$(cd "$QS_OBJ" && pwd -P)" "$cache/kbuild/$1"
}

# plan_with_config_line: the plan for this tree with one more line in
# .config, in a new object directory.
# shellcheck disable=SC2317 # called through t_expect
plan_with_config_line() {
	local obj=$QS_BUILD/tests/kbuild-other
	rm -rf "$obj"
	mkdir -p "$obj"
	{ cat "$QS_OBJ/.config"; echo "# another option"; } > "$obj/.config"
	QS_OBJ=$obj lab/build.sh --plan
	rm -rf "$obj"
}

# plan_with_other_patch: the plan for this tree when the series names a
# patch changed since lab/source.sh applied it (a copy of the series, one
# line added to the first patch's notes).
# shellcheck disable=SC2317 # called through t_expect
plan_with_other_patch() {
	local dir first lab=${QS_LAB_PATCHES-$QS_PATCHES-lab}
	dir=$(mktemp -d)
	cp -a "$QS_PATCHES/." "$dir/"
	first=$(qs_series_patches "$dir" | head -n 1)
	sed -i '0,/^---$/s//---\nanother note/' "$dir/$first"
	QS_PATCHES=$dir QS_LAB_PATCHES=$lab lab/build.sh --plan
	rm -rf "$dir"
}

# plan_after_touching FILE: the plan with FILE of the tree newer than its
# patches, then FILE's time put back before the stamp's.
# shellcheck disable=SC2317 # called through t_expect
plan_after_touching() {
	touch "$QS_SRC/$1"
	lab/build.sh --plan || true
	touch -d "@$(($(stat -c %Y "$QS_SRC/.quietsync-stamp") - 1))" "$QS_SRC/$1"
}

REUSE_CHECKS=("a second build of the same inputs is up to date"
	"the kept build reused in another clone: no path of the old one left, make compiles nothing, the same image"
	"another .config is another build"
	"a patch changed since the tree was made: not reused"
	"a tree edited after its patches is built, not reused")
plan=$(lab/build.sh --plan 2>&1) || true
case $plan in
"build: not reusable (the tree changed after its patches: "*)
	for what in "${REUSE_CHECKS[@]}"; do
		t_skip "$what" "a file of this tree was changed by hand: ${plan#build: not reusable }"
	done
	;;
"up to date "*)
	key=${plan##* }
	t_expect "${REUSE_CHECKS[0]}" 0 "^up to date $key\$" lab/build.sh --plan
	t_expect "${REUSE_CHECKS[1]}" 0 '^reused at another path: nothing left of the old one, make compiles nothing, the same image$' \
		reused_in_another_clone "$key"
	t_expect "${REUSE_CHECKS[2]}" 0 "^build [0-9a-f]{64}\$" plan_with_config_line
	t_expect "${REUSE_CHECKS[3]}" 0 '^build: not reusable \(.* is not the tree of the tarball and patches named now: run lab/source.sh\)$' \
		plan_with_other_patch
	t_expect "${REUSE_CHECKS[4]}" 0 '^build: not reusable \(the tree changed after its patches: README\)$' \
		plan_after_touching README
	;;
*)
	for what in "${REUSE_CHECKS[@]}"; do
		t_fail "$what" "after the build, lab/build.sh --plan says: $plan"
	done
	;;
esac

for opt in $REQUIRED; do
	if grep -qx "CONFIG_$opt=y" "$QS_OBJ/.config"; then
		t_pass "lab config has CONFIG_$opt"
	else
		t_fail "lab config has CONFIG_$opt" "not in $QS_OBJ/.config"
	fi
done
t_step "guest programs and initramfs built" lab/initramfs.sh
t_finish
