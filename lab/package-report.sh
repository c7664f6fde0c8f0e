#!/usr/bin/env bash
# build/report/package.json from the package suite's boots of the Debian 13
# image (tests/package.sh): the image (the kernel releases before and after
# its apt upgrade, the packages, what DKMS built, what the kernel hook
# said), then per kernel booted what the unit did at boot and how long it
# took, quietsync-check's verdicts and exit statuses (protected, --status,
# with quietsync=off, after removal and purge; for the kernel without
# headers, before and after the remedy) and the boot's time to its first
# check.
#
#   {"images": [{"image": "trixie", "previous": "6.12.117+deb13", ...,
#                "boots": [{"kernel": "6.12.118+deb13-amd64",
#                           "unit_active": true, "unit_s": 0.4,
#                           "load": "collapse",
#                           "verdict": "fix active and verified", "exit": 0,
#                           "status_exit": 1, "optout_verdict": "exposed",
#                           ...},
#                          {"kernel": "6.12.118+deb13-rt-amd64",
#                           "nomodule_verdict": "exposed", ...,
#                           "runtime": {...}, ...}]}, ...]}
#
# Usage: lab/package-report.sh IMAGE_DIR...  (each with image.json and
#   upgrade.log, lab/image.sh's; runs named package-IMAGE-FLAVOUR-MODE)
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

# The JSON quietsync-check printed in RUN's boot under KEY ({} if none).
check_json() {
	local ktap=$QS_BUILD/runs/x86_64-$1/ktap.log
	tr -d '\r' < "$ktap" 2> /dev/null | sed -n "s/^.*# qs-json $2 //p" | tail -n 1 | grep . || echo '{}'
}

# Whether RUN's KTAP has "ok N TEST". (grep reads it all: with -q, its
# early exit could fail tr with SIGPIPE and, under pipefail, the test.)
passed() {
	if tr -d '\r' < "$QS_BUILD/runs/x86_64-$1/ktap.log" 2> /dev/null |
		grep -E "^ok [0-9]+ $2\$" > /dev/null; then
		echo true
	else
		echo false
	fi
}

# The unit's run time in seconds, from its start and exit timestamps (µs).
unit_seconds() {
	tr -d '\r' < "$QS_BUILD/runs/x86_64-$1/ktap.log" 2> /dev/null |
		awk '/# qs-value unit_s / && $(NF) > 0 { printf "%.2f", ($(NF) - $(NF - 1)) / 1e6; found = 1 }
			END { if (!found) printf "null" }'
}

boot_seconds() {
	cat "$QS_BUILD/runs/x86_64-$1/boot_to_first_test_seconds" 2> /dev/null || echo null
}

# The run-time load and removal beside spinning tasks in RUN: {NAME:
# {seconds, irqs: [cpu1, cpu2, cpu3], baseline_3s: [...]}} from the
# guest's "# qs-value rt NAME SECONDS I1 I2 I3 B1 B2 B3" lines.
runtime_json() {
	tr -d '\r' < "$QS_BUILD/runs/x86_64-$1/ktap.log" 2> /dev/null |
		sed -n 's/^.*# qs-value rt //p' |
		jq -R -s 'split("\n") | map(select(. != "") | split(" ") | map(select(. != ""))) |
			map({(.[0]): {seconds: (.[1] | tonumber), irqs: (.[2:5] | map(tonumber)),
				baseline_3s: (.[5:8] | map(tonumber))}}) | add // {}'
}

# value RUN KEY FIELD: FIELD of the JSON RUN's check printed under KEY.
value() {
	check_json "$1" "$2" | jq -c ".$3 // null"
}

# protected_entry IMAGE KERNEL FLAVOUR: a kernel booted protected (and
# opted out).
protected_entry() {
	local kernel=$2 p=package-$1-$3-protected o=package-$1-$3-optout
	jq -n --arg kernel "$kernel" \
		--argjson check "$(check_json "$p" protected)" \
		--argjson unit_active "$(passed "$p" unit_active)" \
		--argjson unit_s "$(unit_seconds "$p")" \
		--argjson restart "$(passed "$p" restart_keeps_livepatch)" \
		--argjson status_exit "$(value "$p" status exit)" \
		--argjson status_code "$(value "$p" status reason_code)" \
		--argjson removed "$(check_json "$p" removed)" \
		--argjson removed_status_exit "$(value "$p" removed_status exit)" \
		--argjson purged_exit "$(value "$p" purged exit)" \
		--argjson purge_clean "$(passed "$p" purge_left_nothing)" \
		--argjson optout "$(check_json "$o" optout)" \
		--argjson roles "$(passed "$o" roles_isolcpus_only_hit_nohz_full_spared)" \
		--argjson roles_flushed "$(passed "$o" roles_flushed_spares_isolcpus_only)" \
		--argjson boot_s "$(boot_seconds "$p")" \
		'{kernel: $kernel, unit_active: $unit_active, unit_s: $unit_s,
		  load: $check.load, verdict: $check.verdict, exit: $check.exit,
		  status_exit: $status_exit, status_reason_code: $status_code,
		  restart_keeps_livepatch: $restart,
		  removed_verdict: $removed.verdict, removed_exit: $removed.exit,
		  removed_status_exit: $removed_status_exit,
		  purged_status_exit: $purged_exit, purge_left_nothing: $purge_clean,
		  optout_verdict: $optout.verdict, optout_exit: $optout.exit,
		  roles_isolcpus_only_hit_nohz_full_spared: $roles,
		  roles_flushed_spares_isolcpus_only: $roles_flushed,
		  boot_s: $boot_s}'
}

# nomodule_entry IMAGE KERNEL: the kernel apt upgrade brought without
# headers (and, on Debian 13, the run-time cases after the remedy).
nomodule_entry() {
	local kernel=$2 r=package-$1-rt-amd64-nomodule
	jq -n --arg kernel "$kernel" \
		--argjson runtime "$(runtime_json "$r")" \
		--argjson rt_ok "$(for t in off_beside_sched_other on_beside_sched_other off_beside_sched_fifo_bounded on_beside_sched_fifo_bounded; do passed "$r" "runtime_$t"; done | jq -s 'all')" \
		--argjson unit_error "$(passed "$r" unit_failed_with_error)" \
		--argjson status_exit "$(value "$r" status exit)" \
		--argjson status_code "$(value "$r" status reason_code)" \
		--argjson nomodule "$(check_json "$r" nomodule)" \
		--argjson apt "$(passed "$r" apt_install_missing_headers)" \
		--argjson after "$(check_json "$r" remedied)" \
		--argjson boot_s "$(boot_seconds "$r")" \
		'{kernel: $kernel, unit_failed_at_error_priority: $unit_error,
		  status_exit: $status_exit, status_reason_code: $status_code,
		  nomodule_verdict: $nomodule.verdict, nomodule_exit: $nomodule.exit,
		  headers_installed_with_apt: $apt,
		  remedied_verdict: $after.verdict, remedied_exit: $after.exit,
		  load: $after.load, runtime: $runtime, runtime_bounded: $rt_ok,
		  boot_s: $boot_s}'
}

# image_entry DIR: one image and its boots.
image_entry() {
	local dir=$1 name newest
	[ -f "$dir/image.json" ] || qs_die "no $dir/image.json (lab/image.sh disk makes it)"
	name=$(jq -r .image "$dir/image.json")
	newest=$(jq -r .newest "$dir/image.json")
	{
		protected_entry "$name" "$newest-amd64" amd64
		nomodule_entry "$name" "$newest-rt-amd64"
	} | jq -s --argjson image "$(cat "$dir/image.json")" \
		--arg warnings "$(tr -d '\r' < "$dir/upgrade.log" 2> /dev/null | grep '^quietsync: ' | grep -v '^quietsync: building ' || true)" \
		'$image + {upgrade_warnings: ($warnings | split("\n") | map(select(. != ""))), boots: .}'
}

main() {
	local dir
	[ $# -gt 0 ] || qs_die "usage: lab/package-report.sh IMAGE_DIR..."
	mkdir -p "$QS_BUILD/report"
	for dir in "$@"; do
		image_entry "$dir"
	done | jq -s '{images: .}' > "$QS_BUILD/report/package.json"
	qs_log "package: $QS_BUILD/report/package.json"
}

main "$@"
