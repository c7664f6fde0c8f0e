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
# order, the final .config (which names the compiler, assembler and linker
# versions), the make variables and flags from the environment, this
# script and lab/source.sh. Such a directory is copied in, its paths
# rewritten for this clone, and make is not run; a make run in it later
# (sparse, tests/patches.sh) finds every object up to date. A tree changed
# after lab/source.sh patched it (a file newer than its stamp: an edit by
# hand) is never reused or kept; neither is one outside $QS_BUILD.
#
#   lab/build.sh          build, or reuse
#   lab/build.sh --plan   say which, and why, and do nothing
set -euo pipefail
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

# build_key: the sha256 of the build's inputs (above), no path in it.
build_key() {
	local dir p
	{
		echo "quietsync kbuild 1 arch=$QS_ARCH cross=$QS_CROSS_COMPILE image=$QS_IMAGE user=quietsync host=lab"
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
		env | grep -E '^(KCFLAGS|KAFLAGS|KCPPFLAGS|KBUILD_[A-Z_]+|LLVM|LLVM_IAS|HOSTCC|HOSTCFLAGS|HOSTLDFLAGS|LDFLAGS|CFLAGS_KERNEL|AFLAGS_KERNEL|ARCH|SUBARCH|INSTALL_[A-Z_]+|LOCALVERSION)=' | sort || true
	} | sha256sum | cut -d' ' -f1
}

# why_not_reusable: why this build may not be reused or kept; nothing when
# it may.
why_not_reusable() {
	local changed
	case $QS_SRC/ in "$QS_BUILD"/*) ;; *) echo "the source tree $QS_SRC is outside $QS_BUILD" && return ;; esac
	case $QS_OBJ/ in "$QS_BUILD"/*) ;; *) echo "the object directory $QS_OBJ is outside $QS_BUILD" && return ;; esac
	[ -f "$QS_SRC/.quietsync-stamp" ] || { echo "$QS_SRC was not made by lab/source.sh (no stamp)" && return; }
	changed=$(find "$QS_SRC" -newer "$QS_SRC/.quietsync-stamp" -type f -print -quit)
	[ -z "$changed" ] || echo "the tree changed after its patches: ${changed#"$QS_SRC"/}"
}

# kbuild_stamp KEY: what an object directory of that build in this clone
# holds in .quietsync-kbuild: the key, then the build and object
# directories' paths, a line each.
kbuild_stamp() {
	printf '%s\n%s\n%s\n' "$1" "$QS_BUILD" "$QS_OBJ"
}

# rewrite_paths DIR FROM TO: in DIR's text files, the path FROM/ made TO/.
rewrite_paths() {
	local dir=$1 from=$2 to=$3 from_re to_re
	[ "$from" != "$to" ] || return 0
	from_re=$(printf '%s/' "$from" | sed 's/[][\\.*^$|]/\\&/g')
	to_re=$(printf '%s/' "$to" | sed 's/[\\&|]/\\&/g')
	grep -rlIZF -- "$from/" "$dir" | xargs -0 -r sed -i "s|$from_re|$to_re|g"
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

# reuse KEY: the cached object directory in place of this one, its paths
# (command lines, dependency lists, the Makefile and the source link that
# name the tree of the clone that built it) rewritten for this one (the
# object directory's first, then the build directory's), every file's time
# now so that make finds each object newer than its sources.
reuse() {
	local key=$1 from_build from_obj tmp=$QS_OBJ.reuse
	rm -rf "$tmp"
	(
		qs_lock kbuild "$QS_CACHE/locks"
		cp -a "$KBUILD_CACHE/$key" "$tmp"
		touch "$KBUILD_CACHE/$key"
	)
	{
		read -r _
		IFS= read -r from_build
		IFS= read -r from_obj
	} < "$tmp/.quietsync-kbuild"
	if [ -z "$from_build" ] || [ -z "$from_obj" ]; then
		rm -rf "$tmp"
		return 1
	fi
	rewrite_paths "$tmp" "$from_obj" "$QS_OBJ"
	rewrite_paths "$tmp" "$from_build" "$QS_BUILD"
	ln -sfn "$QS_SRC" "$tmp/source"
	kbuild_stamp "$key" > "$tmp/.quietsync-kbuild"
	# lab/config.sh's log of this run, not the first build's
	[ ! -f "$QS_OBJ/merge_config.log" ] || cp "$QS_OBJ/merge_config.log" "$tmp/"
	find "$tmp" -exec touch -h -d "@$(date +%s)" {} +
	rm -rf "$QS_OBJ"
	mv "$tmp" "$QS_OBJ"
}

# keep KEY: this object directory into the cache; the oldest beyond
# KBUILD_KEEP removed.
keep() {
	local key=$1 old
	kbuild_stamp "$key" > "$QS_OBJ/.quietsync-kbuild"
	(
		qs_lock kbuild "$QS_CACHE/locks"
		mkdir -p "$KBUILD_CACHE"
		if [ ! -d "$KBUILD_CACHE/$key" ]; then
			rm -rf "$KBUILD_CACHE/$key.tmp"
			cp -a "$QS_OBJ" "$KBUILD_CACHE/$key.tmp"
			mv -T "$KBUILD_CACHE/$key.tmp" "$KBUILD_CACHE/$key"
		fi
		touch "$KBUILD_CACHE/$key"
		# shellcheck disable=SC2012 # names are sha256 digests
		ls -1t "$KBUILD_CACHE" | tail -n +"$((KBUILD_KEEP + 1))" | while read -r old; do
			rm -rf "${KBUILD_CACHE:?}/$old"
		done
	)
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
	what=$(plan)
	if [ "${1:-}" = --plan ]; then
		echo "$what"
		return
	fi
	[ $# -eq 0 ] || qs_die "usage: lab/build.sh [--plan]"
	key=${what##* }
	case $what in
	"up to date "*)
		qs_log "build: $QS_OBJ/$QS_IMAGE is the build of these inputs (key ${key:0:12}): nothing to do"
		;;
	"reuse "*)
		if ! reuse "$key"; then
			qs_log "build: $KBUILD_CACHE/$key does not say where it was built: building"
			make_kernel
			keep "$key"
			return
		fi
		qs_log "build: reused $KBUILD_CACHE/${key:0:12}…, the build of the same inputs (tarball, patches, .config, compiler): $QS_OBJ/$QS_IMAGE"
		;;
	"build "[0-9a-f]*)
		make_kernel
		keep "$key"
		qs_log "build: kept in $KBUILD_CACHE/${key:0:12}… for the next build of the same inputs"
		;;
	*)
		qs_log "$what: building, nothing kept"
		make_kernel
		;;
	esac
}

main "$@"
