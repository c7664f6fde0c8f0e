#!/usr/bin/env bash
# lab/source.sh against small stand-in tarballs: the version pin is checked,
# the series is applied in order, a re-run is a no-op, a changed patch gives
# a pristine tree, and a patch that does not apply is named.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make_tarball() {
	local out=$1 sublevel=$2 dir=$tmp/mk/linux-source-6.12
	rm -rf "$tmp/mk"
	mkdir -p "$dir/mm"
	printf 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = %s\nEXTRAVERSION =\n' "$sublevel" > "$dir/Makefile"
	printf 'int sync_one(void)\n{\n\treturn 0;\n}\n' > "$dir/mm/mmu_gather.c"
	tar -cJf "$out" -C "$tmp/mk" linux-source-6.12
}

make_patch() {
	local out=$1 from=$2 to=$3
	cat > "$out" <<-PATCH
		--- a/mm/mmu_gather.c
		+++ b/mm/mmu_gather.c
		@@ -1,4 +1,4 @@
		 int sync_one(void)
		 {
		-	return $from;
		+	return $to;
		 }
	PATCH
}

pinned_sublevel=${QS_KERNEL_VERSION##*.}
make_tarball "$tmp/good.tar.xz" "$pinned_sublevel"
make_tarball "$tmp/other.tar.xz" 99
mkdir -p "$tmp/patches"
: > "$tmp/patches/series"

# shellcheck disable=SC2317 # called through t_expect
run_source() {
	env QS_BUILD="$tmp/build" QS_PATCHES="$tmp/patches" \
		QS_SOURCE_TARBALL="${TARBALL:-$tmp/good.tar.xz}" lab/source.sh
}
tree=$tmp/build/linux-$QS_KERNEL_VERSION

t_expect "empty series: unpatched tree" 0 'series is empty' run_source
t_expect "re-run is a no-op" 0 'is up to date' run_source

make_patch "$tmp/patches/0001-one.patch" 0 1
make_patch "$tmp/patches/0002-two.patch" 1 2
printf '# comment\n0001-one.patch\n\n0002-two.patch\n' > "$tmp/patches/series"
touch "$tree/marker"
t_expect "series applied in order" 0 'applying \[2/2\] 0002-two.patch' run_source
if grep -q 'return 2;' "$tree/mm/mmu_gather.c" && [ ! -e "$tree/marker" ]; then
	t_pass "patched tree is fresh and has both patches"
else
	t_fail "patched tree is fresh and has both patches" "$(cat "$tree/mm/mmu_gather.c")"
fi

make_patch "$tmp/patches/0002-two.patch" 1 3
t_expect "changed patch re-extracts" 0 'extracting' run_source
if grep -q 'return 3;' "$tree/mm/mmu_gather.c"; then
	t_pass "changed patch applied to a pristine tree"
else
	t_fail "changed patch applied to a pristine tree" "$(cat "$tree/mm/mmu_gather.c")"
fi

make_patch "$tmp/patches/0002-two.patch" 7 8
t_expect "a patch that does not apply is named" 1 \
	'patch 0002-two.patch \(number 2 in patches/linux-6.12/series\) does not apply' run_source

printf '0001-one.patch\n0009-missing.patch\n' > "$tmp/patches/series"
t_expect "a missing patch file is named" 1 "lists '0009-missing.patch', which does not exist" run_source

: > "$tmp/patches/series"
TARBALL=$tmp/other.tar.xz t_expect "another kernel version is refused" 1 \
	"holds Linux 6.12.99, but lab/env.sh pins $QS_KERNEL_VERSION" run_source
TARBALL=$tmp/none.tar.xz t_expect "a missing tarball names the package" 1 \
	'apt-get install linux-source-6.12' run_source
t_finish
