#!/usr/bin/env bash
# The demo: boot the lab kernel, run the collapse scenario and show what each
# isolated CPU pays (table, build/report/demo.json, build/report/demo.png).
# Exits non-zero if the guest run failed, after printing what it measured.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

main() {
	local rc=0 run=$QS_BUILD/runs/$QS_ARCH-collapse
	"$QS_ROOT/lab/vm.sh" collapse > "$QS_BUILD/demo-verdict.txt" || rc=$?
	if [ "$rc" -ne 0 ]; then
		grep '^not ok' "$QS_BUILD/demo-verdict.txt" >&2 || true
	fi
	echo
	echo "Page-table sync IPIs on the isolated CPUs, $QS_COLLAPSES MADV_COLLAPSE on CPU0:"
	"$QS_ROOT/lab/report.sh" "$run" demo
	echo
	echo "idle: isolated, nothing to run; other-process: another process spinning"
	echo "in user space; same-mm: a thread of the collapsing process spinning in"
	echo "user space. Under TCG absolute times are inflated; the counts are exact."
	return "$rc"
}

QS_COLLAPSES=${QS_COLLAPSES:-1000}
export QS_COLLAPSES
main "$@"
