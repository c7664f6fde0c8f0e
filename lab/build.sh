#!/usr/bin/env bash
# Build the configured kernel out of tree through ccache, printing progress
# every 20 seconds instead of minutes of silence. The full log is kept in
# build/obj-ARCH/build.log.
#
# A build whose inputs are those of a build made before is not made again:
# the object directory of every finished build is kept in
# $QS_CACHE/kbuild/KEY (the newest QS_KBUILD_KEEP, default 8), KEY the
# sha256 of what decides the output, paths left out: the source tarball's
# name, size and time, each patch of the series and of the lab's queue in
# order, the final .config, the versions of the compilers, binutils,
# pahole and the libraries objtool and the signing tools build with, the
# make variables of the environment, this script and lab/source.sh. Such a
# directory is copied in, the paths of the clone that built it rewritten
# to this clone's, every file's time set to now, and make is not run; a
# make run in it later (sparse, tests/patches.sh) finds every object up to
# date. Reused only from a tree that lab/source.sh made from the tarball
# and patches named now, with no file changed since (by mtime: an edit by
# hand); such a tree is built and never kept, as is one outside $QS_BUILD.
# build.log is then the log of the build that made the objects.
#
#   lab/build.sh          build, or reuse
#   lab/build.sh --plan   say which, and why, and do nothing
set -euo pipefail
shopt -s inherit_errexit
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

KBUILD_CACHE=$QS_CACHE/kbuild
KBUILD_KEEP=${QS_KBUILD_KEEP:-8}

show_progress_until_done() {
	local pid=$1 log=$2 start=$SECONDS
	while kill -0 "$pid" 2> /dev/null; do
		sleep 20
		kill -0 "$pid" 2> /dev/null || break
		qs_log "build: $((SECONDS - start)) s, $(grep -c '^  CC ' "$log" || true) files compiled, last: $(tail -n 1 "$log" | cut -c1-80)"
	done
}

# tool_versions: the first line each build tool prints of its version, and
# the Debian versions of the libraries host tools link against.
tool_versions() {
	local tool
	for tool in gcc ld as "${QS_CROSS_COMPILE}gcc" "${QS_CROSS_COMPILE}ld" "${QS_CROSS_COMPILE}as" pahole; do
		if command -v "$tool" > /dev/null; then
			printf '%s: %s\n' "$tool" "$("$tool" --version < /dev/null 2>&1 | head -n 1)"
		else
			echo "$tool: none"
		fi
	done
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	dpkg-query -W -f '${Package}=${Version}\n' libelf-dev libssl-dev zlib1g-dev 2> /dev/null || true
}

# build_key: the sha256 of the build's inputs (above), no path in it.
build_key() {
	local dir p
	{
		echo "quietsync kbuild 2 arch=$QS_ARCH cross=$QS_CROSS_COMPILE image=$QS_IMAGE user=quietsync host=lab"
		stat -c 'tarball %s %Y' "$QS_SOURCE_TARBALL"
		basename "$QS_SOURCE_TARBALL"
		for dir in "$QS_PATCHES" ${QS_LAB_PATCHES:+"$QS_LAB_PATCHES"}; do
			echo queue
			for p in $(qs_series_patches "$dir"); do
				printf '%s ' "$p"
				sha256sum < "$dir/$p"
			done
		done
		sha256sum < "$QS_OBJ/.config"
		sha256sum < "$QS_ROOT/lab/build.sh"
		sha256sum < "$QS_ROOT/lab/source.sh"
		tool_versions
		env | grep -E '^(KCFLAGS|KAFLAGS|KCPPFLAGS|KBUILD_[A-Z_]+|KCONFIG_[A-Z_]+|MAKEFLAGS|LLVM|LLVM_IAS|CC|HOSTCC|HOSTCXX|HOSTCFLAGS|HOSTLDFLAGS|LDFLAGS|CFLAGS_KERNEL|AFLAGS_KERNEL|ARCH|SUBARCH|LOCALVERSION)=' | sort || true
	} | sha256sum | cut -d' ' -f1
}

# why_not_reusable: why this build may not be reused or kept; nothing when
# it may.
why_not_reusable() {
	local changed stamp
	case $QS_BUILD in /*) ;; *) echo "QS_BUILD=$QS_BUILD is not an absolute path" && return ;; esac
	case $QS_SRC/ in "$QS_BUILD"/*) ;; *) echo "the source tree $QS_SRC is outside $QS_BUILD" && return ;; esac
	case $QS_OBJ/ in "$QS_BUILD"/*) ;; *) echo "the object directory $QS_OBJ is outside $QS_BUILD" && return ;; esac
	[ -f "$QS_SRC/.quietsync-stamp" ] || { echo "$QS_SRC was not made by lab/source.sh (no stamp)" && return; }
	stamp=$("$QS_ROOT/lab/source.sh" --stamp)
	if [ "$stamp" != "$(cat "$QS_SRC/.quietsync-stamp")" ]; then
		echo "$QS_SRC is not the tree of the tarball and patches named now: run lab/source.sh"
		return
	fi
	changed=$(find "$QS_SRC" -newer "$QS_SRC/.quietsync-stamp" ! -type d -print -quit)
	[ -z "$changed" ] || echo "the tree changed after its patches: ${changed#"$QS_SRC"/}"
}

# The build and object directories' physical paths (kbuild writes those),
# set by main.
PHYS_BUILD=
PHYS_OBJ=

# kbuild_stamp KEY: what an object directory of that build in this clone
# holds in .quietsync-kbuild: the key, then PHYS_BUILD and PHYS_OBJ, a
# line each.
kbuild_stamp() {
	printf '%s\n%s\n%s\n' "$1" "$PHYS_BUILD" "$PHYS_OBJ"
}

# The plan: "up to date KEY" (this object directory is that build),
# "reuse KEY" (the cache has it), "build KEY" (it will keep it), or
# "build: not reusable (WHY)".
plan() {
	local why key
	why=$(why_not_reusable)
	if [ -n "$why" ]; then
		echo "build: not reusable ($why)"
		return
	fi
	key=$(build_key)
	if [ -f "$QS_OBJ/$QS_IMAGE" ] && [ "$(cat "$QS_OBJ/.quietsync-kbuild" 2> /dev/null)" = "$(kbuild_stamp "$key")" ]; then
		echo "up to date $key"
	elif [ -f "$KBUILD_CACHE/$key/.quietsync-kbuild" ]; then
		echo "reuse $key"
	else
		echo "build $key"
	fi
}

# rewrite_paths DIR FROM_OBJ FROM_BUILD: in DIR's text files, FROM_OBJ/
# made this object directory's path and FROM_BUILD/ this build
# directory's, through placeholders (no path holds a control character),
# so that a new path that holds an old one is not rewritten twice.
rewrite_paths() {
	local dir=$1 from_obj=$2 from_build=$3
	[ "$from_obj:$from_build" != "$PHYS_OBJ:$PHYS_BUILD" ] || return 0
	{ grep -rlIZF -e "$from_obj/" -e "$from_build/" "$dir" || [ $? -eq 1 ]; } |
		xargs -0 -r sed -i \
			-e "s|$(sed_re "$from_obj/")|\x01O/|g" -e "s|$(sed_re "$from_build/")|\x01B/|g" \
			-e "s|\x01O/|$(sed_repl "$PHYS_OBJ/")|g" -e "s|\x01B/|$(sed_repl "$PHYS_BUILD/")|g"
}

sed_re() {
	printf '%s' "$1" | sed 's/[][\\.*^$|]/\\&/g'
}

sed_repl() {
	printf '%s' "$1" | sed 's/[\\&|]/\\&/g'
}

# reuse KEY: the cached object directory in place of this one, its paths
# rewritten (rewrite_paths: command lines, dependency lists, the Makefile
# that includes the source tree's), the source link made anew, every
# file's time now so that make finds each object newer than its sources.
# Fails, leaving this object directory as it was, if the entry is gone
# (evicted since the plan), a step fails, or a path of the clone that
# built it is left. Called as a condition (set -e does not apply inside):
# every step is checked.
reuse() {
	local key=$1 from_build from_obj tmp=$QS_OBJ.reuse.$$ old=$QS_OBJ.old.$$ left now
	rm -rf "$tmp" || return 1
	if ! (
		qs_lock kbuild "$QS_CACHE/locks" &&
			[ -f "$KBUILD_CACHE/$key/.quietsync-kbuild" ] &&
			cp -a "$KBUILD_CACHE/$key" "$tmp" &&
			touch -c "$KBUILD_CACHE/$key"
	); then
		rm -rf "$tmp"
		return 1
	fi
	{ read -r _ && IFS= read -r from_build && IFS= read -r from_obj; } < "$tmp/.quietsync-kbuild" || from_build=
	rm -f "$tmp/.quietsync-kbuild"
	if [ -z "$from_build" ] || [ -z "$from_obj" ] ||
		! rewrite_paths "$tmp" "$from_obj" "$from_build" ||
		! ln -sfn "$(cd "$QS_SRC" && pwd -P)" "$tmp/source"; then
		rm -rf "$tmp"
		return 1
	fi
	if [ "$from_build" != "$PHYS_BUILD" ]; then
		left=$(grep -rlIF -e "$from_build/" "$tmp" | head -n 1)
		if [ -n "$left" ]; then
			qs_log "build: ${left#"$tmp"/} still names $from_build after the rewrite"
			rm -rf "$tmp"
			return 1
		fi
	fi
	# lab/config.sh's log of this run, not the first build's
	if [ -f "$QS_OBJ/merge_config.log" ]; then
		cp "$QS_OBJ/merge_config.log" "$tmp/" || { rm -rf "$tmp"; return 1; }
	fi
	now=$(date +%s)
	find "$tmp" -exec touch -h -d "@$now" {} + || { rm -rf "$tmp"; return 1; }
	if [ -e "$QS_OBJ" ] && ! mv -T "$QS_OBJ" "$old"; then
		rm -rf "$tmp"
		return 1
	fi
	if ! mv -T "$tmp" "$QS_OBJ"; then
		[ ! -e "$old" ] || mv -T "$old" "$QS_OBJ"
		rm -rf "$tmp"
		return 1
	fi
	kbuild_stamp "$key" > "$QS_OBJ/.quietsync-kbuild" || return 1
	rm -rf "$old"
}

# keep_locked KEY: keep's work, under the cache's lock; every step checked
# (run as a condition: set -e does not apply).
keep_locked() {
	local key=$1 old
	mkdir -p "$KBUILD_CACHE" || return 1
	rm -rf "$KBUILD_CACHE"/*.tmp || return 1
	if [ ! -d "$KBUILD_CACHE/$key" ]; then
		rm -rf "${KBUILD_CACHE:?}/$key" || return 1
		cp -a "$QS_OBJ" "$KBUILD_CACHE/$key.tmp" || return 1
		mv -T "$KBUILD_CACHE/$key.tmp" "$KBUILD_CACHE/$key" || return 1
	fi
	touch -c "$KBUILD_CACHE/$key" || return 1
	# shellcheck disable=SC2012 # names are sha256 digests
	ls -1t "$KBUILD_CACHE" | tail -n +"$((KBUILD_KEEP + 1))" | while read -r old; do
		rm -rf "${KBUILD_CACHE:?}/$old"
	done
}

# keep KEY: this object directory into the cache, the oldest beyond
# KBUILD_KEEP removed. A failure (a full disk) is said and does not fail
# the build.
keep() {
	local key=$1
	kbuild_stamp "$key" > "$QS_OBJ/.quietsync-kbuild"
	if ! (qs_lock kbuild "$QS_CACHE/locks" && keep_locked "$key"); then
		rm -rf "$KBUILD_CACHE/$key.tmp"
		qs_log "build: could not keep the build in $KBUILD_CACHE (the next build of these inputs is made again)"
		return 0
	fi
	qs_log "build: kept in $KBUILD_CACHE/${key:0:12}… for the next build of the same inputs"
}

make_kernel() {
	local image=$QS_IMAGE log pid rc=0 cc
	log=$QS_OBJ/build.log
	command -v ccache > /dev/null || qs_die "ccache is missing: apt-get install ccache"
	mkdir -p "$CCACHE_DIR"
	cc="ccache ${QS_CROSS_COMPILE}gcc"
	ccache -z > /dev/null
	rm -f "$QS_OBJ/.quietsync-kbuild"
	qs_log "build: $QS_ARCH $(basename "$image") with -j$(nproc), ccache in $CCACHE_DIR"
	make -C "$QS_OBJ" ARCH="$QS_ARCH" CROSS_COMPILE="$QS_CROSS_COMPILE" CC="$cc" \
		KBUILD_BUILD_USER=quietsync KBUILD_BUILD_HOST=lab \
		-j"$(nproc)" "$(basename "$image")" > "$log" 2>&1 &
	pid=$!
	show_progress_until_done "$pid" "$log"
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		grep -E 'error|Error' "$log" | head -n 20 >&2 || true
		tail -n 20 "$log" >&2
		qs_die "kernel build failed (exit $rc); full log: $log"
	fi
	qs_log "build: done, $QS_OBJ/$image (ccache $(ccache -s | grep -m1 'Hits:' | tr -s ' ' | sed 's/^ //'))"
}

main() {
	local what key
	[ -f "$QS_OBJ/.config" ] || qs_die "no $QS_OBJ/.config: run lab/config.sh first"
	PHYS_BUILD=$(cd "$QS_BUILD" && pwd -P)
	PHYS_OBJ=$(cd "$QS_OBJ" && pwd -P)
	what=$(plan)
	if [ "${1:-}" = --plan ]; then
		echo "$what"
		return
	fi
	[ $# -eq 0 ] || qs_die "usage: lab/build.sh [--plan]"
	key=${what##* }
	case $what in
	"up to date "*)
		qs_log "build: $QS_OBJ/$QS_IMAGE is the build of these inputs (key ${key:0:12}…): nothing to do"
		;;
	"reuse "*)
		if reuse "$key"; then
			qs_log "build: reused $KBUILD_CACHE/${key:0:12}…, the build of the same inputs (tarball, patches, .config, tools): $QS_OBJ/$QS_IMAGE"
		else
			qs_log "build: $KBUILD_CACHE/${key:0:12}… could not be reused: building"
			make_kernel
			keep "$key"
		fi
		;;
	"build "[0-9a-f]*)
		make_kernel
		keep "$key"
		;;
	*)
		qs_log "$what: building, nothing kept"
		make_kernel
		;;
	esac
}

main "$@"
