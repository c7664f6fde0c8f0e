#!/usr/bin/env bash
# Build the quietsync livepatch against Debian's headers for the kernels it
# was verified on (livepatch/verified.env), one module per flavor, in
# build/livepatch/FLAVOR/. Refuses any other release by name.
#
# Usage: lab/livepatch.sh [FLAVOR...]   (default: every verified flavor)
# Environment: QS_LP_KERNEL=RELEASE builds for that release only (as
#   `uname -r` prints it); it must be one of the verified ones.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"
# shellcheck source=livepatch/verified.env
. "$QS_ROOT/livepatch/verified.env"

# Test fixtures only (tests/guest-livepatch*.sh): a module that claims
# another release, or expects another size of the patched function, must
# refuse to load. QS_LP_OUT: where to build (one flavor only).
QS_LP_CLAIM_RELEASE=${QS_LP_CLAIM_RELEASE:-}
QS_LP_CLAIM_FUNC_SIZE=${QS_LP_CLAIM_FUNC_SIZE:-}

# flavor_fact FLAVOR FACT: QS_LP_FACT_FLAVOR from verified.env.
flavor_fact() {
	local var="QS_LP_${2}_${1//-/_}"
	[ -n "${!var:-}" ] || qs_die "livepatch/verified.env has no $var"
	echo "${!var}"
}

verified_releases() {
	local f
	for f in $QS_LP_FLAVORS; do
		printf '%s ' "$(flavor_fact "$f" RELEASE)"
	done
}

# The verified flavor whose release is $1, or die naming the verified ones.
flavor_of_release() {
	local f
	for f in $QS_LP_FLAVORS; do
		if [ "$(flavor_fact "$f" RELEASE)" = "$1" ]; then
			echo "$f"
			return
		fi
	done
	qs_die "the livepatch is verified for $(verified_releases)only, not $1: it patches one kernel's code and refuses any other"
}

build_flavor() {
	local flavor=$1 out release package headers patch3
	release=$(flavor_fact "$flavor" RELEASE)
	package=$(flavor_fact "$flavor" PACKAGE)
	out=$(realpath -m "${QS_LP_OUT:-$QS_BUILD/livepatch/$flavor}")
	headers=/usr/src/linux-headers-$release
	[ -f "$headers/Makefile" ] ||
		qs_die "no headers in $headers: apt-get install $package"
	patch3=$(ls "$QS_PATCHES"/0003-*.patch)
	rm -rf "$out"
	mkdir -p "$out"
	cp "$QS_ROOT/livepatch/Kbuild" "$QS_ROOT/livepatch/quietsync_livepatch.c" "$out/"
	"$QS_ROOT/livepatch/extract-rule.sh" "$patch3" "$out/quiet_rule.h"
	qs_log "livepatch: building for $release (flavor $flavor)"
	if ! make -s -C "$headers" M="$out" \
		QS_LP_RELEASE="${QS_LP_CLAIM_RELEASE:-$release}" QS_LP_FLAVOR="$flavor" \
		QS_LP_FUNC_SIZE="${QS_LP_CLAIM_FUNC_SIZE:-$(flavor_fact "$flavor" FUNC_SIZE)}" \
		modules > "$out/build.log" 2>&1; then
		cat "$out/build.log" >&2
		qs_die "livepatch build for $flavor failed"
	fi
	if grep -q 'warning:' "$out/build.log"; then
		cat "$out/build.log" >&2
		qs_die "livepatch build for $flavor has warnings"
	fi
	qs_log "livepatch: $out/quietsync_livepatch.ko ($(modinfo -F vermagic "$out/quietsync_livepatch.ko"))"
}

main() {
	local flavors=("$@") f
	if [ -n "${QS_LP_KERNEL:-}" ]; then
		flavors=("$(flavor_of_release "$QS_LP_KERNEL")")
	fi
	if [ ${#flavors[@]} -eq 0 ]; then
		read -ra flavors <<< "$QS_LP_FLAVORS"
	fi
	for f in "${flavors[@]}"; do
		case " $QS_LP_FLAVORS " in
		*" $f "*) ;;
		*) qs_die "unknown flavor '$f': verified flavors are $QS_LP_FLAVORS" ;;
		esac
	done
	[ -z "${QS_LP_OUT:-}" ] || [ ${#flavors[@]} -eq 1 ] ||
		qs_die "QS_LP_OUT needs exactly one flavor"
	for f in "${flavors[@]}"; do
		build_flavor "$f"
	done
}

main "$@"
