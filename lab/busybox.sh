#!/usr/bin/env bash
# Print the path of a static busybox for QS_ARCH. x86_64: the installed
# busybox-static. Other architectures: Debian's busybox-static for that
# architecture, fetched with apt-get download (the architecture is added to
# dpkg once, as root) and unpacked under build/busybox-ARCH/; nothing comes
# from anywhere but the machine's Debian sources.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

DEB_ARCH=$QS_ARCH
[ "$QS_ARCH" = x86_64 ] && DEB_ARCH=amd64
DIR=$QS_BUILD/busybox-$QS_ARCH
BUSYBOX=$DIR/root/bin/busybox

check_static() {
	[ -x "$1" ] || qs_die "$1 is missing: apt-get install busybox-static"
	grep -q 'statically linked' <<< "$(file -b "$1")" ||
		qs_die "$1 is not a static executable: apt-get install busybox-static"
}

add_foreign_architecture() {
	if grep -qx "$DEB_ARCH" <<< "$(dpkg --print-foreign-architectures)"; then
		return
	fi
	if [ "$(id -u)" -ne 0 ]; then
		printf 'error: Debian has no %s packages here yet; as root run:\n  dpkg --add-architecture %s && apt-get update\n' \
			"$DEB_ARCH" "$DEB_ARCH" >&2
		exit 2
	fi
	qs_log "busybox: adding the $DEB_ARCH architecture to dpkg (apt-get update)"
	dpkg --add-architecture "$DEB_ARCH"
	apt-get update -q > /dev/null ||
		qs_die "apt-get update failed: check the machine's Debian sources"
}

fetch_busybox() {
	local deb
	add_foreign_architecture
	rm -rf "$DIR"
	mkdir -p "$DIR"
	qs_log "busybox: apt-get download busybox-static:$DEB_ARCH"
	# apt's sandbox user must be able to write the folder it downloads to.
	chmod 0777 "$DIR"
	if ! (cd "$DIR" && apt-get download -q "busybox-static:$DEB_ARCH") > "$DIR/apt.log" 2>&1; then
		if (cd "$DIR" && apt-get update -q && apt-get download -q "busybox-static:$DEB_ARCH") >> "$DIR/apt.log" 2>&1; then
			:
		else
			tail -n 5 "$DIR/apt.log" >&2
			qs_die "apt-get download busybox-static:$DEB_ARCH failed (log: $DIR/apt.log)"
		fi
	fi
	deb=$(find "$DIR" -maxdepth 1 -name "busybox-static_*_$DEB_ARCH.deb" | head -n 1)
	[ -n "$deb" ] || qs_die "no busybox-static .deb for $DEB_ARCH in $DIR"
	dpkg-deb -x "$deb" "$DIR/root"
	qs_log "busybox: $(basename "$deb") unpacked in $DIR/root"
}

main() {
	if [ "$QS_ARCH" = x86_64 ]; then
		check_static /bin/busybox
		echo /bin/busybox
		return
	fi
	[ -x "$BUSYBOX" ] || fetch_busybox >&2
	check_static "$BUSYBOX"
	echo "$BUSYBOX"
}

main "$@"
