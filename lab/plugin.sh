#!/usr/bin/env bash
# Build the lab's TCG plugin (lab/plugin/qs-interference.c) for the host's
# QEMU: build/plugin/qs-interference.so. Prints its path.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

src=$QS_ROOT/lab/plugin/qs-interference.c
stats=$QS_ROOT/lab/plugin/stats.c
out=$QS_BUILD/plugin/qs-interference.so
command -v gcc > /dev/null || qs_die "gcc is missing: apt-get install gcc"
# make check's bench and interference suites may build it side by side.
qs_lock plugin
if [ ! -f "$out" ] || [ "$src" -nt "$out" ] || [ "$stats" -nt "$out" ] ||
	[ "$QS_ROOT/lab/plugin/stats.h" -nt "$out" ] ||
	[ "$QS_ROOT/lab/plugin/qemu-plugin-7.2.h" -nt "$out" ] ||
	[ "$QS_ROOT/guest/window_mark.h" -nt "$out" ]; then
	mkdir -p "$(dirname "$out")"
	qs_log "plugin: building $(basename "$out")"
	gcc -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
		-I "$QS_ROOT/lab/plugin" -I "$QS_ROOT/guest" -o "$out.tmp" "$src" "$stats"
	mv "$out.tmp" "$out"
fi
echo "$out"
