#!/usr/bin/env bash
# Build the kernel's own mm selftests the lab runs, static, from the same
# tree (tools/testing/selftests/mm of build/linux-6.12.117) into
# build/selftests-ARCH/, with the selftests' own flags and the tree's UAPI
# headers (make headers). Prints "SOURCE:/selftests/mm/NAME" items for
# QS_INITRAMFS_EXTRA on stdout.
#
# Usage: lab/selftests.sh [NAME...]   (default: the safety subset)
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

# What docs/safety.md lists: GUP, THP collapse and split, hugetlb.
SUBSET=(gup_test khugepaged hugetlb-madvise hugepage-mremap map_hugetlb
	madv_populate mremap_test cow split_huge_page_test)

# The tree's exported UAPI headers (newer than the host's linux-libc-dev),
# "make headers" in an object directory of their own.
export_headers() {
	local obj=$QS_BUILD/khdr-$QS_ARCH
	if [ ! -f "$obj/usr/include/linux/mman.h" ] || [ "$QS_SRC/Makefile" -nt "$obj/usr/include/linux/mman.h" ]; then
		qs_log "selftests: exporting the tree's UAPI headers"
		make -s -C "$QS_SRC" ARCH="$QS_ARCH" O="$obj" headers > "$QS_BUILD/khdr-$QS_ARCH.log" 2>&1 ||
			qs_die "make headers failed: $QS_BUILD/khdr-$QS_ARCH.log"
	fi
}

# 6.12.117's khugepaged.c uses KSFT_SKIP without including kselftest.h.
extra_flags() {
	case $1 in
	khugepaged) echo "-D_GNU_SOURCE -include ../kselftest.h" ;;
	esac
}

main() {
	local tests=("$@") dir=$QS_SRC/tools/testing/selftests/mm out=$QS_BUILD/selftests-$QS_ARCH
	local hdr t cc=${QS_CROSS_COMPILE}gcc extra
	[ ${#tests[@]} -gt 0 ] || tests=("${SUBSET[@]}")
	# The bench and the selftests suite build here side by side.
	qs_lock "selftests-$QS_ARCH"
	[ -d "$dir" ] || qs_die "no $dir: run lab/source.sh first"
	export_headers
	hdr=$QS_BUILD/khdr-$QS_ARCH/usr/include
	mkdir -p "$out/include"
	# What the selftests' check_config.sh writes without liburing (cow).
	echo '/* no liburing: lab/selftests.sh */' > "$out/include/local_config.h"
	for t in "${tests[@]}"; do
		[ -f "$dir/$t.c" ] || qs_die "no selftest $dir/$t.c"
		if [ ! -x "$out/$t" ] || [ "$dir/$t.c" -nt "$out/$t" ]; then
			qs_log "selftests: building $t"
			read -ra extra <<< "$(extra_flags "$t")"
			(cd "$dir" && "$cc" -Wall -O2 -static -U_FORTIFY_SOURCE -I "$QS_SRC" \
				-I "$out/include" "${extra[@]}" \
				-isystem "$hdr" -isystem "$QS_SRC/tools/include/uapi" \
				-o "$out/$t" "$t.c" vm_util.c thp_settings.c -lrt -lpthread -lm) >&2 ||
				qs_die "selftest $t does not build (compiler output above)"
		fi
		printf '%s:/selftests/mm/%s ' "$out/$t" "$t"
	done
	echo
}

main "$@"
