#!/usr/bin/env bash
# The symbols the TCG plugin attributes by (lab/plugin-syms.sh --names),
# for a kernel without a usable System.map (Debian ships a stub one; the
# real one is in the -dbg package): one short boot of KERNEL with nokaslr
# reads them from /proc/kallsyms (guest suite "kallsyms"), and with
# nokaslr the plugin's boot has the same addresses.
#   lab/kallsyms.sh KERNEL
# prints the file ("ADDR TYPE NAME" lines, System.map's form), cached in
# build/kallsyms/ by the kernel image's hash.
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

kernel=${1:?usage: lab/kallsyms.sh KERNEL}
[ -r "$kernel" ] || qs_die "cannot read the kernel $kernel"
names=$("$QS_ROOT/lab/plugin-syms.sh" --names)
# Keyed by the image and the names asked for: a changed list reads again.
hash=$({ sha256sum < "$kernel"; echo "$names"; } | sha256sum | cut -c1-16)
out=$QS_BUILD/kallsyms/$hash.map
# Two suites may want the same kernel's symbols at once: one boot, the
# other waits for its file.
qs_lock "kallsyms-$hash"
if [ ! -s "$out" ]; then
	mkdir -p "$(dirname "$out")"
	qs_log "kallsyms: one boot of $(basename "$kernel") to read its symbols"
	QS_PLUGIN=0 QS_KERNEL=$kernel QS_RUN_NAME=kallsyms-$hash QS_TIMEOUT=300 \
		QS_CMDLINE_EXTRA="nokaslr qs.kallsyms=$names" \
		"$QS_ROOT/lab/vm.sh" kallsyms > /dev/null ||
		qs_die "the kallsyms boot failed (build/runs/$QS_ARCH-kallsyms-$hash)"
	tr -d '\r' < "$QS_BUILD/runs/$QS_ARCH-kallsyms-$hash/ktap.log" |
		sed -n 's/^# kallsyms //p' > "$out.tmp"
	mv "$out.tmp" "$out"
fi
echo "$out"
