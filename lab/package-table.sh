#!/usr/bin/env bash
# The README's table of the package test (section "Tested by make check"),
# generated from build/report/package.json (lab/package-report.sh): one row
# per kernel booted, outcomes only (verdicts and exit statuses, no times),
# so that the same results give the same table.
#
# Usage: lab/package-table.sh [PACKAGE_JSON]
#          print the table
#        lab/package-table.sh --check README [PACKAGE_JSON]
#          exit 1 if README's table (between its package-table markers) is
#          not the one PACKAGE_JSON gives; 0 if it is
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

BEGIN='<!-- package-table: lab/package-table.sh makes it from build/report/package.json -->'
END='<!-- end of package-table -->'

table() {
	local json=$1
	[ -f "$json" ] || qs_die "no $json: make check-package writes it"
	echo "$BEGIN"
	jq -r '
	def v(verdict; exit): if verdict == null then "—" else "\(verdict), exit \(exit)" end;
	def yes(b): if b then "yes" else "NO" end;
	.images[] |
	"Debian \(if .image == "trixie" then "13" else "12" end) (\(.image)): quietsync " +
	"\(.packages | map(sub("^quietsync[^=]*="; "")) | unique | join(", ")) installed with apt" +
	(if (.upgraded_from // "") != "" then " over \(.upgraded_from)" else "" end) +
	", then `apt upgrade` from \(.previous) to \(.newest); the kernel hook said: " +
	(if (.upgrade_warnings | length) == 0 then "nothing" else "`\(.upgrade_warnings | map(sub("^quietsync: "; "")) | join(" "))`" end),
	"",
	"| kernel booted | at boot | `quietsync-check --load` | `--status` | with `quietsync=off` | after `apt remove` | after `apt purge` |",
	"|---|---|---|---|---|---|---|",
	(.boots[] |
	 if has("nomodule_verdict") then
		"| `\(.kernel)` (came without headers) | unit failed, error logged: \(yes(.unit_failed_at_error_priority)) | \(v(.nomodule_verdict; .nomodule_exit)); after `apt install` of the headers it names and `systemctl restart quietsync`: \(v(.remedied_verdict; .remedied_exit)) (\(.load))\(if (.runtime | length) > 0 then "; then off and on beside busy tasks bounded: \(yes(.runtime_bounded))" else "" end) | \(.status_reason_code), exit \(.status_exit) | — | — | — |"
	 else
		"| `\(.kernel)` | livepatch loaded: \(yes(.unit_active)); restart and stop keep it: \(yes(.restart_keeps_livepatch)) | \(v(.verdict; .exit)) (\(.load)) | \(.status_reason_code), exit \(.status_exit) | \(v(.optout_verdict; .optout_exit)) | \(v(.removed_verdict; .removed_exit)); `--status` exit \(.removed_status_exit) | no file left: \(yes(.purge_left_nothing)); `--status` exit \(.purged_status_exit) |"
	 end),
	""' "$json" | sed '$d'
	echo "$END"
}

main() {
	local readme json
	if [ "${1:-}" = --check ]; then
		readme=${2:?usage: lab/package-table.sh --check README [PACKAGE_JSON]}
		json=${3:-$QS_BUILD/report/package.json}
		diff <(sed -n "\\|^$BEGIN\$|,\\|^$END\$|p" "$readme") <(table "$json")
	else
		table "${1:-$QS_BUILD/report/package.json}"
	fi
}

main "$@"
