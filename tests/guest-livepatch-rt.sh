#!/usr/bin/env bash
# The livepatch on Debian's stock PREEMPT_RT kernel (tests/guest-livepatch.sh
# with the rt-amd64 flavor): no THP there, so the collapse scenario reports
# SKIP; the hugetlb-unshare scenario before, enabled, disabled, removed.
set -euo pipefail
exec "$(dirname "$0")/guest-livepatch.sh" rt-amd64
