#!/usr/bin/env bash
# Pack the guest: static busybox (lab/busybox.sh: Debian's, for QS_ARCH),
# guest/init and the guest programs into build/initramfs-ARCH.cpio.gz. Uses the kernel tree's gen_init_cpio, so
# device nodes need no root and the archive is the same on every machine.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

# Extra files, "SOURCE:/path/in/guest" separated by spaces, and the archive's
# name (build/NAME.cpio.gz): the livepatch test adds its modules this way.
QS_INITRAMFS_EXTRA=${QS_INITRAMFS_EXTRA:-}
QS_INITRAMFS_NAME=${QS_INITRAMFS_NAME:-initramfs-$QS_ARCH}

build_gen_init_cpio() {
	local out=$QS_BUILD/host/gen_init_cpio
	[ -f "$QS_SRC/usr/gen_init_cpio.c" ] || qs_die "no kernel source in $QS_SRC: run lab/source.sh first"
	if [ ! -x "$out" ] || [ "$QS_SRC/usr/gen_init_cpio.c" -nt "$out" ]; then
		mkdir -p "$(dirname "$out")"
		gcc -O2 -o "$out" "$QS_SRC/usr/gen_init_cpio.c"
	fi
	echo "$out"
}

build_guest_programs() {
	qs_log "initramfs: building guest programs for $QS_ARCH"
	make -s -C "$QS_ROOT/guest" O="$QS_GUEST_BIN" \
		CROSS_COMPILE="$QS_CROSS_COMPILE"
}

# The gen_init_cpio file list: directories, nodes and files.
initramfs_spec() {
	local dir prog
	for dir in /bin /dev /proc /sys /tmp /root /run; do
		echo "dir $dir 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/ttyS1 0600 0 0 c 4 65"
	echo "file /bin/busybox $QS_BUSYBOX 0755 0 0"
	echo "file /init $QS_ROOT/guest/init 0755 0 0"
	for prog in "$QS_GUEST_BIN"/*; do
		echo "file /bin/$(basename "$prog") $prog 0755 0 0"
	done
	extra_files_spec
}

# gen_init_cpio lines for QS_INITRAMFS_EXTRA: its directories (parents
# first, as the kernel unpacks in order), then its files.
extra_files_spec() {
	local item src dst dir
	for item in $QS_INITRAMFS_EXTRA; do
		src=${item%%:*}
		dst=${item#*:}
		[ -f "$src" ] || qs_die "QS_INITRAMFS_EXTRA: no file $src"
		dir=$(dirname "$dst")
		while [ "$dir" != / ]; do
			echo "$dir"
			dir=$(dirname "$dir")
		done
	done | sort -u | sed 's/.*/dir & 0755 0 0/'
	for item in $QS_INITRAMFS_EXTRA; do
		echo "file ${item#*:} ${item%%:*} 0755 0 0"
	done
}

main() {
	local gen out
	# Suites side by side build the same guest programs, busybox and
	# gen_init_cpio (tests/run.sh): one initramfs at a time.
	qs_lock initramfs
	QS_GUEST_BIN=$QS_BUILD/guest-$QS_ARCH
	out=$QS_BUILD/$QS_INITRAMFS_NAME.cpio.gz
	QS_BUSYBOX=${QS_BUSYBOX:-$("$QS_ROOT/lab/busybox.sh")}
	gen=$(build_gen_init_cpio)
	build_guest_programs
	initramfs_spec > "$QS_BUILD/$QS_INITRAMFS_NAME.list"
	"$gen" "$QS_BUILD/$QS_INITRAMFS_NAME.list" | gzip -9n > "$out.tmp"
	mv "$out.tmp" "$out"
	qs_log "initramfs: $out ($(du -k "$out" | cut -f1) KiB)"
}

main "$@"
