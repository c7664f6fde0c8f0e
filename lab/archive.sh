# shellcheck shell=bash
# Sourced by the scripts that fetch from Debian's archive what the host's
# apt sources do not list (stock kernels of other suites, their headers):
# a private apt configuration under $QS_CACHE/apt that reaches bookworm,
# trixie and their security and backports suites, signed by the host's
# debian-archive-keyring. It never touches the host's sources, lists or
# dpkg database: packages are fetched with `apt-get download` and unpacked
# by the caller with dpkg.
#
# Environment: QS_MIRROR (http://deb.debian.org), QS_ARCHIVE_MAX_AGE (how
#   many seconds old the package lists may be before they are refreshed;
#   21600: the archive moves every few weeks, a CI run a day sees it move).

QS_MIRROR=${QS_MIRROR:-http://deb.debian.org}
QS_ARCHIVE_MAX_AGE=${QS_ARCHIVE_MAX_AGE:-21600}
QS_ARCHIVE_DIR=$QS_CACHE/apt
QS_ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
QS_ARCHIVE_SUITES="bookworm bookworm-updates bookworm-security trixie trixie-updates trixie-security trixie-backports"

# The options that point apt at the private configuration and nothing else.
archive_apt_options() {
	local d=$QS_ARCHIVE_DIR
	printf '%s\n' -o "Dir::Etc::sourcelist=$d/sources.list" \
		-o "Dir::Etc::sourceparts=$d/sources.list.d" \
		-o "Dir::Etc::preferences=$d/preferences" \
		-o "Dir::Etc::preferencesparts=$d/preferences.d" \
		-o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status" \
		-o "Dir::Cache=$d/cache" -o "APT::Architectures=amd64" \
		-o "Acquire::Languages=none" -o "Debug::NoLocking=true"
	# As root, apt drops to _apt to download into a folder it cannot write.
	[ "$(id -u)" -ne 0 ] || printf '%s\n' -o "APT::Sandbox::User=root"
}

archive_sources_list() {
	local suite base
	for suite in $QS_ARCHIVE_SUITES; do
		base=$QS_MIRROR/debian
		[ "${suite%-security}" = "$suite" ] || base=$QS_MIRROR/debian-security
		echo "deb [signed-by=$QS_ARCHIVE_KEYRING] $base $suite main"
	done
}

# archive_apt_get ARGS...: apt-get with the private configuration.
archive_apt_get() {
	local opts
	mapfile -t opts < <(archive_apt_options)
	apt-get "${opts[@]}" "$@"
}

archive_apt_cache() {
	local opts
	mapfile -t opts < <(archive_apt_options)
	apt-cache "${opts[@]}" "$@"
}

# Write the configuration and refresh the lists when they are missing, older
# than QS_ARCHIVE_MAX_AGE or made for another list of suites.
archive_ready() {
	local d=$QS_ARCHIVE_DIR stamp age
	# Until this process ends: one writer of the lists and of a stock
	# kernel's unpacking at a time (tests/run.sh runs suites side by side).
	qs_lock archive "$QS_CACHE/locks"
	[ -r "$QS_ARCHIVE_KEYRING" ] ||
		qs_die "no $QS_ARCHIVE_KEYRING: apt-get install debian-archive-keyring"
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" \
		"$d/sources.list.d" "$d/preferences.d" ||
		qs_die "cannot write $d: set QS_CACHE to a folder you own"
	[ -f "$d/status" ] || : > "$d/status"
	archive_sources_list > "$d/sources.list.new"
	stamp=$d/lists/.quietsync-updated
	if cmp -s "$d/sources.list.new" "$d/sources.list" && [ -f "$stamp" ]; then
		age=$(($(date +%s) - $(stat -c %Y "$stamp")))
		if [ "$age" -lt "$QS_ARCHIVE_MAX_AGE" ]; then
			rm -f "$d/sources.list.new"
			return 0
		fi
	fi
	mv "$d/sources.list.new" "$d/sources.list"
	qs_log "archive: refreshing the package lists of $QS_ARCHIVE_SUITES"
	if ! archive_apt_get -q update > "$d/update.log" 2>&1; then
		tail -n 20 "$d/update.log" >&2
		qs_die "apt-get update of the private archive lists failed (log: $d/update.log)"
	fi
	touch "$stamp"
}

# archive_version PACKAGE: the version the archive offers, or nothing.
archive_version() {
	archive_apt_cache policy "$1" 2> /dev/null |
		awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

# archive_depends PACKAGE: the names PACKAGE depends on (alternatives too).
archive_depends() {
	archive_apt_cache depends --no-recommends --no-suggests "$1" 2> /dev/null |
		awk '$1 ~ /Depends:$/ { print $2 }' | tr -d '<>' | sort -u
}

# archive_download DIR PACKAGE...: fetch PACKAGE at its candidate version
# into DIR (the .deb files are kept there as the cache).
archive_download() {
	local dir=$1
	shift
	mkdir -p "$dir"
	if ! (cd "$dir" && archive_apt_get -q download "$@") > "$dir/download.log" 2>&1; then
		tail -n 20 "$dir/download.log" >&2
		qs_die "apt-get download $* failed (log: $dir/download.log)"
	fi
}
