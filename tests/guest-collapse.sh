#!/usr/bin/env bash
# The IPI scenario on the lab kernel (design.md section 5): every guest
# assertion becomes one result here. QS_COLLAPSES (default 1000) sets N.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

# Cheap (about 1 s): the guest always runs the init and programs of this tree.
lab/initramfs.sh >&2

rc=0
lab/vm.sh collapse || rc=$?
exit "$rc"
