#!/usr/bin/env bash
# The livepatch source covers kernel lines, not releases: it builds, with no
# warning, for the newest release of every line of livepatch/kernels.txt in
# both flavours (Debian 13's inside the trixie userland), and for an older
# release of a line, which is then "checked", not "verified". The module's
# check of tlb_remove_table_sync_one() passes its unit test. Each build's
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

# The decoder, compiled as the kernel's C would be warned about, on the host.
if gcc -std=c11 -Wall -Wextra -Werror -I livepatch -o "$tmp/sync_one_check_test" \
	tests/sync_one_check_test.c 2> "$tmp/cc.log"; then
	"$tmp/sync_one_check_test" > "$tmp/unit.ktap" || true
	sed -n 's/^\(\(not \)\?ok\) [0-9]* \(.*\)$/\1 decoder: \3/p' "$tmp/unit.ktap"
	grep -q '^# PASS$' "$tmp/unit.ktap" || QS_TEST_FAILED=1
else
	t_fail "decoder unit test builds" "$(head -n 3 "$tmp/cc.log" | tr '\n' ' ')"
fi

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
