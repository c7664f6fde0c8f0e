#!/usr/bin/env bash
# Every patch of the series builds on its own: a separate tree under
# build/bisect gets the patches one at a time, and after each the lab
# kernel (the lab .config through olddefconfig) is built. Not part of the
# default make check (about 15 minutes cold, a few warm): run it with
# make check-bisect before changing the series (QS_BASE=7.3 make
# check-bisect for the mainline series; each base has its own tree;
# QS_ARCH=arm64 cross-builds from the arm64 kernel's .config, which
# lab/config.sh writes without building it).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

bisect=$QS_BUILD/bisect$QS_BASE_SUFFIX
[ "$QS_ARCH" = x86_64 ] || bisect+=-$QS_ARCH
tree=$bisect/linux
obj=$bisect/obj

[ -f "$QS_OBJ/.config" ] || { t_fail "lab kernel configured" "run make config (or make kernel) first"; t_finish; }
rm -rf "$bisect"
mkdir -p "$tree" "$obj"
qs_log "bisect: extracting a separate tree"
tar -xJ --touch -f "$QS_SOURCE_TARBALL" -C "$tree" --strip-components=1
n=0
mapfile -t patches < <(qs_series_patches "$QS_PATCHES")
for p in "${patches[@]}"; do
	n=$((n + 1))
	if ! patch -d "$tree" -p1 --batch --forward --silent < "$QS_PATCHES/$p" > /dev/null; then
		t_fail "patch $n applies: $p" "patch failed"
		t_finish
	fi
	cp "$QS_OBJ/.config" "$obj/.config"
	make -s -C "$tree" O="$obj" ARCH="$QS_ARCH" CROSS_COMPILE="$QS_CROSS_COMPILE" \
		olddefconfig > /dev/null
	qs_log "bisect: building with patches 1-$n ($QS_ARCH)"
	if make -s -C "$obj" ARCH="$QS_ARCH" CROSS_COMPILE="$QS_CROSS_COMPILE" \
		CC="ccache ${QS_CROSS_COMPILE}gcc" -j"$(nproc)" "$(basename "$QS_IMAGE")" \
		> "$bisect/build-$n.log" 2>&1; then
		t_pass "builds with patches 1-$n ($p)"
	else
		t_fail "builds with patches 1-$n ($p)" "$(grep -m2 -E 'error' "$bisect/build-$n.log" | tr '\n' ' ')"
	fi
done
t_finish
