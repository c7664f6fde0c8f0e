#!/usr/bin/env bash
# make deb as a Debian 13 user runs it: a clone of this repository built
# inside a Debian 13 userland that has nothing but git, make, the compiler
# and the packaging tools (debhelper, dh-dkms, lintian; lab/userland.sh
# trixie-deb, made once with mmdebstrap and cached). make deb must make the
# three packages, lintian clean, install nothing (the userland's package
# list the same before and after), and print the install line.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lab/env.sh
. lab/env.sh
# shellcheck source=tests/lib.sh
. tests/lib.sh

OUT=$QS_BUILD/deb-userland

packages_in() {
	# shellcheck disable=SC2016 # dpkg-query's format
	chroot "$1" dpkg-query -W -f '${Package}=${Version}\n' | sort
}

main() {
	local dir version
	if [ "$(id -u)" -ne 0 ]; then
		t_skip "make deb in a Debian 13 userland" "it needs root (mmdebstrap, chroot)"
		t_finish
	fi
	version=$(dpkg-parsechangelog -l debian/changelog -S Version)
	t_step "a Debian 13 userland with git, make, build-essential, debhelper, dh-dkms, lintian" \
		lab/userland.sh trixie-deb
	dir=$(lab/userland.sh trixie-deb)
	rm -rf "$OUT"
	mkdir -p "$OUT"
	git clone -q "$QS_ROOT" "$OUT/clone"
	packages_in "$dir" > "$OUT/before.txt"
	t_step "make deb in a clone, inside it" \
		lab/userland.sh trixie-deb "$OUT:/work" -- sh -c 'cd /work/clone && make deb > /work/deb.log 2>&1 || { tail -n 30 /work/deb.log; exit 1; }'
	packages_in "$dir" > "$OUT/after.txt"
	t_expect "make deb installed nothing in the userland" 0 '' diff "$OUT/before.txt" "$OUT/after.txt"
	t_expect "the three packages, $version" 0 "^quietsync-check_${version}_amd64\\.deb quietsync-dkms_${version}_all\\.deb quietsync_${version}_amd64\\.deb\$" \
		bash -c "cd '$OUT/clone/build/deb' && ls *.deb | sort | paste -sd' '"
	t_expect "lintian clean" 0 'deb: lintian clean: ' cat "$OUT/deb.log"
	t_expect "it says what to install on a machine it does not cover: the checker alone" 0 \
		"deb:   apt install .*/quietsync-check_${version}_amd64\\.deb\$" cat "$OUT/deb.log"
	t_expect "quietsync-check built on Debian 13 depends on the C library alone" 0 '^libc6 \(>= [0-9.]+\)$' \
		dpkg-deb -f "$OUT/clone/build/deb/quietsync-check_${version}_amd64.deb" Depends
	rm -rf "$OUT/clone"
	t_finish
}

main "$@"
