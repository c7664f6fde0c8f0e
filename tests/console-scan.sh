#!/usr/bin/env bash
# Golden tests for the splat scan: every tests/console/clean-*.log must be
# judged clean, every splat-*.log must be caught, and a missing or empty
# deny-list must be an error, never a clean verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

scan=lab/scan-console.sh
for log in tests/console/clean-*.log; do
	t_expect "clean log $(basename "$log")" 0 '' "$scan" "$log"
done
for log in tests/console/splat-*.log; do
	t_expect "splat caught in $(basename "$log")" 1 'kernel splat in' "$scan" "$log"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t_expect "missing deny-list is an error" 2 'deny-list .* is missing' \
	"$scan" tests/console/clean-x86_64-collapse.log "$tmp/none.txt"
printf '# only a comment\n\n' > "$tmp/empty.txt"
t_expect "empty deny-list is an error" 2 'has no patterns' \
	"$scan" tests/console/clean-x86_64-collapse.log "$tmp/empty.txt"
t_expect "missing console log is an error" 2 'console log .* is missing' \
	"$scan" "$tmp/no-such.log"
# A negative control's step may trip a known detector, and only its step
# (lab/control-splats.sh, as tests/safety.sh runs it).
control=lab/control-splats.sh
# shellcheck source=lab/env.sh
. lab/env.sh
allow="$QS_GUP_TEST_WARN_RE|$QS_GUP_FAST_KASAN_RE"	# as tests/safety.sh allows
t_expect "control step: its known detector is allowed" 0 'ok vm.control_splats_allowed # the control tripped' \
	"$control" tests/console/control-none-gup-warn.log 'race_stress -p none' "$allow"
t_expect "control step: the same splat in another step fails" 1 'not ok vm.no_kernel_splat # outside the control' \
	"$control" tests/console/control-none-gup-warn.log 'race_stress -p broadcast' "$allow"
# The same console with the control's WARN turned into another splat.
sed 's/WARNING: CPU: 3 PID: 182 at .*gup_test_ioctl.*/general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT SMP KASAN/' \
	tests/console/control-none-gup-warn.log > "$tmp/control-none-other-splat.log"
t_expect "control step: another splat in the control fails" 1 'not ok vm.control_splats_allowed # not a known symptom' \
	"$control" "$tmp/control-none-other-splat.log" 'race_stress -p none' "$allow"
t_expect "control step: no such step is an error" 2 'no step' \
	"$control" tests/console/control-none-gup-warn.log 'race_stress -p nothing' "$allow"
t_expect "control step: a clean log passes" 0 'the control tripped nothing' \
	"$control" tests/console/clean-x86_64-collapse.log 'collapse' "$allow"
t_finish
