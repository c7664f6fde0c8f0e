#!/usr/bin/env bash
# Make sure the Debian packages in lab/packages.txt are installed (at the
# pinned version where one is given). As root, install what is missing with
# apt-get (after one apt-get update); otherwise print the apt-get line and
# exit 2.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

wanted_packages() {
	grep -Ev '^[[:space:]]*(#|$)' "$QS_PACKAGES"
}

# Print the packages (name or name=version) that are not installed as asked.
missing_packages() {
	local spec name version have
	for spec in $(wanted_packages); do
		name=${spec%%=*}
		version=${spec#"$name"}
		version=${version#=}
		have=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$name" 2> /dev/null || true)
		if [ -n "$version" ]; then
			[ "$have" = "installed $version" ] && continue
		else
			[ "${have%% *}" = installed ] && continue
		fi
		printf '%s\n' "$spec"
	done
}

main() {
	local missing
	[ -r "$QS_PACKAGES" ] || qs_die "no package list $QS_PACKAGES"
	missing=$(missing_packages | tr '\n' ' ')
	missing=${missing% }
	if [ -z "$missing" ]; then
		qs_log "deps: all $(wanted_packages | wc -l) packages installed"
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		printf 'error: missing Debian packages; as root run:\n  apt-get update && apt-get install %s\n' "$missing" >&2
		exit 2
	fi
	qs_log "deps: installing $missing"
	apt-get update -q > /dev/null ||
		qs_die "apt-get update failed: check the machine's Debian sources"
	# shellcheck disable=SC2086
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing > "$QS_BUILD/apt-get.log" 2>&1; then
		tail -n 20 "$QS_BUILD/apt-get.log" >&2
		qs_die "apt-get install $missing failed (log: $QS_BUILD/apt-get.log)"
	fi
	qs_log "deps: installed"
}

mkdir -p "$QS_BUILD"
main "$@"
