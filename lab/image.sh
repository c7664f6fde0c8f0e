#!/usr/bin/env bash
# A Debian machine for the package's tests (tests/package.sh): a base
# image made once with mmdebstrap and cached outside the clone, then a disk
# per run with the quietsync packages installed through apt, as a user
# would, so that DKMS builds the livepatch for the image's kernels, and
# then the next kernel release of the line brought by `apt upgrade`.
# NAME: trixie (Debian 13, its 6.12 line) or bookworm (Debian 12, its
# default 6.1 line).
#
#   lab/image.sh base NAME
#       make sure the base exists; print its tarball. Debian with systemd
#       as init, dkms, and the previous stock release of the line (P, the
#       one of the release's last point release) in both flavours, as an
#       operator would have installed it: amd64 through the metapackages
#       linux-image-amd64 and linux-headers-amd64 (the next kernel's
#       headers follow), rt-amd64 through linux-image-rt-amd64 and the
#       running kernel's own headers only (they do not). Made again only
#       when that release or the package list changes
#       ($QS_CACHE/images/NAME.tar, about 900 MB, about 90 s).
#   lab/image.sh disk NAME OUT_DIR DEB...
#       unpack the base into OUT_DIR/root; install the DEBs listed in
#       QS_IMAGE_FIRST (space-separated; an older quietsync, to upgrade
#       from), then DEB... with apt-get (offline: a network namespace of
#       its own); then `apt upgrade` from a local repository holding the
#       newest 6.12 release of trixie (N) and its metapackages, as Debian's
#       archive serves them (OUT_DIR/upgrade.log keeps apt's output: the
#       kernel hook's warning is asserted there); add the test unit
#       (guest/package-test, run after multi-user.target, results on
#       ttyS1), and make OUT_DIR/disk.img (ext4, the root file system) and
#       OUT_DIR/image.json (kernels, packages, what DKMS built).
#
# Nothing is mounted on the host afterwards: the chroot's /proc, /sys and
# /dev live in a private mount namespace that ends with apt-get.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"
# shellcheck source=lab/archive.sh
. "$QS_ROOT/lab/archive.sh"

IMAGE_DIR=$QS_CACHE/images
NAME=trixie

# The Debian release and kernel line of image NAME: "NUMBER LINE".
image_info() {
	case $1 in
	trixie) echo "13 6.12" ;;
	bookworm) echo "12 6.1" ;;
	*) qs_die "unknown image '$1': trixie, bookworm" ;;
	esac
}

# The two newest versions of the release's linux-image-amd64 on its line
# (not backports'), newest first: "6.12.118-1 6.12.117-1".
meta_versions() {
	local line
	line=$(image_info "$NAME" | cut -d' ' -f2)
	archive_apt_cache madison linux-image-amd64 |
		awk -F' *[|] *' -v line="${line//./\\\\.}\\\\." -v suite=" $NAME(-security|-updates)?/" \
			'$2 ~ "^" line && $3 ~ suite { print $2 }' |
		sort -Vru | head -n 2 | paste -sd' ' -
}

# The release (without flavour) a version of linux-image-amd64 depends on:
# "6.12.117+deb13".
meta_release() {
	archive_apt_cache show "linux-image-amd64=$1" 2> /dev/null |
		sed -n 's/^Depends: linux-image-\([^ ]*\)-amd64 .*/\1/p' | head -n 1
}

# "P_VERSION P_RELEASE N_VERSION N_RELEASE": the previous and the newest.
image_releases() {
	local versions new old
	archive_ready
	versions=$(meta_versions)
	read -r new old <<< "$versions"
	[ -n "$new" ] || qs_die "$NAME has no kernel of its line in the archive's lists"
	[ -n "$old" ] || qs_die "$NAME has one kernel release of its line only ($new): no older one to upgrade from"
	echo "$old $(meta_release "$old") $new $(meta_release "$new")"
}

image_packages() {
	local version=$1 rel=$2
	printf '%s\n' systemd-sysv udev kmod procps dkms
	printf '%s\n' "linux-image-amd64=$version" "linux-headers-amd64=$version" \
		"linux-image-rt-amd64=$version" "linux-headers-$rel-rt-amd64"
}

make_base() {
	local version=$1 rel=$2 stamp=$3 tmp=$IMAGE_DIR/$NAME.tmp.tar log=$QS_BUILD/image-base-$NAME.log pkgs
	pkgs=$(image_packages "$version" "$rel" | paste -sd, -)
	command -v mmdebstrap > /dev/null || qs_die "mmdebstrap is missing: apt-get install mmdebstrap"
	[ "$(id -u)" -eq 0 ] || qs_die "making the image needs root (mmdebstrap --mode=root)"
	mkdir -p "$IMAGE_DIR"
	qs_log "image: making the Debian $(image_info "$NAME" | cut -d' ' -f1) base with mmdebstrap ($pkgs; about 90 s)"
	if ! mmdebstrap --mode=root --format=tar --variant=apt --include="$pkgs" \
		--aptopt='Acquire::Languages "none"' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$NAME" "$tmp" \
		"deb $QS_MIRROR/debian $NAME main" \
		"deb $QS_MIRROR/debian $NAME-updates main" \
		"deb $QS_MIRROR/debian-security $NAME-security main" > "$log" 2>&1; then
		tail -n 20 "$log" >&2
		rm -f "$tmp"
		qs_die "mmdebstrap of the $NAME image failed (log: $log)"
	fi
	mv "$tmp" "$BASE"
	echo "$stamp" > "$BASE.stamp"
	qs_log "image: $BASE ($(du -h "$BASE" | cut -f1 | tail -n 1))"
}

# ensure_base VERSION RELEASE: the base with that release's kernels.
ensure_base() {
	local version=$1 rel=$2 stamp
	stamp="$NAME $(image_packages "$version" "$rel" | tr '\n' ' ')$QS_MIRROR"
	if [ ! -f "$BASE" ] || [ "$(cat "$BASE.stamp" 2> /dev/null)" != "$stamp" ]; then
		make_base "$version" "$rel" "$stamp"
	fi
	echo "$BASE"
}

# ensure_upgrade_repo VERSION RELEASE: a flat apt repository of what the
# archive serves for the newest release: its metapackages in both
# flavours, the kernels, their headers and what those need of the line's
# (common headers, kbuild, compiler). Cached under $IMAGE_DIR.
ensure_upgrade_repo() {
	local version=$1 rel=$2 dir=$IMAGE_DIR/upgrade-$1 f
	# One apt at a time on the private lists (the images are made side by
	# side); a command substitution: the lock ends with it.
	qs_lock archive "$QS_CACHE/locks"
	if [ ! -f "$dir/Packages" ]; then
		qs_log "image: downloading the $rel kernels and metapackages for the upgrade"
		rm -rf "$dir"
		local deps=()
		mapfile -t deps < <(for f in amd64 rt-amd64; do archive_depends "linux-headers-$rel-$f"; done |
			grep -E '^linux-(headers|kbuild|compiler)-' | sort -u)
		archive_download "$dir.tmp" "linux-image-amd64=$version" "linux-headers-amd64=$version" \
			"linux-image-rt-amd64=$version" "linux-headers-rt-amd64=$version" \
			"linux-image-$rel-amd64" "linux-headers-$rel-amd64" \
			"linux-image-$rel-rt-amd64" "linux-headers-$rel-rt-amd64" "${deps[@]}"
		rm -f "$dir.tmp/download.log"
		(cd "$dir.tmp" && dpkg-scanpackages --multiversion . /dev/null > Packages 2> /dev/null)
		mv "$dir.tmp" "$dir"
	fi
	for f in "$dir"/*.deb; do [ -f "$f" ] || qs_die "no packages in $dir"; done
	echo "$dir"
}

# Inside a private mount and network namespace: the chroot's file systems,
# then apt-get ARGS... in the chroot.
apt_inside() {
	local root=$1
	shift
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --rbind /dev "$root/dev"
	exec chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

# chroot_apt ROOT LOG ARGS...: apt-get ARGS... in ROOT, offline.
chroot_apt() {
	local root=$1 log=$2
	shift 2
	if ! unshare --mount --net --propagation private "$0" --inside "$root" "$@" >> "$log" 2>&1; then
		tail -n 30 "$log" >&2
		qs_die "apt-get $* in the image failed (log: $log)"
	fi
}

# copy_debs ROOT DEB...: the files into ROOT, their paths there printed.
copy_debs() {
	local root=$1 deb
	shift
	mkdir -p "$root/tmp/quietsync-debs"
	for deb in "$@"; do
		[ -f "$deb" ] || qs_die "no package $deb"
		cp "$deb" "$root/tmp/quietsync-debs/"
		echo "/tmp/quietsync-debs/$(basename "$deb")"
	done
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

# upgrade_kernels ROOT REPO LOG: apt upgrade (apt-get --with-new-pkgs
# upgrade, what `apt upgrade` does) from the local repository only, without
# Recommends (the kernels recommend firmware and apparmor, which the local
# repository does not hold: apt would keep the kernels back). The
# repository stays in the image (/var/cache/lab-upgrade-repo) for the
# guest, which installs the missing headers from it.
upgrade_kernels() {
	local root=$1 repo=$2 log=$3 list=/etc/apt/sources.list.d/lab-upgrade.list
	rm -rf "$root/var/cache/lab-upgrade-repo"
	cp -r "$repo" "$root/var/cache/lab-upgrade-repo"
	mkdir -p "$root/etc/apt/sources.list.d"
	rm -f "$root"/etc/apt/sources.list.d/*.list "$root"/etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list"
	echo "deb [trusted=yes] file:/var/cache/lab-upgrade-repo ./" > "$root$list"
	qs_log "image: apt upgrade to the newest kernels (DKMS builds where headers come)"
	chroot_apt "$root" "$log" update
	echo "### apt upgrade" >> "$log"
	chroot_apt "$root" "$log" --with-new-pkgs --no-install-recommends upgrade -y
	# The guest installs the headers the upgrade left out, nothing else.
	find "$root/var/cache/lab-upgrade-repo" -name '*.deb' ! -name 'linux-headers-*' -delete
}

# trim_modules ROOT: keep, of each kernel's own modules (kernel/), those a
# QEMU machine without devices can load (lab/vm.sh: -nodefaults, a virtio
# disk, serial ports): core subsystems, file systems, crypto, and the
# drivers for ACPI, virtio, block, character and md devices; delete the
# rest (media, network, USB, sound, ...: 3,793 of 4,230 on 6.12) and
# rebuild the kernel's module index. DKMS's modules (updates/) stay. The
# package's scripts run depmod for every kernel on each DKMS install and
# removal: under TCG, three of them took 8 minutes of a protected boot's
# apt-get remove with the whole tree (2026-12-06). Nothing the package does
# reads those modules; the kernels themselves are Debian's, untouched.
TRIM_KEEP='^kernel/(arch|block|crypto|fs|lib|mm|kernel|virt)/|^kernel/drivers/(acpi|block|char|cpufreq|md|tty|virtio|pci|firmware|dma|virt|nvdimm)/'
trim_modules() {
	local root=$1 dir kver before after
	for dir in "$root"/usr/lib/modules/*/; do
		kver=$(basename "$dir")
		[ -d "$dir/kernel" ] || continue
		before=$(find "$dir/kernel" -name '*.ko*' | wc -l)
		(cd "$dir" && find kernel -name '*.ko*' | { grep -Ev "$TRIM_KEEP" || true; } | xargs -r rm -f)
		find "$dir/kernel" -depth -type d -empty -delete
		after=$(find "$dir/kernel" -name '*.ko*' | wc -l)
		chroot "$root" depmod "$kver" ||
			qs_die "depmod $kver in the image failed after trimming its modules"
		qs_log "image: $kver: $after of $before modules kept (a VM without devices)"
	done
}

make_disk() {
	local out=$1 releases p_version p_rel n_version n_rel base root repo debs first=()
	shift
	[ $# -gt 0 ] || qs_die "usage: lab/image.sh disk NAME OUT_DIR DEB..."
	releases=$(image_releases)
	read -r p_version p_rel n_version n_rel <<< "$releases"
	base=$(ensure_base "$p_version" "$p_rel")
	repo=$(ensure_upgrade_repo "$n_version" "$n_rel")
	root=$out/root
	rm -rf "$root" "$out/disk.img" "$out/install.log" "$out/upgrade.log"
	mkdir -p "$root"
	qs_log "image: unpacking the base into $root"
	tar -C "$root" --numeric-owner -xpf "$base"
	if [ -n "${QS_IMAGE_FIRST:-}" ]; then
		# shellcheck disable=SC2086 # a list of paths
		mapfile -t first < <(copy_debs "$root" $QS_IMAGE_FIRST)
		qs_log "image: apt-get install ${first[*]##*/} (the release to upgrade from)"
		chroot_apt "$root" "$out/install.log" install -y --no-install-recommends "${first[@]}"
		rm -rf "$root/tmp/quietsync-debs"
		echo "### upgrade" >> "$out/install.log"
	fi
	mapfile -t debs < <(copy_debs "$root" "$@")
	qs_log "image: apt-get install ${debs[*]##*/} (offline; DKMS builds the livepatch for each kernel)"
	chroot_apt "$root" "$out/install.log" install -y --no-install-recommends "${debs[@]}"
	rm -rf "$root/tmp/quietsync-debs"
	upgrade_kernels "$root" "$repo" "$out/upgrade.log"
	trim_modules "$root"
	echo "quietsync-$NAME" > "$root/etc/hostname"
	echo "/dev/vda / ext4 defaults 0 1" > "$root/etc/fstab"
	add_test_unit "$root"
	# Done, as systemd-update-done.service would mark it: without these,
	# every boot of the snapshot runs ldconfig.service and the other
	# ConditionNeedsUpdate= units first (about 3 minutes under TCG).
	touch "$root/etc/.updated" "$root/var/.updated"
	local from='' first_deb=''
	read -r first_deb _ <<< "${QS_IMAGE_FIRST:-}"
	[ -z "$first_deb" ] || from=$(dpkg-deb -f "$first_deb" Version)
	image_json "$root" "$p_rel" "$n_rel" "$from" > "$out/image.json"
	qs_log "image: making $out/disk.img (ext4, 6 GiB sparse)"
	mke2fs -q -F -t ext4 -L root -d "$root" "$out/disk.img" 6G
}

# image_json ROOT PREVIOUS NEWEST FROM: what the disk holds: its kernels,
# the quietsync packages (and the version they were upgraded from), DKMS's
# modules.
image_json() {
	local root=$1 old=$2 new=$3 from=$4
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	jq -n --arg previous "$old" --arg newest "$new" --arg from "$from" \
		--arg packages "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}=${Version}\n' 'quietsync*')" \
		--arg kernels "$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort)" \
		--arg modules "$(cd "$root" && find usr/lib/modules -path '*/updates/dkms/quietsync_livepatch.ko*' | sort)" \
		--arg image "$NAME" \
		'{image: $image, previous: $previous, newest: $newest, upgraded_from: $from,
		  kernels: ($kernels | split("\n") | map(select(. != ""))),
		  packages: ($packages | split("\n") | map(select(. != ""))),
		  dkms_modules: ($modules | split("\n") | map(select(. != "")))}'
}

main() {
	local action=${1:-}
	case $action in
	--inside) shift; apt_inside "$@" ;;
	base | disk)
		[ $# -ge 2 ] || qs_die "usage: lab/image.sh base NAME | disk NAME OUT_DIR DEB..."
		NAME=$2
		image_info "$NAME" > /dev/null
		BASE=$IMAGE_DIR/$NAME.tar
		shift 2
		if [ "$action" = base ]; then
			local releases p_version p_rel
			releases=$(image_releases)
			read -r p_version p_rel _ <<< "$releases"
			ensure_base "$p_version" "$p_rel"
		else
			make_disk "$@"
		fi
		;;
	*) qs_die "usage: lab/image.sh base NAME | disk NAME OUT_DIR DEB..." ;;
	esac
}

main "$@"
