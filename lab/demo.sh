#!/usr/bin/env bash
# The demo: boot the lab kernel, run both scenarios (collapse, hugetlb
# unsharing) and show what each isolated CPU pays (tables,
# build/report/demo.json, build/report/demo.png, demo-hugetlb-unshare.png;
# with QS_ARCH=arm64: arm64-demo.*, from the arm64 kernel, lab/env.sh).
# Exits non-zero if the guest run failed, after printing what it measured.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

main() {
	local rc=0 run=$QS_BUILD/runs/$QS_ARCH-collapse name=demo
	[ "$QS_ARCH" = x86_64 ] || name=$QS_ARCH-demo
	"$QS_ROOT/lab/vm.sh" collapse > "$QS_BUILD/$name-verdict.txt" || rc=$?
	if [ "$rc" -ne 0 ]; then
		grep '^not ok' "$QS_BUILD/$name-verdict.txt" >&2 || true
	fi
	echo
	echo "Page-table sync IPIs on the isolated CPUs, $QS_COLLAPSES operations per policy:"
	"$QS_ROOT/lab/report.sh" "$run" "$name"
	echo "idle: isolated, nothing to run; other-process: another process spinning"
	echo "in user space; same-mm: a thread of the process doing the operations,"
	echo "spinning in user space. Under TCG absolute times are inflated; the counts"
	echo "are exact."
	return "$rc"
}

QS_COLLAPSES=${QS_COLLAPSES:-1000}
export QS_COLLAPSES
# arm64's kernel is the KASAN one: about 5 collapses a second under TCG,
# so 4 x 1,000 of them need more than vm.sh's default 600 s.
if [ "$QS_ARCH" = arm64 ]; then
	export QS_TIMEOUT=${QS_TIMEOUT:-2400}
fi
main "$@"
