#!/usr/bin/env bash
# Configure the kernel: tinyconfig, the fragments from configs/ merged on top
# with the tree's merge_config.sh, olddefconfig, then check that every option
# a fragment asked for survived. --dry-run prints what would be built.
#
# Fragments: configs/$QS_ARCH.config (the architecture's part: consoles,
# firmware), then QS_CONFIGS (default: "lab"), names of files
# configs/NAME.config; the last fragment wins. (arm64: "lab debug", see
# lab/env.sh.)
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/env.sh"

QS_CONFIGS=${QS_CONFIGS:-$QS_DEFAULT_CONFIGS}
QS_CONFIG_DIR=${QS_CONFIG_DIR:-$QS_ROOT/configs}

fragment_files() {
	local name
	for name in "$QS_ARCH" $QS_CONFIGS; do
		printf '%s\n' "$QS_CONFIG_DIR/$name.config"
	done
}

check_fragments_exist() {
	local f
	for f in $(fragment_files); do
		[ -f "$f" ] || qs_die "no config fragment $f (QS_CONFIGS=$QS_CONFIGS)"
	done
}

# Print "CONFIG_FOO=value" or "# CONFIG_FOO is not set" for every option the
# fragments set; the last fragment wins, as in merge_config.sh.
requested_options() {
	# shellcheck disable=SC2046
	awk '/^CONFIG_[A-Za-z0-9_]+=/ { split($0, kv, "="); want[kv[1]] = $0 }
		/^# CONFIG_[A-Za-z0-9_]+ is not set/ { want[$2] = $0 }
		END { for (k in want) print want[k] }' $(fragment_files) | sort
}

# Print every requested option whose value is not in the final .config.
dropped_options() {
	local config=$1 line name
	while IFS= read -r line; do
		case $line in
		'# '*)
			name=${line#\# }
			name=${name%% *}
			if grep -q "^$name=" "$config"; then
				printf '%s (asked: not set; got: %s)\n' "$name" \
					"$(grep "^$name=" "$config")"
			fi
			;;
		*)
			if ! grep -qxF -- "$line" "$config"; then
				name=${line%%=*}
				printf '%s (asked: %s; got: %s)\n' "$name" "$line" \
					"$(grep -E "^(# )?${name}[= ]" "$config" || echo absent)"
			fi
			;;
		esac
	done < <(requested_options)
}

print_plan() {
	echo "kernel:    Linux $QS_KERNEL_VERSION from $QS_SOURCE_TARBALL"
	echo "source:    $QS_SRC"
	echo "objects:   $QS_OBJ (ARCH=$QS_ARCH)"
	echo "base:      tinyconfig"
	echo "fragments: $(fragment_files | sed "s|$QS_ROOT/||" | tr '\n' ' ')"
	echo "options:"
	requested_options | sed 's/^/    /'
}

configure() {
	local dropped
	[ -d "$QS_SRC" ] || qs_die "no kernel source in $QS_SRC: run lab/source.sh first"
	mkdir -p "$QS_OBJ"
	qs_log "config: tinyconfig + $QS_CONFIGS for $QS_ARCH"
	make -s -C "$QS_SRC" O="$QS_OBJ" ARCH="$QS_ARCH" tinyconfig > /dev/null
	# shellcheck disable=SC2046
	"$QS_SRC/scripts/kconfig/merge_config.sh" -m -O "$QS_OBJ" \
		"$QS_OBJ/.config" $(fragment_files) > "$QS_OBJ/merge_config.log"
	make -s -C "$QS_SRC" O="$QS_OBJ" ARCH="$QS_ARCH" olddefconfig > /dev/null
	dropped=$(dropped_options "$QS_OBJ/.config")
	if [ -n "$dropped" ]; then
		printf 'error: Kconfig dropped options the fragments ask for:\n%s\n' "$dropped" >&2
		qs_die "fix configs/ (a missing dependency?) and run again"
	fi
	qs_log "config: all $(requested_options | wc -l) requested options are set"
}

check_fragments_exist
case ${1:-} in
--dry-run) print_plan ;;
'') configure ;;
*) qs_die "usage: lab/config.sh [--dry-run]" ;;
esac
