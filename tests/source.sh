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

# make_tarball OUT SUBLEVEL [VERSION PATCHLEVEL]: a stand-in source tarball.
make_tarball() {
	local out=$1 sublevel=$2 version=${3:-6} patchlevel=${4:-12} dir=$tmp/mk/linux-source
	rm -rf "$tmp/mk"
	mkdir -p "$dir/mm"
	printf 'VERSION = %s\nPATCHLEVEL = %s\nSUBLEVEL = %s\nEXTRAVERSION =\n' \
		"$version" "$patchlevel" "$sublevel" > "$dir/Makefile"
	printf 'int sync_one(void)\n{\n\treturn 0;\n}\n' > "$dir/mm/mmu_gather.c"
	tar -cJf "$out" -C "$tmp/mk" linux-source
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

# The 7.3 base follows the archive: any 7.3.y is taken (QS_SOURCE_NO_FETCH:
# the stand-in tarball, not the archive's), another line is refused, and a
# patch that no longer applies names the version it met.
# shellcheck disable=SC2317 # called through t_expect
run_source_73() {
	env QS_BASE=7.3 QS_SOURCE_NO_FETCH=1 QS_BUILD="$tmp/build" QS_PATCHES="$tmp/patches" \
		QS_SOURCE_TARBALL="$TARBALL" lab/source.sh
}
make_tarball "$tmp/73.tar.xz" 9 7 3
make_tarball "$tmp/74.tar.xz" 1 7 4
: > "$tmp/patches/series"
TARBALL=$tmp/73.tar.xz t_expect "7.3 base: a newer 7.3.y is taken" 0 'series is empty' run_source_73
if [ "$(cat "$tmp/build/linux-7.3/.quietsync-version" 2> /dev/null)" = 7.3.9 ]; then
	t_pass "7.3 base: the tree records the version it holds"
else
	t_fail "7.3 base: the tree records the version it holds" "no build/linux-7.3/.quietsync-version 7.3.9"
fi
TARBALL=$tmp/74.tar.xz t_expect "7.3 base: another line is refused" 1 \
	'holds Linux 7.4.1, but lab/env.sh pins 7.3' run_source_73
make_patch "$tmp/patches/0001-one.patch" 5 6
printf '0001-one.patch\n' > "$tmp/patches/series"
TARBALL=$tmp/73.tar.xz t_expect "7.3 base: a patch that no longer applies names the version" 1 \
	'0001-one.patch \(number 1 in patches/linux-7.3/series\) does not apply to Linux 7.3.9' run_source_73
TARBALL=$tmp/none.tar.xz t_expect "7.3 base: a missing tarball says how to fetch it" 1 \
	'without QS_SOURCE_NO_FETCH to fetch linux-source-7.3' run_source_73
t_expect "an unknown base is refused" 1 'unsupported QS_BASE=5.10 \(6.12, 7.3\)' env QS_BASE=5.10 lab/source.sh
t_finish
