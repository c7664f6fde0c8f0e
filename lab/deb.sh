#!/usr/bin/env bash
# make deb: the Debian packages, built with debhelper from this tree into
# build/deb/, then checked with lintian: no error, no warning.
#   quietsync-check_VERSION_amd64.deb   the tool and its manual page
#   quietsync_VERSION_amd64.deb         quietsync.service, its helper, the
#                                       kernel hook
#   quietsync-dkms_VERSION_all.deb      the livepatch's DKMS source
#   quietsync-check_VERSION_arm64.deb   cross-built, when
#                                       aarch64-linux-gnu-gcc is installed
#                                       (QS_DEB_ARM64=0 skips it; =1 makes
#                                       a missing compiler an error)
# It needs the packaging tools only (debhelper, dh-dkms, lintian, and gcc
# for the tool), on Debian 12 or 13.
#
# The build runs in a copy of the tree (git ls-files, plus what is not yet
# committed) under build/deb/src, so that dpkg-buildpackage's files never
# land in the clone. The version is debian/changelog's.
#
# Usage: lab/deb.sh
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

OUT=$QS_BUILD/deb

copy_tree() {
	local src=$OUT/src
	rm -rf "$src"
	mkdir -p "$src"
	if git -C "$QS_ROOT" rev-parse --git-dir > /dev/null 2>&1; then
		(cd "$QS_ROOT" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 cp --parents -t "$src")
	else
		tar -C "$QS_ROOT" --exclude=./build -cf - . | tar -C "$src" -xf -
	fi
}

build_packages() {
	local version log=$OUT/build.log
	version=$(dpkg-parsechangelog -l "$QS_ROOT/debian/changelog" -S Version)
	qs_log "deb: building quietsync $version (dpkg-buildpackage -b; about 10 s)"
	rm -f "$OUT"/*.deb "$OUT"/*.buildinfo "$OUT"/*.changes
	if ! (cd "$OUT/src" && dpkg-buildpackage -b -uc -us) > "$log" 2>&1; then
		tail -n 30 "$log" >&2
		qs_die "dpkg-buildpackage failed (log: $log)"
	fi
	# dpkg-buildpackage writes next to the source folder: into $OUT.
	ls "$OUT"/quietsync-check_"$version"_amd64.deb "$OUT"/quietsync_"$version"_amd64.deb \
		"$OUT"/quietsync-dkms_"$version"_all.deb > /dev/null ||
		qs_die "dpkg-buildpackage made no quietsync $version packages (log: $log)"
}

# quietsync-check for arm64, cross-built (-B: the architecture-dependent
# packages only; on arm64 that is quietsync-check alone, the livepatch
# being amd64's). -d: dpkg cannot see the cross compiler as arm64's build
# dependency; debian/rules writes the libc dependency itself when
# dpkg-shlibdeps finds no arm64 libc in dpkg's database.
build_arm64() {
	local version log=$OUT/build-arm64.log
	version=$(dpkg-parsechangelog -l "$QS_ROOT/debian/changelog" -S Version)
	case ${QS_DEB_ARM64:-auto} in
	0) return 0 ;;
	1) ;;
	*)
		if ! command -v aarch64-linux-gnu-gcc > /dev/null; then
			qs_log "deb: no aarch64-linux-gnu-gcc: quietsync-check for arm64 not built (apt-get install gcc-aarch64-linux-gnu)"
			return 0
		fi
		;;
	esac
	command -v aarch64-linux-gnu-gcc > /dev/null ||
		qs_die "cross-building for arm64 needs aarch64-linux-gnu-gcc: apt-get install gcc-aarch64-linux-gnu"
	qs_log "deb: cross-building quietsync-check $version for arm64 (about 10 s)"
	rm -f "$OUT"/*_arm64.deb "$OUT"/*_arm64.buildinfo "$OUT"/*_arm64.changes
	if ! (cd "$OUT/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -B -aarm64 -d -uc -us) > "$log" 2>&1; then
		tail -n 30 "$log" >&2
		qs_die "cross-building for arm64 failed (log: $log)"
	fi
	ls "$OUT/quietsync-check_${version}_arm64.deb" > /dev/null ||
		qs_die "the arm64 cross build made no quietsync-check_${version}_arm64.deb (log: $log)"
}

run_lintian() {
	local report=$OUT/lintian.txt
	qs_log "deb: lintian"
	lintian --fail-on error,warning "$OUT"/*.deb > "$report" 2>&1 || {
		cat "$report" >&2
		qs_die "lintian found errors or warnings (report: $report)"
	}
	qs_log "deb: lintian clean: $(cd "$OUT" && echo ./*.deb)"
}

# The line that installs the packages on this machine: with the running
# kernel's headers and its line's headers metapackage where the livepatch
# covers it (the helper's table), else quietsync-check alone.
install_line() {
	local version rel arch debs headers
	version=$(dpkg-parsechangelog -l "$QS_ROOT/debian/changelog" -S Version)
	rel=$(uname -r)
	arch=$(dpkg --print-architecture)
	if [ "$arch" = amd64 ] && headers=$(QUIETSYNC_KERNELS=$QS_ROOT/livepatch/kernels.txt \
		"$QS_ROOT/livepatch/quietsync-livepatch" headers "$rel"); then
		debs="$OUT/quietsync-check_${version}_amd64.deb $OUT/quietsync_${version}_amd64.deb $OUT/quietsync-dkms_${version}_all.deb"
		qs_log "deb: to install on this machine ($rel), as root:"
		qs_log "deb:   ${headers/apt install /apt install $debs }"
	else
		qs_log "deb: the livepatch does not cover this machine's kernel ($rel, $arch); the checker alone:"
		qs_log "deb:   apt install $OUT/quietsync-check_${version}_${arch}.deb"
	fi
}

main() {
	[ $# -eq 0 ] || qs_die "usage: lab/deb.sh"
	local tool
	for tool in dpkg-buildpackage dh_dkms lintian; do
		command -v "$tool" > /dev/null ||
			qs_die "building the packages needs debhelper, dh-dkms and lintian: apt-get install debhelper dh-dkms lintian"
	done
	mkdir -p "$OUT"
	copy_tree
	build_packages
	build_arm64
	run_lintian
	install_line
}

main "$@"
