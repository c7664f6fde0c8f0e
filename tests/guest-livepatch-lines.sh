#!/usr/bin/env bash
# The livepatch on the stock kernels of every covered line beyond the two
# verified 6.12.117+deb12 ones (tests/guest-livepatch.sh and -rt): the
# newest release of Debian 13's 6.12, Debian 12's 6.1 and Debian 13
# backports' 7.3, each flavour, unmodified, fetched and not installed;
# "checked" unless livepatch/verified.env lists them. Standard flavours run
# the collapse scenario, PREEMPT_RT ones hugetlb unsharing. Counts are
# exact, so 200 operations per phase do (the bounds are per 1,000); 2
# load/disable/unload cycles each beyond the suite's own load, disable
# and unload (tests/guest-livepatch.sh says why; the verified pair keeps 5).
# Each kernel's results are named after its release;
# build/report/livepatch.json gets one entry per kernel under "kernels".
#
# Usage: tests/guest-livepatch-lines.sh [SET/FLAVOUR...]
#   the kernels named (tests/run.sh runs each as a job of its own), or all.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

# set flavour cycles
KERNELS="deb13-6.12 amd64 2
deb13-6.12 rt-amd64 2
deb12-6.1 amd64 2
deb12-6.1 rt-amd64 2
deb13-7.3 amd64 2
deb13-7.3 rt-amd64 2"

for want in "$@"; do
	grep -q "^${want%/*} ${want#*/} " <<< "$KERNELS" ||
		qs_die "no kernel '$want' here: SET/FLAVOUR, one of $(awk '{ printf " %s/%s", $1, $2 }' <<< "$KERNELS")"
done
while read -r set flavour cycles; do
	if [ $# -gt 0 ] && ! grep -qxF "$set/$flavour" < <(printf '%s\n' "$@"); then
		continue
	fi
	QS_COLLAPSES=200 QS_CYCLES=$cycles t_nested "$set $flavour: " \
		"$QS_BUILD/tests/lines-$set-$flavour.out" tests/guest-livepatch.sh "$flavour" "$set"
done <<< "$KERNELS"
t_finish
