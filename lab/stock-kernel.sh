#!/usr/bin/env bash
# Fetch one of Debian's stock kernels and its headers without installing
# anything: resolve the newest release of a kernel set (livepatch/
# kernels.txt) in Debian's archive, `apt-get download` its image and headers
# packages through the private apt configuration (lab/archive.sh) and unpack
# them with dpkg -x into the cache outside the clone, once per release:
#
#   $QS_CACHE/stock/RELEASE/vmlinuz, config   the kernel as Debian ships it
#   $QS_CACHE/stock/RELEASE/root/             headers, their common part and
#                                             kbuild tools, as dpkg -x left
#                                             them (the flavour Makefile's
#                                             include made relative)
#   $QS_CACHE/stock/RELEASE/stock.json        what it is and which packages
#
# Nothing goes to /boot, /usr/src or the dpkg database: Debian's headers
# packages depend on the image, so installing them would install a kernel.
#
# Usage: lab/stock-kernel.sh SET FLAVOUR [RELEASE]
#          fetch (if not cached) and print the cache directory; RELEASE
#          (`uname -r` form) picks another release of the set than the newest
#        lab/stock-kernel.sh --resolve SET FLAVOUR
#          print the newest release only
# SET: a set of livepatch/kernels.txt (deb12-6.12, ...); FLAVOUR: amd64 or
# rt-amd64.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"
# shellcheck source=lab/archive.sh
. "$QS_ROOT/lab/archive.sh"

QS_KERNELS_TABLE=${QS_KERNELS_TABLE:-$QS_ROOT/livepatch/kernels.txt}

# set_field SET FIELD: debian, line, userland or release (the pattern).
set_field() {
	local col
	case $2 in
	debian) col=2 ;; line) col=3 ;; userland) col=4 ;; release) col=5 ;;
	*) qs_die "set_field: no field $2" ;;
	esac
	awk -v set="$1" -v col="$col" '!/^#/ && $1 == set { print $col; found = 1 }
		END { exit !found }' "$QS_KERNELS_TABLE" ||
		qs_die "no kernel set '$1' in $QS_KERNELS_TABLE (sets: $(known_sets))"
}

known_sets() {
	awk '!/^#/ && NF { printf "%s ", $1 }' "$QS_KERNELS_TABLE"
}

check_flavour() {
	case $1 in
	amd64 | rt-amd64) ;;
	*) qs_die "unknown flavour '$1': amd64 or rt-amd64" ;;
	esac
}

# release_regex SET FLAVOUR: the set's `uname -r` pattern for FLAVOUR.
release_regex() {
	local pattern
	pattern=$(set_field "$1" release)
	echo "${pattern//FLAVOUR/$2}"
}

# The newest release of SET in FLAVOUR that the archive offers.
newest_release() {
	local regex name newest=
	regex=$(release_regex "$1" "$2")
	for name in $(archive_apt_cache pkgnames linux-image- |
		grep -E "^linux-image-$regex\$" | sort -rV); do
		if [ -n "$(archive_version "$name")" ]; then
			newest=${name#linux-image-}
			break
		fi
	done
	[ -n "$newest" ] ||
		qs_die "Debian's archive has no release of $1 in flavour $2 (pattern $regex)"
	echo "$newest"
}

# The packages that hold the kernel image and its config: linux-image-REL,
# or, where that is a meta package (7.x), the binary and base packages it
# depends on (its modules are not needed to boot the lab's initramfs).
image_packages() {
	local rel=$1 deps
	deps=$(archive_depends "linux-image-$rel")
	if grep -qx "linux-binary-$rel" <<< "$deps"; then
		grep -xF -e "linux-binary-$rel" -e "linux-base-$rel" <<< "$deps"
	else
		echo "linux-image-$rel"
	fi
}

# The headers of REL and what they need to build a module, except the image
# they depend on: the common headers, the kbuild tools, the base package.
headers_packages() {
	local rel=$1
	echo "linux-headers-$rel"
	archive_depends "linux-headers-$rel" |
		grep -E '^linux-(headers|kbuild|base)-[0-9]' || true
}

# unpack_image DEBS_DIR DEST: vmlinuz and config out of the image packages.
unpack_image() {
	local debs=$1 dest=$2 rel=$3 tmp deb
	tmp=$dest/image.tmp
	mkdir -p "$tmp"
	for deb in "$debs"/*.deb; do
		dpkg -x "$deb" "$tmp"
	done
	local f
	for f in "boot/vmlinuz-$rel" "usr/lib/modules/$rel/vmlinuz"; do
		[ ! -f "$tmp/$f" ] || cp "$tmp/$f" "$dest/vmlinuz"
	done
	for f in "boot/config-$rel" "usr/lib/modules/$rel/config"; do
		[ ! -f "$tmp/$f" ] || cp "$tmp/$f" "$dest/config"
	done
	rm -rf "$tmp"
	[ -f "$dest/vmlinuz" ] || qs_die "no vmlinuz for $rel in $(ls "$debs")"
	[ -f "$dest/config" ] || qs_die "no config for $rel in $(ls "$debs")"
}

# unpack_headers DEBS_DIR DEST REL: headers under DEST/root, the flavour
# Makefile's absolute paths made relative, so that the tree builds modules
# wherever it lies (here, or inside another userland): 6.x includes
# /usr/src/linux-headers-*-common/Makefile, 7.x sets KBUILD_OUTPUT to its
# own /usr/src folder, which is the folder make -C enters (CURDIR).
unpack_headers() {
	local debs=$1 dest=$2 rel=$3 deb mk
	for deb in "$debs"/*.deb; do
		dpkg -x "$deb" "$dest/root"
	done
	mk=$dest/root/usr/src/linux-headers-$rel/Makefile
	[ -f "$mk" ] || qs_die "no $mk after unpacking $(ls "$debs")"
	# shellcheck disable=SC2016 # $(CURDIR) is make's, not the shell's
	sed -i -E -e 's|^include /usr/src/([^/]+)/Makefile$|include ../\1/Makefile|' \
		-e 's|^KBUILD_OUTPUT *:?= */usr/src/linux-headers-[^/]+$|KBUILD_OUTPUT = $(CURDIR)|' "$mk"
	if ! grep -qE '^include \.\./linux-headers-[^/]+/Makefile$' "$mk" ||
		grep -q '/usr/src' "$mk"; then
		qs_die "$mk: a form lab/stock-kernel.sh does not know (an absolute path left): $(head -c 300 "$mk")"
	fi
}

# write_manifest DEST SET FLAVOUR REL PACKAGE=VERSION...
write_manifest() {
	local dest=$1 set=$2 flavour=$3 rel=$4
	shift 4
	printf '%s\n' "$@" | jq -R 'split("=") | {name: .[0], version: .[1]}' |
		jq -s --arg set "$set" --arg flavour "$flavour" --arg release "$rel" \
			--arg debian "$(set_field "$set" debian)" \
			--arg line "$(set_field "$set" line)" \
			--arg userland "$(set_field "$set" userland)" \
			--arg headers "root/usr/src/linux-headers-$rel" \
			'{set: $set, debian: $debian, line: $line, flavour: $flavour,
			  release: $release, userland: $userland, vmlinuz: "vmlinuz",
			  config: "config", headers: $headers, packages: .}' \
			> "$dest/stock.json"
}

fetch_release() {
	local set=$1 flavour=$2 rel=$3 dest tmp p v image headers versions=()
	dest=$QS_CACHE/stock/$rel
	grep -qE "^$(release_regex "$set" "$flavour")\$" <<< "$rel" ||
		qs_die "$rel is not a release of $set in flavour $flavour ($(release_regex "$set" "$flavour"))"
	if [ -f "$dest/stock.json" ]; then
		qs_log "stock: $rel is cached in $dest"
		echo "$dest"
		return 0
	fi
	image=$(image_packages "$rel")
	headers=$(headers_packages "$rel")
	for p in $image $headers; do
		v=$(archive_version "$p")
		[ -n "$v" ] || qs_die "Debian's archive has no package $p (the archive may have dropped $rel)"
		versions+=("$p=$v")
	done
	tmp=$dest.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	qs_log "stock: downloading ${image//$'\n'/ } ${headers//$'\n'/ }"
	# shellcheck disable=SC2086 # one package name per word
	archive_download "$tmp/image-debs" $image
	# shellcheck disable=SC2086
	archive_download "$tmp/headers-debs" $headers
	qs_log "stock: unpacking $rel ($(du -sh "$tmp" | cut -f1) of packages)"
	unpack_image "$tmp/image-debs" "$tmp" "$rel"
	unpack_headers "$tmp/headers-debs" "$tmp" "$rel"
	rm -rf "$tmp/image-debs" "$tmp/headers-debs"
	write_manifest "$tmp" "$set" "$flavour" "$rel" "${versions[@]}"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	trap - EXIT
	qs_log "stock: $rel ready in $dest"
	echo "$dest"
}

main() {
	local resolve=0 set flavour rel
	if [ "${1:-}" = --resolve ]; then
		resolve=1
		shift
	fi
	if [ $# -lt 2 ] || [ $# -gt $((3 - resolve)) ]; then
		qs_die "usage: lab/stock-kernel.sh [--resolve] SET FLAVOUR [RELEASE] (sets: $(known_sets))"
	fi
	set=$1 flavour=$2 rel=${3:-}
	check_flavour "$flavour"
	set_field "$set" line > /dev/null
	command -v jq > /dev/null || qs_die "jq is missing: apt-get install jq"
	archive_ready
	[ -n "$rel" ] || rel=$(newest_release "$set" "$flavour")
	if [ "$resolve" -eq 1 ]; then
		echo "$rel"
		return 0
	fi
	fetch_release "$set" "$flavour" "$rel"
}

main "$@"
