#!/usr/bin/env bash
# build/report/package.json from the package suite's boots of the Debian 13
# image (tests/package.sh): per kernel, what DKMS built, whether the unit
# loaded the livepatch at boot and how long it took, quietsync-check's
# verdict and exit status protected, with quietsync=off, and after the
# packages were removed, and the boot's time to its first check.
#
#   {"images": [{"image": "trixie", "kernel": "6.12.118+deb13-amd64",
#                "dkms_built": true, "unit_active": true, "unit_s": 0.4,
#                "load": "collapse", "verdict": "fix active and verified",
#                "exit": 0, "optout_verdict": "exposed", "optout_exit": 1,
#                "removed_verdict": "exposed", "boot_s": 41.2}, ...]}
#
# Usage: lab/package-report.sh IMAGE_JSON FLAVOUR...
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

image_entry() {
	local image_json=$1 flavour=$2 protected=package-$2-protected optout=package-$2-optout
	jq -n --argjson image "$(cat "$image_json")" --arg flavour "$flavour" \
		--argjson protected "$(check_json "$protected" protected)" \
		--argjson removed "$(check_json "$protected" removed)" \
		--argjson optout "$(check_json "$optout" optout)" \
		--argjson dkms_built "$(passed "$protected" dkms_built)" \
		--argjson unit_active "$(passed "$protected" unit_active)" \
		--argjson unit_s "$(unit_seconds "$protected")" \
		--argjson boot_s "$(boot_seconds "$protected")" \
		'{image: $image.image, kernel: ($image.release + "-" + $flavour),
		  dkms_built: $dkms_built, unit_active: $unit_active, unit_s: $unit_s,
		  load: $protected.load, verdict: $protected.verdict, exit: $protected.exit,
		  optout_verdict: $optout.verdict, optout_exit: $optout.exit,
		  removed_verdict: $removed.verdict, removed_exit: $removed.exit,
		  boot_s: $boot_s}'
}

main() {
	local image_json=${1:-} flavour entries=()
	if [ -z "$image_json" ] || [ $# -lt 2 ]; then
		qs_die "usage: lab/package-report.sh IMAGE_JSON FLAVOUR..."
	fi
	shift
	for flavour in "$@"; do
		entries+=("$(image_entry "$image_json" "$flavour")")
	done
	mkdir -p "$QS_BUILD/report"
	printf '%s\n' "${entries[@]}" | jq -s '{images: .}' > "$QS_BUILD/report/package.json"
	qs_log "package: $QS_BUILD/report/package.json"
}

main "$@"
