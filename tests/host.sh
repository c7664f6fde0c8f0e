#!/usr/bin/env bash
# The lab leaves the host as it found it: no Debian kernel image or headers
# package installed, /boot and the host's apt sources and package lists
# unchanged. tests/run.sh records the host's state before the first suite
# (build/tests/host-before.txt); this suite, the last one, compares. Run
# alone, it checks what needs no record.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

before=$QS_BUILD/tests/host-before.txt

if grep -qE '^linux-(image|headers)-' < <(grep -Ev '^[[:space:]]*(#|$)' "$QS_PACKAGES"); then
	t_fail "lab/packages.txt installs no kernel image or headers" \
		"$(grep -E '^linux-(image|headers)-' "$QS_PACKAGES" | tr '\n' ' ')"
else
	t_pass "lab/packages.txt installs no kernel image or headers"
fi

# The private archive's lists live in the cache; the host's lists hold only
# the suites its own sources name.
host_suites=$(lab/host-state.sh | sed -n 's/^source .* \([a-z-]*\)$/\1/p' | sort -u)
stray=$(find /var/lib/apt/lists -maxdepth 1 -name '*_dists_trixie*' -printf '%f\n' | head -n 3)
if [ -n "$stray" ] && ! grep -q '^trixie' <<< "$host_suites"; then
	t_fail "the host's apt lists hold no suite its sources do not name" "$stray"
else
	t_pass "the host's apt lists hold no suite its sources do not name"
fi

if [ ! -f "$before" ]; then
	t_skip "host state unchanged since make check began" "run as part of make check (no $before)"
	t_finish
fi
now=$(lab/host-state.sh)
if diff <(cat "$before") <(echo "$now") > "$QS_BUILD/tests/host-diff.txt"; then
	t_pass "host state unchanged since make check began ($(grep -c '' "$before") facts: kernel packages, /boot, apt sources)"
else
	t_fail "host state unchanged since make check began" \
		"$(grep '^[<>]' "$QS_BUILD/tests/host-diff.txt" | head -n 5 | tr '\n' ' ')"
fi
t_finish
