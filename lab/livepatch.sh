#!/usr/bin/env bash
# Build the quietsync livepatch against Debian's headers for the kernel it
# was verified on (livepatch/verified.env), in build/livepatch. Refuses any
# other release (QS_LP_KERNEL, default: the verified one) by name.
#
# Usage: lab/livepatch.sh
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"
# shellcheck source=livepatch/verified.env
. "$QS_ROOT/livepatch/verified.env"

QS_LP_KERNEL=${QS_LP_KERNEL:-$QS_LP_RELEASE}
# Test fixtures only (tests/guest-livepatch.sh): a module that claims another
# release, or expects another size of the patched function, must refuse to
# load. QS_LP_OUT: where to build (default build/livepatch).
QS_LP_CLAIM_RELEASE=${QS_LP_CLAIM_RELEASE:-$QS_LP_RELEASE}
QS_LP_CLAIM_FUNC_SIZE=${QS_LP_CLAIM_FUNC_SIZE:-$QS_LP_FUNC_SIZE}

main() {
	local out headers patch3
	out=$(realpath -m "${QS_LP_OUT:-$QS_BUILD/livepatch}")
	if [ "$QS_LP_KERNEL" != "$QS_LP_RELEASE" ]; then
		qs_die "the livepatch is verified for $QS_LP_RELEASE only, not $QS_LP_KERNEL: it patches one kernel's code and refuses any other"
	fi
	headers=/usr/src/linux-headers-$QS_LP_RELEASE
	[ -f "$headers/Makefile" ] ||
		qs_die "no headers in $headers: apt-get install $QS_LP_PACKAGE"
	patch3=$(ls "$QS_PATCHES"/0003-*.patch)
	rm -rf "$out"
	mkdir -p "$out"
	cp "$QS_ROOT/livepatch/Kbuild" "$QS_ROOT/livepatch/quietsync_livepatch.c" "$out/"
	"$QS_ROOT/livepatch/extract-rule.sh" "$patch3" "$out/quiet_rule.h"
	qs_log "livepatch: building for $QS_LP_RELEASE"
	if ! make -s -C "$headers" M="$out" QS_LP_RELEASE="$QS_LP_CLAIM_RELEASE" \
		QS_LP_FUNC_SIZE="$QS_LP_CLAIM_FUNC_SIZE" modules > "$out/build.log" 2>&1; then
		cat "$out/build.log" >&2
		qs_die "livepatch build failed"
	fi
	if grep -q 'warning:' "$out/build.log"; then
		cat "$out/build.log" >&2
		qs_die "livepatch build has warnings"
	fi
	qs_log "livepatch: $out/quietsync_livepatch.ko ($(modinfo -F vermagic "$out/quietsync_livepatch.ko"))"
}

main "$@"
