#!/usr/bin/env bash
# Extract Debian's linux-source-$QS_BASE under build/ and apply the quietsync
# series of that base, then the lab's queue (patches/linux-$QS_BASE-lab,
# $QS_LAB_PATCHES; empty: the series alone, as mailed). Idempotent: the tree
# is re-extracted from the tarball only when the tarball, a series file or a
# patch it lists changed (or the tree is missing). QS_BASE=7.3 first fetches
# the newest linux-source-7.3 from the archive (trixie-backports, through
# lab/archive.sh: the host's apt sources are not touched) into
# $QS_CACHE/source. --stamp prints the stamp such a tree would have and
# does nothing else.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"
# shellcheck source=lab/archive.sh
. "$(dirname "$0")/archive.sh"

source_stamp() {
	{
		echo "version $QS_KERNEL_VERSION"
		stat -c 'tarball %n %s %Y' "$QS_SOURCE_TARBALL"
		sha256sum "$QS_PATCHES/series"
		local p dir
		for dir in "$QS_PATCHES" ${QS_LAB_PATCHES:+"$QS_LAB_PATCHES"}; do
			echo "queue $dir"
			for p in $(qs_series_patches "$dir"); do
				[ -f "$dir/$p" ] ||
					qs_die "$(queue_name "$dir")/series lists '$p', which does not exist"
				sha256sum "$dir/$p"
			done
		done
	} | sha256sum | cut -d' ' -f1
}

# How a queue directory is named in messages: patches/linux-6.12 for the
# series (also when QS_PATCHES points elsewhere), patches/linux-6.12-lab.
queue_name() {
	if [ "$1" = "$QS_PATCHES" ]; then
		echo "patches/linux-$QS_BASE"
	else
		echo "patches/linux-$QS_BASE-lab"
	fi
}

tree_version() {
	awk -F' *= *' '$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2 } $1 == "EXTRAVERSION" { e = $2 }
		END { printf "%s.%s.%s%s\n", v, p, s, e }' "$1/Makefile"
}

extract_tarball() {
	local dest=$1 version
	qs_log "source: extracting $QS_SOURCE_TARBALL (about 15 s)"
	mkdir -p "$dest"
	# --touch: every file gets a fresh mtime, so a patch dropped from the
	# series still rebuilds the objects it had changed.
	tar -xJ --touch -f "$QS_SOURCE_TARBALL" -C "$dest" --strip-components=1
	version=$(tree_version "$dest")
	case $version in
	"$QS_KERNEL_VERSION") ;;
	"$QS_KERNEL_VERSION".*) [ "$QS_BASE" = 7.3 ] ||
		qs_die "$QS_SOURCE_TARBALL holds Linux $version, but lab/env.sh pins $QS_KERNEL_VERSION" ;;
	*) qs_die "$QS_SOURCE_TARBALL holds Linux $version, but lab/env.sh pins $QS_KERNEL_VERSION: install linux-source-$QS_BASE at the pinned version (lab/packages.txt) or update the pin" ;;
	esac
	echo "$version" > "$dest/.quietsync-version"
}

# QS_BASE=7.3: the newest linux-source-7.3 the archive offers, its tarball
# kept at $QS_SOURCE_TARBALL (one version at a time) and its Debian version
# beside it.
fetch_source_from_archive() {
	local pkg=linux-source-$QS_BASE dir=$QS_CACHE/source version deb
	archive_ready
	version=$(archive_version "$pkg")
	[ -n "$version" ] || qs_die "the archive offers no $pkg (suites: $QS_ARCHIVE_SUITES)"
	if [ -f "$QS_SOURCE_TARBALL" ] && [ "$(cat "$QS_SOURCE_TARBALL.version" 2> /dev/null)" = "$version" ]; then
		return 0
	fi
	qs_log "source: fetching $pkg $version from Debian's archive (about 170 MB)"
	rm -rf "$dir/debs"
	archive_download "$dir/debs" "$pkg"
	deb=$(ls "$dir"/debs/"${pkg}"_*.deb)
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$pkg.tar.xz" > "$QS_SOURCE_TARBALL.tmp" ||
		qs_die "$deb holds no usr/src/$pkg.tar.xz"
	mv "$QS_SOURCE_TARBALL.tmp" "$QS_SOURCE_TARBALL"
	echo "$version" > "$QS_SOURCE_TARBALL.version"
	rm -rf "$dir/debs"
}

# apply_series TREE DIR: apply DIR's queue to TREE, in order.
apply_series() {
	local dest=$1 dir=$2 p n=0 total what
	what=$(queue_name "$dir")
	total=$(qs_series_patches "$dir" | wc -l)
	for p in $(qs_series_patches "$dir"); do
		n=$((n + 1))
		qs_log "source: applying [$n/$total] $p ($what)"
		if ! patch -d "$dest" -p1 --batch --forward --silent --dry-run \
			< "$dir/$p" > "$QS_BUILD/patch-error$QS_BASE_SUFFIX.log" 2>&1; then
			cat "$QS_BUILD/patch-error$QS_BASE_SUFFIX.log" >&2
			qs_die "patch $p (number $n in $what/series) does not apply to Linux $(cat "$dest/.quietsync-version")"
		fi
		patch -d "$dest" -p1 --batch --forward --silent < "$dir/$p"
	done
	[ "$total" -gt 0 ] || [ "$dir" != "$QS_PATCHES" ] ||
		qs_log "source: the series is empty, building unpatched $QS_KERNEL_VERSION"
}

main() {
	local stamp tmp
	if [ "${1:-}" = --stamp ]; then
		# What the tree's .quietsync-stamp says when it is that of the
		# tarball and patches named now (lab/build.sh compares).
		source_stamp
		return
	fi
	mkdir -p "$QS_BUILD"
	# Suites side by side (tests/run.sh) ask for the same tree.
	qs_lock "source$QS_BASE_SUFFIX${QS_SERIES_DIR:+-series}"
	if [ "$QS_BASE" = 7.3 ] && [ -z "${QS_SOURCE_NO_FETCH:-}" ]; then
		fetch_source_from_archive
	fi
	if [ ! -f "$QS_SOURCE_TARBALL" ]; then
		[ "$QS_BASE" = 6.12 ] ||
			qs_die "$QS_SOURCE_TARBALL is missing: run lab/source.sh without QS_SOURCE_NO_FETCH to fetch linux-source-$QS_BASE from Debian's archive"
		qs_die "$QS_SOURCE_TARBALL is missing: apt-get install linux-source-$QS_BASE (or run 'make deps')"
	fi
	stamp=$(source_stamp)
	if [ -f "$QS_SRC/.quietsync-stamp" ] &&
		[ "$(cat "$QS_SRC/.quietsync-stamp")" = "$stamp" ]; then
		qs_log "source: $QS_SRC is up to date"
		return 0
	fi
	tmp=$QS_SRC.new
	rm -rf "$tmp"
	extract_tarball "$tmp"
	apply_series "$tmp" "$QS_PATCHES"
	if [ -n "$QS_LAB_PATCHES" ]; then
		apply_series "$tmp" "$QS_LAB_PATCHES"
	else
		qs_log "source: the series alone, without the lab's queue (QS_LAB_PATCHES is empty)"
	fi
	echo "$stamp" > "$tmp/.quietsync-stamp"
	rm -rf "$QS_SRC"
	mv "$tmp" "$QS_SRC"
	qs_log "source: ready in $QS_SRC"
}

main "$@"
