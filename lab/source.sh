#!/usr/bin/env bash
# Extract Debian's linux-source-6.12 under build/ and apply the quietsync
# series. Idempotent: the tree is re-extracted from the tarball only when the
# series file or a patch it lists changed (or the tree is missing).
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

source_stamp() {
	{
		echo "version $QS_KERNEL_VERSION"
		stat -c 'tarball %s %Y' "$QS_SOURCE_TARBALL"
		sha256sum "$QS_PATCHES/series"
		local p
		for p in $(qs_series_patches); do
			[ -f "$QS_PATCHES/$p" ] ||
				qs_die "patches/linux-6.12/series lists '$p', which does not exist"
			sha256sum "$QS_PATCHES/$p"
		done
	} | sha256sum | cut -d' ' -f1
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
	[ "$version" = "$QS_KERNEL_VERSION" ] ||
		qs_die "$QS_SOURCE_TARBALL holds Linux $version, but lab/env.sh pins $QS_KERNEL_VERSION: install linux-source-6.12 at the pinned version (lab/packages.txt) or update the pin"
}

apply_series() {
	local dest=$1 p n=0 total
	total=$(qs_series_patches | wc -l)
	for p in $(qs_series_patches); do
		n=$((n + 1))
		qs_log "source: applying [$n/$total] $p"
		if ! patch -d "$dest" -p1 --batch --forward --silent --dry-run \
			< "$QS_PATCHES/$p" > "$QS_BUILD/patch-error.log" 2>&1; then
			cat "$QS_BUILD/patch-error.log" >&2
			qs_die "patch $p (number $n in patches/linux-6.12/series) does not apply to Linux $QS_KERNEL_VERSION"
		fi
		patch -d "$dest" -p1 --batch --forward --silent < "$QS_PATCHES/$p"
	done
	[ "$total" -gt 0 ] || qs_log "source: the series is empty, building unpatched $QS_KERNEL_VERSION"
}

main() {
	local stamp tmp
	[ -f "$QS_SOURCE_TARBALL" ] ||
		qs_die "$QS_SOURCE_TARBALL is missing: apt-get install linux-source-6.12 (or run 'make deps')"
	mkdir -p "$QS_BUILD"
	stamp=$(source_stamp)
	if [ -f "$QS_SRC/.quietsync-stamp" ] &&
		[ "$(cat "$QS_SRC/.quietsync-stamp")" = "$stamp" ]; then
		qs_log "source: $QS_SRC is up to date"
		return 0
	fi
	tmp=$QS_SRC.new
	rm -rf "$tmp"
	extract_tarball "$tmp"
	apply_series "$tmp"
	echo "$stamp" > "$tmp/.quietsync-stamp"
	rm -rf "$QS_SRC"
	mv "$tmp" "$QS_SRC"
	qs_log "source: ready in $QS_SRC"
}

main "$@"
