#!/usr/bin/env bash
# lab/deps.sh: the lab's packages are installed (installing them as root is
# the first thing make check does), and a user who is not root gets the exact
# apt-get line and exit 2.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh

t_expect "lab packages installed" 0 'deps: all [0-9]+ packages installed' lab/deps.sh

# The unprivileged user may not reach the clone (mktemp -d makes 0700
# folders): it runs copies of the two scripts from a folder it can read.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -m 755 "$tmp/lab"
cp lab/deps.sh lab/env.sh "$tmp/lab/"
mkdir -m 777 "$tmp/build"
printf 'bash\nquietsync-no-such-package\nlinux-source-6.12=0.0-0\n' > "$tmp/packages.txt"
t_expect "not root: prints the apt-get line, exit 2" 2 \
	'apt-get install quietsync-no-such-package linux-source-6.12=0.0-0$' \
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	env QS_PACKAGES="$tmp/packages.txt" QS_BUILD="$tmp/build" "$tmp/lab/deps.sh"
t_finish
