#!/usr/bin/env bash
# Build the configured kernel out of tree through ccache, printing progress
# every 20 seconds instead of minutes of silence. The full log is kept in
# build/obj-ARCH/build.log.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

show_progress_until_done() {
	local pid=$1 log=$2 start=$SECONDS
	while kill -0 "$pid" 2> /dev/null; do
		sleep 20
		kill -0 "$pid" 2> /dev/null || break
		qs_log "build: $((SECONDS - start)) s, $(grep -c '^  CC ' "$log" || true) files compiled, last: $(tail -n 1 "$log" | cut -c1-80)"
	done
}

main() {
	local image=$QS_IMAGE log pid rc=0 cc
	log=$QS_OBJ/build.log
	[ -f "$QS_OBJ/.config" ] || qs_die "no $QS_OBJ/.config: run lab/config.sh first"
	command -v ccache > /dev/null || qs_die "ccache is missing: apt-get install ccache"
	mkdir -p "$CCACHE_DIR"
	cc="ccache ${QS_CROSS_COMPILE}gcc"
	ccache -z > /dev/null
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

main "$@"
