#!/usr/bin/env bash
# Build the quietsync livepatch for one of Debian's stock kernels against
# its headers, as lab/stock-kernel.sh fetched them into the cache (never
# installed: Debian's headers packages depend on the kernel image), into
# build/livepatch/RELEASE/quietsync_livepatch.ko.
#
# The source covers kernel lines, not releases (livepatch/kernels.txt): any
# release of a covered line builds, and the module decodes the kernel's
# tlb_remove_table_sync_one() at load before replacing it. Releases on the
# lab's verified list (livepatch/verified.env) are built as "verified",
# the others as "checked".
#
# Usage: lab/livepatch.sh [SET FLAVOUR [RELEASE]]
#   default: both flavours of the newest release of every set built here
#   (QS_LP_SETS). RELEASE: another release of SET than the newest.
# Environment: QS_LP_KERNEL=RELEASE (as `uname -r` prints it) builds for
#   that release, its set found in livepatch/kernels.txt.
#   Test fixtures (tests/guest-livepatch*.sh): QS_LP_OUT (where to build),
#   QS_LP_CLAIM_RELEASE (the module claims another release),
#   QS_LP_CLAIM_CALLEE (it expects tlb_remove_table_sync_one() to call
#   another function than smp_call_function).
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"
# shellcheck source=livepatch/verified.env
. "$QS_ROOT/livepatch/verified.env"

QS_LP_CLAIM_RELEASE=${QS_LP_CLAIM_RELEASE:-}
QS_LP_CLAIM_CALLEE=${QS_LP_CLAIM_CALLEE:-}
TABLE=$QS_ROOT/livepatch/kernels.txt

# The set of livepatch/kernels.txt whose release pattern RELEASE matches,
# with its flavour: "SET FLAVOUR". Nothing if no covered line has it.
set_of_release() {
	local rel=$1 set pattern flavour
	while read -r set _ _ _ pattern _; do
		for flavour in amd64 rt-amd64; do
			if grep -qE "^${pattern//FLAVOUR/$flavour}\$" <<< "$rel"; then
				echo "$set $flavour"
				return
			fi
		done
	done < <(grep -Ev '^[[:space:]]*(#|$)' "$TABLE")
}

# make_module USERLAND STOCK_DIR HEADERS OUT MAKE_ARGS...: build the module
# in OUT against HEADERS (under STOCK_DIR). The headers' kbuild tools run
# in the userland they were built for: on the host when it is that Debian
# release, else inside lab/userland.sh's (Debian 13's tools need glibc
# 2.38, Debian 12 has 2.36).
make_module() {
	local userland=$1 stock=$2 headers=$3 out=$4 host
	shift 4
	host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	if [ "$userland" = "$host" ]; then
		make -s -C "$headers" M="$out" "$@"
	else
		"$QS_ROOT/lab/userland.sh" "$userland" "$stock:/quietsync/stock" \
			"$out:/quietsync/module" -- make -s \
			-C "/quietsync/stock/${headers#"$stock"/}" M=/quietsync/module "$@"
	fi
}

build_release() {
	local set=$1 flavour=$2 rel=$3 out stock headers rule_patch line userland status
	out=$(realpath -m "${QS_LP_OUT:-$QS_BUILD/livepatch/$rel}")
	stock=$("$QS_ROOT/lab/stock-kernel.sh" "$set" "$flavour" "$rel")
	headers=$stock/$(jq -r .headers "$stock/stock.json")
	line=$(jq -r .line "$stock/stock.json")
	userland=$(jq -r .userland "$stock/stock.json")
	[ -f "$headers/Makefile" ] ||
		qs_die "no headers in $headers: remove $stock and run again"
	rule_patch=$("$QS_ROOT/livepatch/extract-rule.sh" --rule-patch "$line")
	status=checked
	case " $QS_LP_VERIFIED " in
	*" $rel "*) status=verified ;;
	esac
	rm -rf "$out"
	mkdir -p "$out"
	cp "$QS_ROOT/livepatch/Kbuild" "$QS_ROOT/livepatch/quietsync_livepatch.c" \
		"$QS_ROOT/livepatch/sync_one_check.h" "$QS_ROOT/livepatch/sync_census.h" "$out/"
	"$QS_ROOT/livepatch/extract-rule.sh" "$rule_patch" "$out/quiet_rule.h" "$line"
	qs_log "livepatch: building for $rel ($set, flavour $flavour, $status)"
	if ! make_module "$userland" "$stock" "$headers" "$out" \
		QS_LP_RELEASE="${QS_LP_CLAIM_RELEASE:-$rel}" QS_LP_FLAVOR="$flavour" \
		QS_LP_STATUS="$status" QS_LP_CALLEE="$QS_LP_CLAIM_CALLEE" \
		modules > "$out/build.log" 2>&1; then
		cat "$out/build.log" >&2
		qs_die "livepatch build for $rel failed"
	fi
	if grep -qi 'warning' "$out/build.log"; then
		cat "$out/build.log" >&2
		qs_die "livepatch build for $rel has warnings"
	fi
	jq -n --arg release "$rel" --arg set "$set" --arg line "$line" \
		--arg flavour "$flavour" --arg status "$status" \
		--arg series "${rule_patch#"$QS_ROOT"/}" \
		'{release: $release, set: $set, line: $line, flavour: $flavour,
		  status: $status, rule_from: $series}' > "$out/livepatch.json"
	qs_log "livepatch: $out/quietsync_livepatch.ko ($(modinfo -F vermagic "$out/quietsync_livepatch.ko"))"
}

main() {
	local set flavour rel found
	if [ -n "${QS_LP_KERNEL:-}" ]; then
		found=$(set_of_release "$QS_LP_KERNEL")
		[ -n "$found" ] ||
			qs_die "the livepatch covers the Debian kernel lines of livepatch/kernels.txt ($(grep -Ev '^[[:space:]]*(#|$)' "$TABLE" | awk '{ printf "%s ", $3 }')), each in flavours amd64 and rt-amd64; $QS_LP_KERNEL is not one of them"
		read -r set flavour <<< "$found"
		build_release "$set" "$flavour" "$QS_LP_KERNEL"
		return
	fi
	if [ $# -ge 2 ]; then
		set=$1 flavour=$2
		rel=${3:-$("$QS_ROOT/lab/stock-kernel.sh" --resolve "$set" "$flavour")}
		build_release "$set" "$flavour" "$rel"
		return
	fi
	[ $# -eq 0 ] || qs_die "usage: lab/livepatch.sh [SET FLAVOUR [RELEASE]]"
	[ -z "${QS_LP_OUT:-}" ] || qs_die "QS_LP_OUT needs one SET and FLAVOUR"
	for set in $QS_LP_SETS; do
		for flavour in amd64 rt-amd64; do
			build_release "$set" "$flavour" \
				"$("$QS_ROOT/lab/stock-kernel.sh" --resolve "$set" "$flavour")"
		done
	done
}

main "$@"
