#!/usr/bin/env bash
# The patch series as a maintainer receives it: every patch in series order
# is in git format-patch form with a Signed-off-by, checkpatch --strict
# finds nothing, the cover letter has no template placeholders, and sparse
# (make C=2) reports nothing for the C files the series touches.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

check_format() {
	local p=$1 name
	name=$(basename "$p")
	if ! grep -Eq '^From [0-9a-f]{40} ' <<< "$(head -n 1 "$p")"; then
		t_fail "$name is git format-patch output" "no 'From <sha>' first line"
	elif ! grep -Eq '^Subject: \[(RFC )?PATCH [0-9]+/[0-9]+\] ' "$p"; then
		t_fail "$name is git format-patch output" "no '[PATCH n/m]' or '[RFC PATCH n/m]' subject"
	elif ! grep -q '^Signed-off-by: quietsync <' "$p"; then
		t_fail "$name is git format-patch output" "no Signed-off-by: quietsync"
	else
		t_pass "$name is git format-patch output with Signed-off-by"
	fi
}

# check_numbered PATCH N TOTAL: the subject is [RFC PATCH N/TOTAL] (the
# cover letter: N = 0). The series is an RFC: it is based on a Debian
# release, not on mm-unstable, where Lance Yang's series touches the same
# lines (docs/review.md).
check_numbered() {
	if grep -q "^Subject: \[RFC PATCH $2/$3\] " "$1"; then
		t_pass "$(basename "$1") is RFC patch $2/$3"
	else
		t_fail "$(basename "$1") is RFC patch $2/$3" "$(grep -m1 '^Subject:' "$1")"
	fi
}

# check_mailed_text PATCH: the text a list reader gets (the message and the
# notes below its "---", up to the diff) names nothing they cannot see: no
# patch of the lab's queue by number, no private review numbering, no
# "seed" for the 2023 patch, no note to ourselves about posting.
check_mailed_text() {
	local hits
	hits=$(sed -n '1,/^diff --git /p' "$1" |
		grep -niE '\b[0-9]/7\b|finding [0-9]|\bseed\b|before posting|the lab\b|quietsync-check' || true)
	if [ -z "$hits" ]; then
		t_pass "$(basename "$1"): the mailed text stands on its own"
	else
		t_fail "$(basename "$1"): the mailed text stands on its own" "$(head -n 2 <<< "$hits" | tr '\n' ' ')"
	fi
}

check_checkpatch() {
	local p=$1 out
	# From the tree's top (not a git checkout): checkpatch's tree mode.
	if out=$(cd "$QS_SRC" && scripts/checkpatch.pl --strict --quiet "$p" 2>&1) &&
		[ -z "$out" ]; then
		t_pass "checkpatch --strict clean: $(basename "$p")"
	else
		t_fail "checkpatch --strict clean: $(basename "$p")" \
			"$(printf '%s' "$out" | head -n 3 | tr '\n' ' ')"
	fi
}

# The .c files the series changes or adds (headers are checked through them).
touched_c_files() {
	local p
	for p in $(qs_series_patches "$QS_PATCHES"); do
		sed -n 's|^+++ b/\(.*\.c\)$|\1|p' "$QS_PATCHES/$p"
	done | sort -u
}

# Line numbers of FILE (as patched) that the series added or changed, from
# a diff against the pristine file in PRISTINE (every line of a new file).
changed_lines() {
	local file=$1 pristine=$2
	if [ -f "$pristine/$file" ]; then
		diff --unchanged-line-format= --old-line-format= \
			--new-line-format='%dn
' "$pristine/$file" "$QS_SRC/$file" || true
	else
		seq 1 "$(wc -l < "$QS_SRC/$file")"
	fi
}

# sparse on every .c file the series touches: a warning on a line the series
# added or changed fails; the tree's own warnings elsewhere in the file are
# reported, not counted.
check_sparse() {
	local f out lines bad pristine
	command -v sparse > /dev/null || { t_fail "sparse" "sparse missing: apt-get install sparse"; return; }
	[ -f "$QS_OBJ/.config" ] || { t_fail "sparse" "no configured kernel: run make kernel"; return; }
	pristine=$(mktemp -d)
	# shellcheck disable=SC2046
	tar -xJf "$QS_SOURCE_TARBALL" -C "$pristine" --strip-components=1 \
		--wildcards $(touched_c_files | sed 's|^|*/|') 2> /dev/null || true
	for f in $(touched_c_files); do
		out=$(make -s -C "$QS_OBJ" ARCH="$QS_ARCH" C=2 CC="ccache gcc" "${f%.c}.o" 2>&1 |
			grep -E "$f:[0-9]+:[0-9]+: (warning|error):" || true)
		lines=$(changed_lines "$f" "$pristine" | tr '\n' ' ')
		bad=$(printf '%s\n' "$out" | awk -F: -v lines=" $lines" \
			'NF > 2 && index(lines, " " $2 " ") { print }')
		if [ -n "$bad" ]; then
			t_fail "sparse adds no warning: $f" "$(printf '%s' "$bad" | head -n 2 | tr '\n' ' ')"
		else
			t_pass "sparse adds no warning: $f ($(printf '%s' "$out" | grep -c . || true) pre-existing)"
		fi
	done
	rm -rf "$pristine"
}

lab/source.sh > /dev/null 2>&1 || { t_fail "kernel source ready" "lab/source.sh failed"; t_finish; }
cover=$QS_PATCHES/0000-cover-letter.patch
if [ -f "$cover" ] && ! grep -q '\*\*\* \(SUBJECT\|BLURB\) HERE \*\*\*' "$cover"; then
	t_pass "cover letter written"
else
	t_fail "cover letter written" "missing or still has the template placeholders"
fi
n=0
total=$(qs_series_patches "$QS_PATCHES" | wc -l)
for p in $(qs_series_patches "$QS_PATCHES"); do
	n=$((n + 1))
	check_format "$QS_PATCHES/$p"
	check_checkpatch "$QS_PATCHES/$p"
	check_numbered "$QS_PATCHES/$p" "$n" "$total"
	check_mailed_text "$QS_PATCHES/$p"
done
if [ "$n" -gt 0 ]; then
	t_pass "series lists $n patches"
else
	t_fail "series lists patches" "empty series"
fi
check_numbered "$cover" 0 "$total"
check_mailed_text "$cover"
# The lab's queue: never mailed, the same form, applied after the series
# (lab/source.sh above applied both or failed).
for p in $(qs_series_patches "$QS_LAB_PATCHES"); do
	check_format "$QS_LAB_PATCHES/$p"
	check_checkpatch "$QS_LAB_PATCHES/$p"
done
check_sparse
t_finish
