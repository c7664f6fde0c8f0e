#!/usr/bin/env bash
# make deb: the Debian packages, built with debhelper from this tree into
# build/deb/ (quietsync_VERSION_amd64.deb: quietsync-check, its manual
# page, quietsync.service; quietsync-dkms_VERSION_all.deb: the livepatch's
# DKMS source), then checked with lintian: no error, no warning.
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
	ls "$OUT"/quietsync_"$version"_amd64.deb "$OUT"/quietsync-dkms_"$version"_all.deb > /dev/null ||
		qs_die "dpkg-buildpackage made no quietsync $version packages (log: $log)"
}

run_lintian() {
	local report=$OUT/lintian.txt
	qs_log "deb: lintian"
	lintian --fail-on error,warning "$OUT"/quietsync*.changes > "$report" 2>&1 || {
		cat "$report" >&2
		qs_die "lintian found errors or warnings (report: $report)"
	}
	qs_log "deb: lintian clean: $(cd "$OUT" && echo ./*.deb)"
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
	run_lintian
}

main "$@"
