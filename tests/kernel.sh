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
# reused_into_fresh_objects: the kept build copied into a new object
# directory of this clone: the same image, and make there compiles nothing.
# shellcheck disable=SC2317 # called through t_expect
reused_into_fresh_objects() {
	local obj=$QS_BUILD/tests/kbuild-reuse out built rc=0
	rm -rf "$obj"
	mkdir -p "$obj"
	cp "$QS_OBJ/.config" "$obj/"
	out=$(QS_OBJ=$obj lab/build.sh 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q 'build: reused ' <<< "$out"; then
		echo "not reused (exit $rc): $out"
	elif ! cmp -s "$obj/$QS_IMAGE" "$QS_OBJ/$QS_IMAGE"; then
		echo "the reused image differs from the build's"
	else
		out=$(make -C "$obj" ARCH="$QS_ARCH" CC="ccache gcc" mm/mmu_gather.o 2>&1) || rc=$?
		built=$(grep -E '^  (CC|LD|AR) ' <<< "$out" | head -n 3 | tr '\n' ' ')
		if [ "$rc" -ne 0 ]; then
			echo "make in the reused tree failed (exit $rc): $(tail -n 3 <<< "$out" | tr '\n' ' ')"
		elif [ -n "$built" ]; then
			echo "make in the reused tree rebuilt: $built"
		else
			echo "same image, nothing compiled"
		fi
	fi
	rm -rf "$obj"
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

# plan_after_touching FILE: the plan with FILE of the tree newer than its
# patches, then FILE's time put back.
# shellcheck disable=SC2317 # called through t_expect
plan_after_touching() {
	touch "$QS_SRC/$1"
	lab/build.sh --plan || true
	touch -r "$QS_SRC/Makefile" "$QS_SRC/$1"
}

plan=$(lab/build.sh --plan 2>&1) || true
if [ "${plan#build: not reusable}" != "$plan" ]; then
	for what in "a second build of the same inputs is up to date" \
		"the kept build reused in a new object directory: the same image, make compiles nothing there" \
		"another .config is another build" "a tree edited after its patches is built, not reused"; do
		t_skip "$what" "$plan"
	done
else
	key=${plan##* }
	t_expect "a second build of the same inputs is up to date" 0 "^up to date $key\$" lab/build.sh --plan
	t_expect "the kept build reused in a new object directory: the same image, make compiles nothing there" 0 \
		'^same image, nothing compiled$' reused_into_fresh_objects
	t_expect "another .config is another build" 0 "^build [0-9a-f]{64}\$" plan_with_config_line
	t_expect "a tree edited after its patches is built, not reused" 0 \
		'^build: not reusable \(the tree changed after its patches: README\)$' plan_after_touching README
fi
for opt in $REQUIRED; do
	if grep -qx "CONFIG_$opt=y" "$QS_OBJ/.config"; then
		t_pass "lab config has CONFIG_$opt"
	else
		t_fail "lab config has CONFIG_$opt" "not in $QS_OBJ/.config"
	fi
done
t_step "guest programs and initramfs built" lab/initramfs.sh
t_finish
