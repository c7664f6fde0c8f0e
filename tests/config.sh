#!/usr/bin/env bash
# lab/config.sh on the real tree: --dry-run says what will be built, and an
# option Kconfig drops is named (here PARAVIRT, lost with HYPERVISOR_GUEST:
# without it the sync is a no-op and every IPI count meaningless). The
# arm64 plan takes the arm64 fragment and none of the x86 one.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

lab/source.sh > /dev/null 2>&1 || { t_fail "kernel source ready" "lab/source.sh failed"; t_finish; }

t_expect "dry run names the fragments and options" 0 \
	'fragments: configs/x86_64.config configs/lab.config' lab/config.sh --dry-run
t_expect "dry run lists PARAVIRT" 0 '^    CONFIG_PARAVIRT=y$' lab/config.sh --dry-run

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp configs/lab.config configs/x86_64.config "$tmp/"
printf '# CONFIG_HYPERVISOR_GUEST is not set\n' > "$tmp/nohv.config"
t_expect "a dropped option is named" 1 'CONFIG_PARAVIRT \(asked: CONFIG_PARAVIRT=y; got: absent\)' \
	env QS_CONFIG_DIR="$tmp" QS_CONFIGS="lab nohv" QS_OBJ="$tmp/obj" lab/config.sh
t_expect "an unknown fragment is named" 1 'no config fragment .*/nosuch.config' \
	env QS_CONFIGS="lab nosuch" QS_OBJ="$tmp/obj" lab/config.sh
t_expect "the arm64 plan has the PL011 console and the lab options" 0 \
	'^    CONFIG_SERIAL_AMBA_PL011_CONSOLE=y$' env QS_ARCH=arm64 lab/config.sh --dry-run
if env QS_ARCH=arm64 lab/config.sh --dry-run | grep -E 'PARAVIRT|X86|8250'; then
	t_fail "the arm64 plan has no x86 option" "x86 options above"
else
	t_pass "the arm64 plan has no x86 option"
fi
t_finish
