#!/usr/bin/env bash
# Boot the lab kernel in QEMU with isolated CPUs, run one guest suite and
# judge it: KTAP from the second channel (x86_64: ttyS1; arm64: the virtio
# console hvc0, as the virt machine has one UART) with lab/ktap-verdict.sh,
# and kernel splats in the console log (lab/scan-console.sh). A panic,
# hang, missing plan, "not ok" or splat fails the run and prints the
# console tail and the test that was running. Logs stay in
# build/runs/ARCH-SUITE/.
#
# Usage: lab/vm.sh SUITE
# Environment: QS_SMP (4), QS_MEM (2G), QS_TIMEOUT (seconds, 600),
#   QS_ARCH (x86_64; arm64: qemu-system-aarch64 -M virt, always TCG),
#   QS_ISOLATED (1-3), QS_NOHZ_FULL (the CPUs of nohz_full= and rcu_nocbs=,
#   QS_ISOLATED; fewer leaves the others isolcpus= only; "none": no
#   nohz_full= or rcu_nocbs= at all, every isolated CPU isolcpus= only), QS_COLLAPSES (1000), QS_POLICIES (comma list, default
#   every policy the kernel has), QS_ROUNDS (hugetlb-unshare rounds, default
#   QS_COLLAPSES), QS_CMDLINE_EXTRA (appended to the kernel
#   command line), QS_KERNEL (the lab kernel image),
#   QS_ACCEL (auto: KVM only if a short probe boots, else TCG),
#   QS_RUN_NAME (the run's directory name, default SUITE),
#   QS_SYNC_EVENT (csd: the csd:csd_function_entry trace event, the
#   default; kprobe: a kprobe event on the sync callback, for kernels
#   before 6.4, which have no csd events),
#   QS_DISK (a raw disk image, attached as virtio disk /dev/vda with
#   snapshot=on: the guest's writes are discarded at power-off; the package
#   suite boots Debian's own root file system from it),
#   QS_EXPECT_SPLAT (an extended regex: a negative control's expected
#   splat; the run then passes only if the console has it and no other
#   but those matching QS_ALLOW_SPLAT, the bug's known other symptoms),
#   QS_CONTROL_STEP (an extended regex of a step's "quietsync: running"
#   line: a negative control that may, but need not, trip a detector;
#   in that step only, splats matching QS_ALLOW_SPLAT are allowed,
#   lab/control-splats.sh),
#   QS_PLUGIN (1: load the TCG plugin lab/plugin/qs-interference.c, which
#   counts each vCPU's kernel instructions in the windows the guest marks,
#   into build/runs/.../plugin.txt; TCG, nokaslr, and the kernel's
#   QS_SYSTEM_MAP, default the lab kernel's when QS_KERNEL is the lab
#   kernel; for any other kernel, or a stub map, lab/kallsyms.sh reads
#   /proc/kallsyms in a boot of its own; and QS_VMLINUX, default the lab
#   kernel's on x86_64, from which lab/plugin-caller.sh takes the ranges
#   that measure the caller's side of each sync).
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

QS_SMP=${QS_SMP:-4}
QS_MEM=${QS_MEM:-2G}
QS_TIMEOUT=${QS_TIMEOUT:-600}
# CPUs 1..QS_SMP-1, as the kernel prints such a list back ("1", "1-3").
QS_ISOLATED=${QS_ISOLATED:-$([ "$QS_SMP" -eq 2 ] && echo 1 || echo "1-$((QS_SMP - 1))")}
QS_COLLAPSES=${QS_COLLAPSES:-1000}
QS_KERNEL=${QS_KERNEL:-$QS_OBJ/$QS_IMAGE}
QS_INITRAMFS=${QS_INITRAMFS:-$QS_BUILD/initramfs-$QS_ARCH.cpio.gz}
QS_ACCEL=${QS_ACCEL:-auto}
QS_PLUGIN=${QS_PLUGIN:-0}
# The lab kernel's own System.map and (x86_64) vmlinux; another kernel's
# symbols come from lab/kallsyms.sh (plugin_args), and it has no vmlinux.
if [ "$QS_KERNEL" = "$QS_OBJ/$QS_IMAGE" ]; then
	QS_SYSTEM_MAP=${QS_SYSTEM_MAP:-$QS_OBJ/System.map}
	[ "$QS_ARCH" != x86_64 ] || QS_VMLINUX=${QS_VMLINUX:-$QS_OBJ/vmlinux}
fi
QS_SYSTEM_MAP=${QS_SYSTEM_MAP:-}
QS_VMLINUX=${QS_VMLINUX:-}
if [ "$QS_PLUGIN" = 1 ]; then
	# Plugins see TCG's translation only; System.map's addresses hold
	# only without KASLR.
	QS_ACCEL=tcg
	QS_CMDLINE_EXTRA="${QS_CMDLINE_EXTRA:+$QS_CMDLINE_EXTRA }nokaslr"
fi

arch_cmdline() {
	case $QS_ARCH in
	arm64) printf '%s' "console=ttyAMA0 qs.ktap=hvc0" ;;
	*) printf '%s' "console=ttyS0 tsc=reliable" ;;
	esac
}

# The IPI counter's trace event is enabled from the command line, before
# the secondary CPUs start, and the guest programs never switch it off:
# under multi-threaded TCG, x86 text patching (text_poke_bp(), here the
# event's static key) can leave another vCPU a stale translation of the
# temporary INT3 (QEMU invalidates a code page's translations before the
# store, not after), and the next pass over the site is "Oops: int3"
# (docs/lab.md, "Text patching under TCG").
# Kernels before 6.4 have no csd events: there a kprobe event on the sync
# callback, created and enabled by kprobe_event= at boot, counts them.
sync_event_cmdline() {
	case ${QS_SYNC_EVENT:-csd} in
	csd) printf '%s' " trace_event=csd:csd_function_entry" ;;
	kprobe) printf '%s' " kprobe_event=p:quietsync/sync_ipi,tlb_remove_table_smp_sync" ;;
	*) qs_die "QS_SYNC_EVENT=$QS_SYNC_EVENT: csd or kprobe" ;;
	esac
}

# The isolation of QS_ISOLATED: nohz_full= and rcu_nocbs= on QS_NOHZ_FULL
# (default all of them), none of either with QS_NOHZ_FULL=none.
isolation_cmdline() {
	local nohz=${QS_NOHZ_FULL:-$QS_ISOLATED}
	if [ "$nohz" = none ]; then
		printf '%s' " isolcpus=$QS_ISOLATED"
	else
		printf '%s' " nohz_full=$nohz isolcpus=$QS_ISOLATED rcu_nocbs=$nohz"
	fi
}

kernel_cmdline() {
	local suite=$1
	printf '%s' "$(arch_cmdline) panic=-1" \
		"$(isolation_cmdline)" \
		"$(sync_event_cmdline)" \
		" qs.suite=$suite qs.collapses=$QS_COLLAPSES" \
		"${QS_POLICIES:+ qs.policies=$QS_POLICIES}" \
		"${QS_ROUNDS:+ qs.rounds=$QS_ROUNDS}" \
		"${QS_CMDLINE_EXTRA:+ $QS_CMDLINE_EXTRA}"
}

# qemu_args ACCEL CONSOLE_LOG KTAP_LOG CMDLINE: fill the QEMU_ARGS array.
qemu_args() {
	local accel=$1
	[ "$accel" = tcg ] && accel="tcg,thread=multi"
	# -nodefaults: no VGA, NIC, CD-ROM, floppy or parallel port. A
	# distribution kernel's udev loads a driver for each (bochs-drm drew
	# fbcon into emulated video memory), and the CD-ROM's media polling
	# lost interrupts and timed out every few seconds while SCHED_FIFO
	# tasks held the vCPUs (package boots, 2026-12-06). The serial ports
	# below are the only devices besides the disk.
	QEMU_ARGS=(-nodefaults -accel "$accel" -cpu max -smp "$QS_SMP" -m "$QS_MEM"
		-no-reboot -display none -monitor none
		-kernel "$QS_KERNEL" -initrd "$QS_INITRAMFS" -append "$4"
		-serial "file:$2")
	# snapshot=on: the guest's writes go to a temporary overlay, dropped
	# when QEMU exits, so its flushes protect nothing: cache=unsafe
	# ignores them (dpkg syncs every file it unpacks; installing the
	# headers packages in a package boot took 18 minutes, 2026-12-06).
	[ -z "${QS_DISK:-}" ] ||
		QEMU_ARGS+=(-drive "file=$QS_DISK,format=raw,if=virtio,snapshot=on,cache=unsafe")
	case $QS_ARCH in
	arm64)
		QEMU_ARGS+=(-M virt -device virtio-serial-device
			-chardev "file,id=ktap,path=$3"
			-device "virtconsole,chardev=ktap") ;;
	*) QEMU_ARGS+=(-serial "file:$3") ;;
	esac
}

# KVM hangs at boot on these machines (nested): use it only if the smoke
# suite boots within 20 s. The answer is cached per build directory.
choose_accel() {
	local cache=$QS_BUILD/accel-$QS_ARCH dir
	if [ "$QS_ACCEL" != auto ]; then
		echo "$QS_ACCEL"
		return
	fi
	if [ "$QS_ARCH" != x86_64 ]; then
		echo tcg
		return
	fi
	# Suites boot side by side (tests/run.sh): one probe, read when done.
	qs_lock "accel-$QS_ARCH"
	if [ -f "$cache" ]; then
		cat "$cache"
		return
	fi
	echo tcg > "$cache"
	if [ -w /dev/kvm ]; then
		dir=$(mktemp -d)
		qs_log "vm: probing KVM (20 s at most)"
		qemu_args kvm "$dir/c" "$dir/k" "$(kernel_cmdline smoke)"
		if timeout -k 2 20 qemu-system-x86_64 "${QEMU_ARGS[@]}" > /dev/null 2>&1 &&
			grep -q 'suite done' "$dir/k"; then
			echo kvm > "$cache"
		fi
		rm -rf "$dir"
	fi
	cat "$cache"
}

# Print which program and test were running from the KTAP log.
last_running_test() {
	tr -d '\r' < "$1" | awk '/^# quietsync: begin / { p = $4; t = "(before its first test)" }
		/^# quietsync: end / { p = "" }
		/^(not )?ok [0-9]+ / { t = "after: " $0 }
		END { if (p != "") print p " " t; else print "(none: between programs)" }'
}

watch_progress() {
	local pid=$1 console=$2 ktap=$3 start=$4 seen=0 first="" now
	while kill -0 "$pid" 2> /dev/null; do
		if [ -z "$first" ] && grep -q '^TAP version' "$ktap" 2> /dev/null; then
			now=$(date +%s.%N)
			first=$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
			qs_log "vm: first guest test after $first s"
			echo "$first" > "$QS_RUN/boot_to_first_test_seconds"
		fi
		while IFS= read -r line; do
			qs_log "vm: ${line%$'\r'}"
		done < <(grep -aE '^quietsync: (running|progress)' "$console" 2> /dev/null | tail -n +$((seen + 1)))
		seen=$(grep -acE '^quietsync: (running|progress)' "$console" 2> /dev/null || true)
		sleep 0.2
	done
}

# A negative control: the expected splat was printed, and nothing else.
# $1: lab/scan-console.sh's report (a header, then the matching lines).
judge_expected_splat() {
	local lines expected others
	local allowed=${QS_ALLOW_SPLAT:-$QS_EXPECT_SPLAT}
	lines=$(tail -n +2 "$1")
	expected=$(printf '%s\n' "$lines" | grep -cE -- "$QS_EXPECT_SPLAT" || true)
	others=$(printf '%s\n' "$lines" | grep -vE -e "$QS_EXPECT_SPLAT" -e "$allowed" || true)
	printf '%s\n' "$lines" | grep -vE -- "$QS_EXPECT_SPLAT" | grep -E -- "$allowed" |
		sed 's/^ */# also seen (allowed): /' >> "$QS_RUN/verdict" || true
	if [ "$expected" -gt 0 ]; then
		echo "ok vm.expected_splat_seen" >> "$QS_RUN/verdict"
	else
		echo "not ok vm.expected_splat_seen # no /$QS_EXPECT_SPLAT/ in the console" >> "$QS_RUN/host-problems"
	fi
	if [ -z "$others" ]; then
		echo "ok vm.no_other_kernel_splat" >> "$QS_RUN/verdict"
	else
		echo "not ok vm.no_other_kernel_splat # $(printf '%s\n' "$others" | head -n 1 | sed 's/^ *//')" >> "$QS_RUN/host-problems"
	fi
}

# A boot with a negative control that may trip a known detector: no splat
# outside its step, none but the allowed ones inside (lab/control-splats.sh).
judge_control_step() {
	local out rc=0 bad
	out=$("$QS_ROOT/lab/control-splats.sh" "$1" "$QS_CONTROL_STEP" "${QS_ALLOW_SPLAT:?QS_CONTROL_STEP needs QS_ALLOW_SPLAT}" 2>&1) || rc=$?
	if [ "$rc" -eq 2 ]; then
		echo "not ok vm.console_scanned # $(head -n 1 <<< "$out")" >> "$QS_RUN/host-problems"
		return 0
	fi
	grep -v '^not ok' <<< "$out" >> "$QS_RUN/verdict" || true
	bad=$(grep '^not ok' <<< "$out" || true)
	[ -z "$bad" ] || printf '%s\n' "$bad" >> "$QS_RUN/host-problems"
}

# QS_PLUGIN=1: the plugin, built for this QEMU, the handler ranges from
# the booted kernel's System.map and, with its vmlinux, the caller's.
plugin_args() {
	local so
	so=$("$QS_ROOT/lab/plugin.sh")
	if [ -z "$QS_SYSTEM_MAP" ] ||
		! "$QS_ROOT/lab/plugin-syms.sh" "$QS_SYSTEM_MAP" > "$QS_RUN/plugin-syms.txt" 2> /dev/null; then
		# A stock kernel (Debian's System.map is a stub) or another image.
		QS_SYSTEM_MAP=$("$QS_ROOT/lab/kallsyms.sh" "$QS_KERNEL")
		"$QS_ROOT/lab/plugin-syms.sh" "$QS_SYSTEM_MAP" > "$QS_RUN/plugin-syms.txt" ||
			qs_die "no sync callback (tlb_remove_table_smp_sync) in $QS_SYSTEM_MAP"
	fi
	if [ -n "$QS_VMLINUX" ]; then
		"$QS_ROOT/lab/plugin-caller.sh" "$QS_VMLINUX" >> "$QS_RUN/plugin-syms.txt" ||
			qs_die "no call site of tlb_remove_table_sync_one() in $QS_VMLINUX"
	fi
	QEMU_ARGS+=(-plugin "$so,out=$QS_RUN/plugin.txt,syms=$QS_RUN/plugin-syms.txt")
	qs_log "vm: TCG plugin $(basename "$so"), $(wc -l < "$QS_RUN/plugin-syms.txt") ranges"
}

main() {
	local suite=${1:-} accel cmdline console ktap pid rc=0 start verdict=0 splat=0
	[ -n "$suite" ] || qs_die "usage: lab/vm.sh SUITE"
	[ -f "$QS_KERNEL" ] || qs_die "no kernel $QS_KERNEL: run 'make kernel' first"
	[ -f "$QS_INITRAMFS" ] || qs_die "no initramfs $QS_INITRAMFS: run lab/initramfs.sh first"
	command -v "$QS_QEMU" > /dev/null ||
		qs_die "$QS_QEMU is missing: apt-get install $QS_QEMU_PACKAGE"
	QS_RUN=$QS_BUILD/runs/$QS_ARCH-${QS_RUN_NAME:-$suite}
	rm -rf "$QS_RUN"
	mkdir -p "$QS_RUN"
	console=$QS_RUN/console.log
	ktap=$QS_RUN/ktap.log
	# A run that dies must read as a failure: say so before it starts.
	echo "FAIL: did not finish" > "$QS_RUN/result"
	: > "$console"
	: > "$ktap"
	accel=$(choose_accel)
	cmdline=$(kernel_cmdline "$suite")
	echo "$cmdline" > "$QS_RUN/cmdline"
	printf 'accel=%s\nvcpus=%s\narch=%s\n' "$accel" "$QS_SMP" "$QS_ARCH" > "$QS_RUN/run.env"
	qs_log "vm: booting $QS_ARCH, $QS_SMP vCPUs, $accel, suite '$suite' (timeout ${QS_TIMEOUT} s)"
	qs_log "vm: cmdline: $cmdline"
	start=$(date +%s.%N)
	qemu_args "$accel" "$console" "$ktap" "$cmdline"
	[ "$QS_PLUGIN" != 1 ] || plugin_args
	timeout -k 5 "$QS_TIMEOUT" "$QS_QEMU" "${QEMU_ARGS[@]}" \
		> "$QS_RUN/qemu.log" 2>&1 &
	pid=$!
	watch_progress "$pid" "$console" "$ktap" "$start"
	wait "$pid" || rc=$?
	qs_log "vm: guest stopped after $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
	[ "$rc" -eq 124 ] && echo "not ok vm # guest hung: killed after ${QS_TIMEOUT} s" >> "$QS_RUN/host-problems"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && echo "not ok vm # qemu exited $rc: $(tail -n 3 "$QS_RUN/qemu.log" | tr '\n' ' ')" >> "$QS_RUN/host-problems"
	grep -aq 'Kernel panic' "$console" && echo "not ok vm # kernel panic" >> "$QS_RUN/host-problems"
	"$QS_ROOT/lab/ktap-verdict.sh" "$ktap" > "$QS_RUN/verdict" || verdict=$?
	"$QS_ROOT/lab/scan-console.sh" "$console" 2> "$QS_RUN/splats" || splat=$?
	if [ "$splat" -eq 2 ]; then
		echo "not ok vm.console_scanned # $(head -n 1 "$QS_RUN/splats")" >> "$QS_RUN/host-problems"
	elif [ -n "${QS_EXPECT_SPLAT:-}" ]; then
		judge_expected_splat "$QS_RUN/splats"
	elif [ -n "${QS_CONTROL_STEP:-}" ]; then
		judge_control_step "$console"
	else
		[ "$splat" -ne 0 ] && echo "not ok vm.no_kernel_splat # $(head -n 2 "$QS_RUN/splats" | tail -n 1 | sed 's/^ *//')" >> "$QS_RUN/host-problems"
		[ "$splat" -eq 0 ] && echo "ok vm.no_kernel_splat" >> "$QS_RUN/verdict"
	fi
	cat "$QS_RUN/verdict"
	[ -f "$QS_RUN/host-problems" ] && cat "$QS_RUN/host-problems"
	if [ "$verdict" -ne 0 ] || [ -f "$QS_RUN/host-problems" ]; then
		{
			echo "---- guest failed; running: $(last_running_test "$ktap")"
			[ -s "$QS_RUN/splats" ] && cat "$QS_RUN/splats"
			echo "---- last 40 console lines ($console):"
			tail -n 40 "$console" | tr -d '\r'
			echo "----"
		} >&2
		echo "FAIL" > "$QS_RUN/result"
		return 1
	fi
	echo "PASS" > "$QS_RUN/result"
}

main "$@"
