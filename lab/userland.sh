#!/usr/bin/env bash
# A Debian userland of another release than the host's, for the tools that
# need it: Debian 13's kbuild tools (linux-kbuild-*+deb13) need glibc 2.38,
# and the lab runs on Debian 12 (2.36), so modules for trixie and trixie-
# backports kernels are built inside a trixie userland. Made with
# mmdebstrap from Debian's archive into $QS_CACHE/userland/NAME, outside the
# clone like ccache, and made again only when its package list changes.
#
# Usage: lab/userland.sh NAME
#          make sure the userland exists; print its directory
#        lab/userland.sh NAME [SRC:DST...] -- COMMAND [ARG...]
#          run COMMAND inside it (chroot, as root), each host folder SRC
#          bind-mounted at DST in a private mount namespace that ends with
#          the command: nothing is mounted on the host afterwards
# NAME: trixie (module builds for Debian 13 kernels), trixie-deb (make deb
# as a Debian 13 user runs it), sid (herd7).
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

QS_MIRROR=${QS_MIRROR:-http://deb.debian.org}

# The packages of each userland: what building a module against Debian's
# headers of that release needs (the compiler the kernel was built with,
# and the libraries of the linux-kbuild tools).
userland_packages() {
	case $1 in
	trixie) echo "make gcc-14 libc6-dev libelf1t64 libssl3t64 zlib1g pahole" ;;
	# What a user who builds the packages on Debian 13 has: git for the
	# clone, make, the compiler and the packaging tools (tests/deb-userland.sh).
	trixie-deb) echo "git make build-essential debhelper dh-dkms lintian" ;;
	# herd7, which runs the kernel memory model's litmus tests, is packaged
	# only in sid (it needs glibc 2.42).
	sid) echo "herdtools7" ;;
	*) qs_die "unknown userland '$1': trixie, trixie-deb, sid" ;;
	esac
}

userland_stamp() {
	echo "$1 $(userland_packages "$1") $QS_MIRROR"
}

ensure_userland() {
	local name=$1 dir=$QS_CACHE/userland/$1 tmp pkgs
	local aptopts=(--aptopt='Acquire::Languages "none"')
	pkgs=$(userland_packages "$name")
	# sid's Release file is valid for a week and re-signed daily; a mirror
	# that lags (the one these machines reach served one expired for 24 days
	# on 2026-11-30) would fail the whole userland. The signature is still
	# checked: only the date is not, and only for sid, which herd7 alone
	# comes from.
	[ "$name" != sid ] || aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')
	# Made once, whoever asks first (a command substitution: the lock ends
	# with it).
	qs_lock "userland-$name" "$QS_CACHE/locks"
	if [ -f "$dir/.quietsync-stamp" ] &&
		[ "$(cat "$dir/.quietsync-stamp")" = "$(userland_stamp "$name")" ]; then
		echo "$dir"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || qs_die "making the $name userland needs root (mmdebstrap --mode=root)"
	command -v mmdebstrap > /dev/null || qs_die "mmdebstrap is missing: apt-get install mmdebstrap"
	tmp=$dir.tmp
	rm -rf "$tmp"
	mkdir -p "$(dirname "$dir")"
	qs_log "userland: making a Debian $name userland with mmdebstrap ($pkgs; about 40 s)"
	if ! mmdebstrap --mode=root --variant=apt --include="${pkgs// /,}" \
		"${aptopts[@]}" \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"${name%-deb}" "$tmp" "$QS_MIRROR/debian" > "$QS_BUILD/userland-$name.log" 2>&1; then
		tail -n 20 "$QS_BUILD/userland-$name.log" >&2
		rm -rf "$tmp"
		qs_die "mmdebstrap of $name failed (log: $QS_BUILD/userland-$name.log)"
	fi
	userland_stamp "$name" > "$tmp/.quietsync-stamp"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	qs_log "userland: $dir ($(du -sh "$dir" | cut -f1))"
	echo "$dir"
}

# Inside the private mount namespace: bind the folders, chroot, run.
run_inside() {
	local dir=$1 bind src dst
	shift
	while [ "$1" != -- ]; do
		bind=$1
		src=${bind%%:*}
		dst=$dir/${bind#*:}
		shift
		mkdir -p "$dst"
		mount --bind "$src" "$dst"
	done
	shift
	mount -t proc proc "$dir/proc"
	exec chroot "$dir" "$@"
}

main() {
	local name=${1:-} dir
	[ -n "$name" ] || qs_die "usage: lab/userland.sh NAME [SRC:DST...] [-- COMMAND...]"
	shift
	if [ "$name" = --inside ]; then
		run_inside "$@"
	fi
	mkdir -p "$QS_BUILD"
	dir=$(ensure_userland "$name")
	if [ $# -eq 0 ]; then
		echo "$dir"
		return 0
	fi
	case " $* " in
	*" -- "*) ;;
	*) qs_die "usage: lab/userland.sh NAME [SRC:DST...] -- COMMAND..." ;;
	esac
	[ "$(id -u)" -eq 0 ] || qs_die "running in the $name userland needs root (chroot, bind mounts)"
	exec unshare --mount --propagation private "$0" --inside "$dir" "$@"
}

main "$@"
