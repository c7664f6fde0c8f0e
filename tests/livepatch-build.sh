#!/usr/bin/env bash
# The livepatch source covers kernel lines, not releases: it builds, with no
# warning, for the newest release of every line of livepatch/kernels.txt in
# both flavours (Debian 13's inside the trixie userland), and for an older
# release of a line, which is then "checked", not "verified". The module's
# check of tlb_remove_table_sync_one() and its census of the sync's
# references (the "flushed" rule's gate) pass their unit tests. Each build's
# vermagic names its release.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh
# shellcheck source=livepatch/verified.env
. livepatch/verified.env

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# unit_test NAME LABEL: tests/NAME.c, compiled as the kernel's C would be
# warned about, run on the host; its results prefixed with LABEL.
unit_test() {
	local name=$1 label=$2
	if gcc -std=c11 -Wall -Wextra -Werror -I livepatch -o "$tmp/$name" \
		"tests/$name.c" 2> "$tmp/cc.log"; then
		"$tmp/$name" > "$tmp/$name.ktap" || true
		sed -n "s/^\\(\\(not \\)\\?ok\\) [0-9]* \\(.*\\)\$/\\1 $label: \\3/p" "$tmp/$name.ktap"
		grep -q '^# PASS$' "$tmp/$name.ktap" || QS_TEST_FAILED=1
	else
		t_fail "$label unit test builds" "$(head -n 3 "$tmp/cc.log" | tr '\n' ' ')"
	fi
}
# The decoder of tlb_remove_table_sync_one(), and the census behind the
# "flushed" rule on a fixture kernel.
unit_test sync_one_check_test decoder
unit_test sync_census_test census

# build_for SET FLAVOUR RELEASE STATUS: one module, its facts checked.
build_for() {
	local set=$1 flavour=$2 rel=$3 want=$4 dir=$QS_BUILD/livepatch/$3 got magic
	if ! lab/livepatch.sh "$set" "$flavour" "$rel" >&2; then
		t_fail "$set $flavour $rel: builds" "lab/livepatch.sh failed (output above)"
		return
	fi
	got=$(jq -r .status "$dir/livepatch.json")
	magic=$(modinfo -F vermagic "$dir/quietsync_livepatch.ko")
	if [ "$got" != "$want" ]; then
		t_fail "$set $flavour $rel: builds, $want" "status $got"
	elif [ "${magic%% *}" != "$rel" ]; then
		t_fail "$set $flavour $rel: builds, $want" "vermagic '$magic'"
	else
		t_pass "$set $flavour $rel: builds, $want"
	fi
}

status_of() {
	case " $QS_LP_VERIFIED " in
	*" $1 "*) echo verified ;;
	*) echo checked ;;
	esac
}

mapfile -t sets < <(awk '!/^#/ && NF { print $1 }' livepatch/kernels.txt)
for set in "${sets[@]}"; do
	for flavour in amd64 rt-amd64; do
		if ! rel=$(lab/stock-kernel.sh --resolve "$set" "$flavour"); then
			t_fail "$set $flavour: newest release resolved" "lab/stock-kernel.sh --resolve failed"
			continue
		fi
		build_for "$set" "$flavour" "$rel" "$(status_of "$rel")"
	done
done

# An older release of Debian 13's 6.12 line, on no verified list.
older=6.12.117+deb13-amd64
build_for deb13-6.12 amd64 "$older" checked
t_finish
