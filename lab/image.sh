#!/usr/bin/env bash
# A Debian 13 machine for the package's tests (tests/package.sh): a base
# image made once with mmdebstrap and cached outside the clone, then a disk
# per run with the quietsync packages installed through apt, as a user
# would, so that DKMS builds the livepatch for the image's kernels.
#
#   lab/image.sh base
#       make sure the base exists; print its tarball. Debian 13 with systemd
#       as init, dkms, and Debian's newest stock 6.12 kernel of trixie
#       (lab/stock-kernel.sh --resolve deb13-6.12) in both flavours, amd64
#       and rt-amd64, with their headers and initramfs. Made again only
#       when that release or the package list changes
#       ($QS_CACHE/images/trixie.tar, about 800 MB, about 75 s).
#   lab/image.sh disk OUT_DIR DEB...
#       unpack the base into OUT_DIR/root, install DEB... with apt-get
#       (offline: a network namespace of its own), add the test unit
#       (guest/package-test, run after multi-user.target, results on
#       ttyS1), and make OUT_DIR/disk.img (ext4, the root file system) and
#       OUT_DIR/image.json (kernels, packages, what DKMS built).
#
# Nothing is mounted on the host afterwards: the chroot's /proc, /sys and
# /dev live in a private mount namespace that ends with apt-get.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

QS_MIRROR=${QS_MIRROR:-http://deb.debian.org}
IMAGE_DIR=$QS_CACHE/images
BASE=$IMAGE_DIR/trixie.tar

# The newest stock 6.12 release of trixie, without its flavour:
# "6.12.118+deb13".
image_release() {
	local rel
	rel=$("$QS_ROOT/lab/stock-kernel.sh" --resolve deb13-6.12 amd64)
	echo "${rel%-amd64}"
}

image_packages() {
	local rel=$1 flavour
	printf '%s\n' systemd-sysv udev kmod procps dkms
	for flavour in amd64 rt-amd64; do
		printf '%s\n' "linux-image-$rel-$flavour" "linux-headers-$rel-$flavour"
	done
}

make_base() {
	local rel=$1 stamp=$2 tmp=$IMAGE_DIR/trixie.tmp.tar log=$QS_BUILD/image-base.log pkgs
	pkgs=$(image_packages "$rel" | paste -sd, -)
	command -v mmdebstrap > /dev/null || qs_die "mmdebstrap is missing: apt-get install mmdebstrap"
	[ "$(id -u)" -eq 0 ] || qs_die "making the image needs root (mmdebstrap --mode=root)"
	mkdir -p "$IMAGE_DIR"
	qs_log "image: making the Debian 13 base with mmdebstrap ($pkgs; about 75 s)"
	if ! mmdebstrap --mode=root --format=tar --variant=apt --include="$pkgs" \
		--aptopt='Acquire::Languages "none"' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		trixie "$tmp" \
		"deb $QS_MIRROR/debian trixie main" \
		"deb $QS_MIRROR/debian trixie-updates main" \
		"deb $QS_MIRROR/debian-security trixie-security main" > "$log" 2>&1; then
		tail -n 20 "$log" >&2
		rm -f "$tmp"
		qs_die "mmdebstrap of the Debian 13 image failed (log: $log)"
	fi
	mv "$tmp" "$BASE"
	echo "$stamp" > "$BASE.stamp"
	qs_log "image: $BASE ($(du -h "$BASE" | cut -f1 | tail -n 1))"
}

# ensure_base RELEASE: the base with that release's kernels.
ensure_base() {
	local rel=$1 stamp
	stamp="trixie $(image_packages "$rel" | tr '\n' ' ')$QS_MIRROR"
	if [ ! -f "$BASE" ] || [ "$(cat "$BASE.stamp" 2> /dev/null)" != "$stamp" ]; then
		make_base "$rel" "$stamp"
	fi
	echo "$BASE"
}

# Inside a private mount and network namespace: the chroot's file systems,
# then apt-get installing the packages from local files.
install_inside() {
	local root=$1
	shift
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --rbind /dev "$root/dev"
	exec chroot "$root" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "$@"
}

add_test_unit() {
	local root=$1
	install -m 0755 "$QS_ROOT/guest/package-test" "$root/usr/local/sbin/quietsync-package-test"
	install -m 0644 "$QS_ROOT/guest/quietsync-package-test.service" \
		"$root/etc/systemd/system/quietsync-package-test.service"
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/quietsync-package-test.service \
		"$root/etc/systemd/system/multi-user.target.wants/"
}

make_disk() {
	local out=$1 rel base root debs=() deb log
	shift
	[ $# -gt 0 ] || qs_die "usage: lab/image.sh disk OUT_DIR DEB..."
	rel=$(image_release)
	base=$(ensure_base "$rel")
	root=$out/root
	log=$out/install.log
	rm -rf "$root" "$out/disk.img"
	mkdir -p "$root/tmp/quietsync-debs"
	qs_log "image: unpacking the base into $root"
	tar -C "$root" --numeric-owner -xpf "$base"
	for deb in "$@"; do
		[ -f "$deb" ] || qs_die "no package $deb"
		cp "$deb" "$root/tmp/quietsync-debs/"
		debs+=("/tmp/quietsync-debs/$(basename "$deb")")
	done
	qs_log "image: apt-get install ${debs[*]##*/} (offline; DKMS builds the livepatch for each kernel)"
	if ! unshare --mount --net --propagation private "$0" --inside "$root" "${debs[@]}" > "$log" 2>&1; then
		tail -n 30 "$log" >&2
		qs_die "installing the packages into the image failed (log: $log)"
	fi
	rm -rf "$root/tmp/quietsync-debs"
	echo quietsync-trixie > "$root/etc/hostname"
	echo "/dev/vda / ext4 defaults 0 1" > "$root/etc/fstab"
	add_test_unit "$root"
	image_json "$root" "$rel" > "$out/image.json"
	qs_log "image: making $out/disk.img (ext4, 3 GiB sparse)"
	mke2fs -q -F -t ext4 -L root -d "$root" "$out/disk.img" 3G
}

# image_json ROOT RELEASE: what the disk holds: its kernels, the quietsync
# packages, DKMS's modules.
image_json() {
	local root=$1 rel=$2
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	jq -n --arg release "$rel" \
		--arg packages "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}=${Version}\n' 'quietsync*')" \
		--arg modules "$(cd "$root" && find usr/lib/modules -path '*/updates/dkms/quietsync_livepatch.ko*' | sort)" \
		'{image: "trixie", release: $release,
		  kernels: [$release + "-amd64", $release + "-rt-amd64"],
		  packages: ($packages | split("\n") | map(select(. != ""))),
		  dkms_modules: ($modules | split("\n") | map(select(. != "")))}'
}

main() {
	case ${1:-} in
	--inside) shift; install_inside "$@" ;;
	base) ensure_base "$(image_release)" ;;
	disk) shift; make_disk "$@" ;;
	*) qs_die "usage: lab/image.sh base | disk OUT_DIR DEB..." ;;
	esac
}

main "$@"
