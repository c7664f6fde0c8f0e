#!/usr/bin/env bash
# make bench: what each policy costs, measured on the same work.
#   1. the lab kernel, 4 vCPUs, one boot, in rounds: each round the
#      collapse scenario under every policy (sync IPIs per CPU role, sync
#      latency, collapses/s), then GUP-fast throughput (the kernel's
#      gup_test selftest, lab/selftests.sh) and oslat on the isolated CPUs
#      under a collapse storm, per policy (guest/bench_policy.c); the
#      policies' order rotated by one each round, so that load from outside
#      the guest lands on every policy alike, and every figure reported as
#      its median and range over the rounds;
#   2. Debian's stock kernel, unmodified, the same scenario and oslat: the
#      column "what users run today";
#   3. scaling: the scenario at 2, 4 and 8 vCPUs (CPU0 collapses, CPU1
#      idle, every other CPU another process spinning in user space);
#   4. interference, counted by the emulator (docs/interference.md): the
#      lab kernel booted with the TCG plugin, both scenarios under every
#      policy, twice in the nohz_full layout (the second run shows what is
#      deterministic) and once isolcpus-only, the stock kernel once, and
#      the arm64 lab kernel (cross-built without KASAN) in both layouts:
#      interruptions, kernel instructions and their lengths per isolated
#      CPU (lab/interference-summary.sh);
#   5. the caller's cost, counted by the emulator: the scaling layout at 2,
#      4 and 8 vCPUs, both scenarios, under the plugin with the lab
#      kernel's vmlinux: the instructions CPU0 spends in each sync, wait
#      loops and interrupts left out (lab/caller-cost-summary.sh).
# Then lab/bench-report.sh writes build/bench/{bench.json,bench.md,*.png}.
#
# Environment: QS_BENCH_ROUNDS (5), QS_BENCH_OPS (collapses per policy
#   and round, 200), QS_BENCH_SCALING_OPS (per policy and CPU count, 200),
#   QS_BENCH_VCPUS ("2 4 8"), QS_BENCH_OSLAT_SECONDS (per policy and
#   round, 4), QS_BENCH_GUP_ROUNDS (gup_test runs per policy and round,
#   1), QS_BENCH_STOCK (the stock kernel image to
#   compare; default: the newest release of Debian 12's 6.12 line, fetched
#   by lab/stock-kernel.sh; "" to leave it out), QS_BENCH_DIR (build/bench),
#   QS_BENCH_INTERFERENCE_OPS (operations per policy and scenario in the
#   plugin's boots, 200; 0 leaves them out), QS_BENCH_CALLER_OPS
#   (operations per policy and scenario in the caller's boots, 50; 0
#   leaves them out), QS_BENCH_CALLER_VCPUS (QS_BENCH_VCPUS),
#   QS_BENCH_ARM64 (1: the plugin's boot on arm64 too, with an arm64 lab
#   kernel without KASAN cross-built for it; 0 leaves it out).
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

QS_BENCH_ROUNDS=${QS_BENCH_ROUNDS:-5}
QS_BENCH_OPS=${QS_BENCH_OPS:-200}
QS_BENCH_SCALING_OPS=${QS_BENCH_SCALING_OPS:-200}
QS_BENCH_VCPUS=${QS_BENCH_VCPUS:-2 4 8}
QS_BENCH_OSLAT_SECONDS=${QS_BENCH_OSLAT_SECONDS:-4}
QS_BENCH_GUP_ROUNDS=${QS_BENCH_GUP_ROUNDS:-1}
QS_BENCH_STOCK=${QS_BENCH_STOCK-default}
QS_BENCH_DIR=${QS_BENCH_DIR:-$QS_BUILD/bench}
QS_BENCH_INTERFERENCE_OPS=${QS_BENCH_INTERFERENCE_OPS:-200}
QS_BENCH_CALLER_OPS=${QS_BENCH_CALLER_OPS:-50}
QS_BENCH_ARM64=${QS_BENCH_ARM64:-1}
QS_BENCH_CALLER_VCPUS=${QS_BENCH_CALLER_VCPUS:-$QS_BENCH_VCPUS}
POLICIES=$QS_LAB_POLICIES

# oslat (Debian's rt-tests) as shipped, with its shared libraries, in the
# initramfs: "SOURCE:/path/in/guest" items.
oslat_files() {
	local oslat lib
	oslat=$(command -v oslat) || qs_die "oslat is missing: apt-get install rt-tests"
	printf '%s:/usr/bin/oslat ' "$oslat"
	for lib in $(ldd "$oslat" | grep -o '/[^ ]*'); do
		printf '%s:%s ' "$lib" "$lib"
	done
}

# boot NAME SUITE VCPUS KERNEL OPS POLICIES: one guest run into
# build/runs/ARCH-NAME, failing the bench if the guest's tests fail.
boot() {
	local name=$1 suite=$2 vcpus=$3 kernel=$4 ops=$5 policies=$6 started=$SECONDS
	qs_log "bench: $name: $vcpus vCPUs, $ops collapses per policy and round ($policies)"
	QS_RUN_NAME=$name QS_SMP=$vcpus QS_KERNEL=$kernel QS_COLLAPSES=$ops \
		QS_POLICIES=$policies QS_TIMEOUT=1800 \
		QS_INITRAMFS=$QS_BUILD/initramfs-bench.cpio.gz \
		QS_CMDLINE_EXTRA="qs.bench_rounds=$QS_BENCH_ROUNDS qs.gup_rounds=$QS_BENCH_GUP_ROUNDS qs.oslat_seconds=$QS_BENCH_OSLAT_SECONDS" \
		"$QS_ROOT/lab/vm.sh" "$suite" > "$QS_BENCH_DIR/$name.verdict" ||
		qs_die "bench: the $name run failed: $(grep '^not ok' "$QS_BENCH_DIR/$name.verdict" | head -n 3 | tr '\n' ' ')(build/runs/$QS_ARCH-$name)"
	qs_log "bench: $name done in $((SECONDS - started)) s"
	echo "$QS_BUILD/runs/$QS_ARCH-$name" >> "$QS_BENCH_DIR/runs"
}

# interference NAME KERNEL POLICIES LAYOUT: one boot with the TCG plugin
# (LAYOUT nohz_full or isolcpus; QS_ARCH's kernel), its rows in
# BENCH_DIR/NAME.json, listed in BENCH_DIR/interference-runs as "NAME
# LAYOUT FILE ARCH".
interference() {
	local name=$1 kernel=$2 policies=$3 layout=$4 started=$SECONDS nohz=''
	[ "$layout" = isolcpus ] && nohz=none
	qs_log "bench: $name: the TCG plugin, $QS_BENCH_INTERFERENCE_OPS operations per policy and scenario ($policies, $layout)"
	QS_PLUGIN=1 QS_RUN_NAME=bench-$name QS_KERNEL=$kernel QS_POLICIES=$policies \
		QS_COLLAPSES=$QS_BENCH_INTERFERENCE_OPS QS_TIMEOUT=1800 QS_NOHZ_FULL=$nohz \
		QS_INITRAMFS=${initramfs:-$QS_BUILD/initramfs-bench.cpio.gz} \
		"$QS_ROOT/lab/vm.sh" interference > "$QS_BENCH_DIR/$name.verdict" ||
		qs_die "bench: the $name run failed: $(grep '^not ok' "$QS_BENCH_DIR/$name.verdict" | head -n 3 | tr '\n' ' ')(build/runs/$QS_ARCH-bench-$name)"
	"$QS_ROOT/lab/interference-report.sh" "$QS_BUILD/runs/$QS_ARCH-bench-$name" > "$QS_BENCH_DIR/$name.json"
	echo "$name $layout $QS_BENCH_DIR/$name.json $QS_ARCH" >> "$QS_BENCH_DIR/interference-runs"
	qs_log "bench: $name done in $((SECONDS - started)) s"
}

# The arm64 lab kernel without KASAN (configs/arm64.config + lab, its own
# object directory: the arm64 suites' kernel is the debug one) and its
# guest programs; prints the kernel's path.
arm64_kernel() {
	local obj=$QS_BUILD/obj-arm64
	qs_log "bench: the arm64 lab kernel without KASAN ($obj)"
	QS_ARCH=arm64 QS_CONFIGS=lab QS_OBJ=$obj "$QS_ROOT/lab/config.sh" >&2
	QS_ARCH=arm64 QS_CONFIGS=lab QS_OBJ=$obj "$QS_ROOT/lab/build.sh" >&2
	QS_ARCH=arm64 QS_OBJ=$obj QS_INITRAMFS_NAME=initramfs-arm64-bench "$QS_ROOT/lab/initramfs.sh" >&2
	echo "$obj"
}

# caller VCPUS: one boot with the TCG plugin and the lab kernel's vmlinux
# in the scaling layout, its rows in BENCH_DIR/caller-VCPUS.json, listed in
# BENCH_DIR/caller-runs as "NAME VCPUS FILE".
caller() {
	local vcpus=$1 name=caller-$1 started=$SECONDS
	qs_log "bench: $name: the caller's cost at $vcpus vCPUs, $QS_BENCH_CALLER_OPS operations per policy and scenario"
	QS_PLUGIN=1 QS_RUN_NAME=bench-$name QS_SMP=$vcpus QS_POLICIES=$POLICIES \
		QS_COLLAPSES=$QS_BENCH_CALLER_OPS QS_TIMEOUT=1800 \
		QS_INITRAMFS=$QS_BUILD/initramfs-bench.cpio.gz \
		"$QS_ROOT/lab/vm.sh" caller-cost > "$QS_BENCH_DIR/$name.verdict" ||
		qs_die "bench: the $name run failed: $(grep '^not ok' "$QS_BENCH_DIR/$name.verdict" | head -n 3 | tr '\n' ' ')(build/runs/$QS_ARCH-bench-$name)"
	"$QS_ROOT/lab/interference-report.sh" "$QS_BUILD/runs/$QS_ARCH-bench-$name" > "$QS_BENCH_DIR/$name.json"
	echo "$name $vcpus $QS_BENCH_DIR/$name.json" >> "$QS_BENCH_DIR/caller-runs"
	qs_log "bench: $name done in $((SECONDS - started)) s"
}

main() {
	local v obj kernel=$QS_OBJ/arch/x86/boot/bzImage
	[ -f "$kernel" ] || qs_die "no lab kernel $kernel: run 'make kernel' first"
	mkdir -p "$QS_BENCH_DIR"
	: > "$QS_BENCH_DIR/runs"
	rm -f "$QS_BENCH_DIR"/interference* "$QS_BENCH_DIR"/caller*
	QS_INITRAMFS_NAME=initramfs-bench \
		QS_INITRAMFS_EXTRA="$(oslat_files) $("$QS_ROOT/lab/selftests.sh" gup_test)" \
		"$QS_ROOT/lab/initramfs.sh"
	boot bench-policies bench 4 "$kernel" "$QS_BENCH_OPS" "$POLICIES"
	if [ "$QS_BENCH_STOCK" = default ]; then
		QS_BENCH_STOCK=$("$QS_ROOT/lab/stock-kernel.sh" deb12-6.12 amd64)/vmlinuz
	fi
	if [ -n "$QS_BENCH_STOCK" ]; then
		[ -f "$QS_BENCH_STOCK" ] ||
			qs_die "no stock kernel $QS_BENCH_STOCK (or QS_BENCH_STOCK= to leave it out)"
		boot bench-stock bench 4 "$QS_BENCH_STOCK" "$QS_BENCH_OPS" stock
	fi
	for v in $QS_BENCH_VCPUS; do
		boot "bench-scaling-$v" bench-scaling "$v" "$kernel" "$QS_BENCH_SCALING_OPS" "$POLICIES"
	done
	: > "$QS_BENCH_DIR/interference-runs"
	if [ "$QS_BENCH_INTERFERENCE_OPS" -gt 0 ]; then
		interference interference-1 "$kernel" "$POLICIES" nohz_full
		interference interference-2 "$kernel" "$POLICIES" nohz_full
		interference interference-isolcpus "$kernel" "$POLICIES" isolcpus
		[ -z "$QS_BENCH_STOCK" ] ||
			interference interference-stock "$QS_BENCH_STOCK" stock nohz_full
		if [ "$QS_BENCH_ARM64" = 1 ]; then
			obj=$(arm64_kernel)
			QS_ARCH=arm64 QS_OBJ=$obj initramfs=$QS_BUILD/initramfs-arm64-bench.cpio.gz \
				interference interference-arm64 "$obj/arch/arm64/boot/Image" "$POLICIES" nohz_full
			QS_ARCH=arm64 QS_OBJ=$obj initramfs=$QS_BUILD/initramfs-arm64-bench.cpio.gz \
				interference interference-arm64-isolcpus "$obj/arch/arm64/boot/Image" "$POLICIES" isolcpus
		fi
		"$QS_ROOT/lab/interference-summary.sh" "$QS_BENCH_DIR"
	fi
	if [ "$QS_BENCH_CALLER_OPS" -gt 0 ]; then
		: > "$QS_BENCH_DIR/caller-runs"
		for v in $QS_BENCH_CALLER_VCPUS; do
			caller "$v"
		done
		"$QS_ROOT/lab/caller-cost-summary.sh" "$QS_BENCH_DIR"
	fi
	"$QS_ROOT/lab/bench-report.sh" "$QS_BENCH_DIR"
}

main "$@"
