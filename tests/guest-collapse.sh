#!/usr/bin/env bash
# The IPI scenario on the lab kernel (design.md section 5): every guest
# assertion becomes one result here. QS_COLLAPSES (default 500) sets N.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

# Cheap (about 1 s): the guest always runs the init and programs of this tree.
lab/initramfs.sh >&2

# 500 collapses per window keep make check near 10 minutes warm; the bounds
# are per 1,000 (broadcast >= 450 of 500, quiet <= 10 of 500), and make demo
# measures 1,000.
export QS_COLLAPSES=${QS_COLLAPSES:-500}
rc=0
lab/vm.sh collapse || rc=$?
exit "$rc"
