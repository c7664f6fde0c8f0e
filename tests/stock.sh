#!/usr/bin/env bash
# lab/stock-kernel.sh: Debian's stock kernels come from the archive through
# the private apt configuration, unpacked into the cache, never installed.
# Bad input is refused with a clear message; the newest release of a set is
# resolved, not pinned; a fetched kernel has its image, its config and
# headers that build modules where they lie.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

t_expect "an unknown kernel set is refused, naming the sets" 1 \
	"no kernel set 'deb11-5.10' in .*kernels.txt \(sets: deb12-6.1 deb12-6.12 deb13-6.12 deb13-7.3 \)" \
	lab/stock-kernel.sh deb11-5.10 amd64
t_expect "an unknown flavour is refused" 1 "unknown flavour 'cloud-amd64': amd64 or rt-amd64" \
	lab/stock-kernel.sh deb12-6.12 cloud-amd64
t_expect "a release of another set is refused" 1 \
	'6\.1\.0-57-amd64 is not a release of deb12-6\.12 in flavour amd64' \
	lab/stock-kernel.sh deb12-6.12 amd64 6.1.0-57-amd64
t_expect "a release the archive does not have is named" 1 \
	"no package linux-image-6\.12\.1\+deb12-amd64 \(the archive may have dropped 6\.12\.1\+deb12-amd64\)" \
	lab/stock-kernel.sh deb12-6.12 amd64 6.12.1+deb12-amd64

# The newest release of every set and flavour, as the archive has it today.
mapfile -t sets < <(awk '!/^#/ && NF { print $1 }' livepatch/kernels.txt)
for set in "${sets[@]}"; do
	for flavour in amd64 rt-amd64; do
		regex=$(awk -v s="$set" '$1 == s { print $5 }' livepatch/kernels.txt)
		regex=${regex//FLAVOUR/$flavour}
		if rel=$(lab/stock-kernel.sh --resolve "$set" "$flavour" 2> "$QS_BUILD/tests/stock-resolve.err") &&
			grep -qE "^$regex\$" <<< "$rel"; then
			t_pass "newest release of $set $flavour resolved: $rel"
		else
			t_fail "newest release of $set $flavour resolved" "got '${rel:-}': $(tail -n 2 "$QS_BUILD/tests/stock-resolve.err" | tr '\n' ' ')"
		fi
	done
done

# One kernel fetched end to end (cached after the first run).
dir=$(lab/stock-kernel.sh deb12-6.12 amd64) || { t_fail "deb12-6.12 amd64 fetched" "lab/stock-kernel.sh failed"; t_finish; }
rel=$(jq -r .release "$dir/stock.json")
if [ -s "$dir/vmlinuz" ] && grep -q 'Linux kernel x86 boot executable' <<< "$(file -L "$dir/vmlinuz")"; then
	t_pass "fetched $rel: vmlinuz is a bootable x86 kernel"
else
	t_fail "fetched $rel: vmlinuz is a bootable x86 kernel" "$(file -L "$dir/vmlinuz")"
fi
if grep -qx 'CONFIG_LIVEPATCH=y' "$dir/config" && grep -qx 'CONFIG_MMU_GATHER_RCU_TABLE_FREE=y' "$dir/config"; then
	t_pass "fetched $rel: config has LIVEPATCH and MMU_GATHER_RCU_TABLE_FREE"
else
	t_fail "fetched $rel: config has LIVEPATCH and MMU_GATHER_RCU_TABLE_FREE" "$dir/config"
fi
headers=$dir/$(jq -r .headers "$dir/stock.json")
if grep -qE '^include \.\./linux-headers-[^/]+-common/Makefile$' "$headers/Makefile" && ! grep -q /usr/src "$headers/Makefile"; then
	t_pass "fetched $rel: headers include their common part relatively"
else
	t_fail "fetched $rel: headers include their common part relatively" "$(cat "$headers/Makefile")"
fi
if jq -e '.packages | map(.name) | any(startswith("linux-kbuild-")) and any(startswith("linux-headers-"))' \
	"$dir/stock.json" > /dev/null; then
	t_pass "fetched $rel: stock.json names its packages and versions"
else
	t_fail "fetched $rel: stock.json names its packages and versions" "$(jq -c .packages "$dir/stock.json")"
fi
t_finish
