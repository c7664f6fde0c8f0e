#!/usr/bin/env bash
# Print what the lab must never change on the host, one fact a line: the
# installed Debian kernel image and headers packages, the files in /boot,
# and the host's apt sources (each file's checksum, each suite it names).
# tests/run.sh records it before make check; tests/host.sh compares.
set -euo pipefail

kernel_packages() {
	# dpkg-query fails when no package matches: none installed is a state.
	{ dpkg-query -W -f '${db:Status-Status} ${Package} ${Version}\n' \
		'linux-image-*' 'linux-headers-*' 2> /dev/null || true; } |
		awk '$1 == "installed" { print "package " $2 " " $3 }' | sort
}

boot_files() {
	[ -d /boot ] || return 0
	find /boot -xdev -printf 'boot %P %s %l\n' 2> /dev/null | sort
}

apt_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
		[ -f "$f" ] || continue
		echo "sources-file $f $(sha256sum < "$f" | cut -d' ' -f1)"
		# One-line ("deb URI SUITE ...") and deb822 ("Suites: A B") forms.
		awk '$1 == "deb" { s = ($2 ~ /^\[/) ? $4 : $3; print "source " FILENAME " " s }
			$1 == "Suites:" { for (i = 2; i <= NF; i++) print "source " FILENAME " " $i }' "$f"
	done
}

kernel_packages
boot_files
apt_sources
