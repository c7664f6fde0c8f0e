#!/usr/bin/env bash
# lab/config.sh on the real tree: --dry-run says what will be built, and an
# option Kconfig drops is named (here PARAVIRT, lost with HYPERVISOR_GUEST:
# without it the sync is a no-op and every IPI count meaningless).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

lab/source.sh > /dev/null 2>&1 || { t_fail "kernel source ready" "lab/source.sh failed"; t_finish; }

t_expect "dry run names the fragments and options" 0 \
	'fragments: configs/lab.config' lab/config.sh --dry-run
t_expect "dry run lists PARAVIRT" 0 '^    CONFIG_PARAVIRT=y$' lab/config.sh --dry-run

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp configs/lab.config "$tmp/lab.config"
printf '# CONFIG_HYPERVISOR_GUEST is not set\n' > "$tmp/nohv.config"
t_expect "a dropped option is named" 1 'CONFIG_PARAVIRT \(asked: CONFIG_PARAVIRT=y; got: absent\)' \
	env QS_CONFIG_DIR="$tmp" QS_CONFIGS="lab nohv" QS_OBJ="$tmp/obj" lab/config.sh
t_expect "an unknown fragment is named" 1 'no config fragment .*/nosuch.config' \
	env QS_CONFIGS="lab nosuch" QS_OBJ="$tmp/obj" lab/config.sh
t_finish
