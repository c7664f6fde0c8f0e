#!/usr/bin/env bash
# The formal model: every variant of model/variants.txt gets, under TSO and
# under the weaker memory model, the verdict the table there states; every
# litmus test of model/litmus/ gets from herd7, in the kernel's memory
# model, the verdict its "Result:" line states, and model.json records it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

model/run.sh >&2 || true
while read -r name _ _ _ _ _ _ want_tso want_weak; do
	case $name in '' | '#'*) continue ;; esac
	got=$(awk -v n="$name" '$1 == n { print $2 " " $3 }' "$QS_BUILD/model/verdicts.txt" 2> /dev/null || true)
	if [ "$got" = "$want_tso $want_weak" ]; then
		t_pass "$name: TSO $want_tso, weak $want_weak"
	else
		t_fail "$name: TSO $want_tso, weak $want_weak" "spin says: ${got:-nothing}"
	fi
done < model/variants.txt
for f in model/litmus/*.litmus; do
	name=$(basename "$f" .litmus)
	want=$(sed -n 's/^ \* Result: \([A-Za-z]*\).*/\1/p' "$f" | head -n 1)
	got=$(jq -r --arg n "$name" '.litmus[$n].verdict // empty' "$QS_REPORT/model.json" 2> /dev/null || true)
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		t_pass "litmus $name: $want"
	else
		t_fail "litmus $name: ${want:-no expected verdict}" "herd7 says: ${got:-nothing} (build/model/herd7.log)"
	fi
done
# The verdicts the argument rests on, whatever the files' headers say: the
# 2023 predicate can lose a walker, the quiet rule and patch 3 cannot, nor
# patch 5's skip of a CPU that switched to the mm after the flush (the
# full barrier of switch_mm_irqs_off(); without it, it could).
while read -r name want; do
	got=$(jq -r --arg n "$name" '.litmus[$n].verdict // empty' "$QS_REPORT/model.json" 2> /dev/null || true)
	if [ "$got" = "$want" ]; then
		t_pass "litmus: $name is $want in LKMM"
	else
		t_fail "litmus: $name is $want in LKMM" "herd7 says ${got:-nothing}"
	fi
done <<- 'EOF'
	state-rule-as-posted Sometimes
	quiet-eqs-exit Never
	quiet-eqs-entry-acquire Never
	quiet-eqs-entry-plain-mb Never
	mm-cpumask-sb Never
	quiet-flush-switch-in Never
	quiet-flush-switch-in-no-mb Sometimes
	mm-cpumask-left Never
	mm-cpumask-left-no-mb Sometimes
	quiet-flush-lazy-to-active Never
	quiet-flush-freed-tables Never
	hugetlb-unshare-earlier-flush Never
	hugetlb-unshare-earlier-no-ipi Sometimes
	collapse-refcount-recheck Never
EOF
# Every test a "Never" test's header names as its negative control exists
# and is "Sometimes" in LKMM: the Never rests on what the control removes.
for f in model/litmus/*.litmus; do
	name=$(basename "$f" .litmus)
	grep -q '^ \* Result: Never' "$f" || continue
	controls=$(tr '\n' ' ' < "$f" | grep -o 'Negative controls\?: [^.]*\.' |
		grep -o '[a-z0-9]*-[a-z0-9-]*[a-z0-9]' | sort -u || true)
	for c in $controls; do
		got=$(jq -r --arg n "$c" '.litmus[$n].verdict // empty' "$QS_REPORT/model.json" 2> /dev/null || true)
		if [ "$got" = Sometimes ]; then
			t_pass "litmus $name: its negative control $c is Sometimes"
		else
			t_fail "litmus $name: its negative control $c is Sometimes" "herd7 says ${got:-nothing} (or no such test)"
		fi
	done
done

# check_inlined WHERE TEXT: every litmus test TEXT inlines ("C NAME" to its
# "exists" line) is model/litmus/NAME.litmus, to the letter.
check_inlined() {
	local c
	while read -r c; do
		if [ -f "model/litmus/$c.litmus" ] &&
			diff -q <(sed -n "/^C $c\$/,/^exists/p" <<< "$2") \
				<(sed -n '1,/^exists/p' "model/litmus/$c.litmus") > /dev/null; then
			t_pass "$1: $c inlined as model/litmus/$c.litmus has it"
		else
			t_fail "$1: $c inlined as model/litmus/$c.litmus has it" \
				"the copy differs from the file (or there is no file)"
		fi
	done < <(sed -n 's/^C \([a-z0-9-]*\)$/\1/p' <<< "$2")
}

# A mailed cover letter with a section of litmus tests cites them by file
# name and inlines some whole: it cites at least one, every name cited is a
# test here, and every inlined test is the file, to the letter. (Which
# verdict the letter gives each is prose; each file's own verdict is
# checked above.) The 6.12 letter has no such section.
for cover in patches/linux-*/0000-cover-letter.patch; do
	base=$(basename "$(dirname "$cover")")
	grep -q '^The ordering, as litmus tests$' "$cover" || continue
	cited=$(sed -n '/^The ordering, as litmus tests$/,/^The 2023 review/p' "$cover" |
		tr '\n' ' ' | grep -oE '\([a-z0-9]+(-[a-z0-9]+)+(, +[a-z0-9]+(-[a-z0-9]+)+)*\)' |
		grep -oE '[a-z0-9]+(-[a-z0-9]+)+' | sort -u || true)
	if [ -z "$cited" ]; then
		t_fail "$base cover letter: the litmus tests it cites exist" "its litmus section cites no test by name"
		continue
	fi
	missing=''
	for c in $cited; do
		[ -f "model/litmus/$c.litmus" ] || missing+=" $c"
	done
	if [ -z "$missing" ]; then
		t_pass "$base cover letter: the $(wc -w <<< "$cited") litmus tests it cites exist"
	else
		t_fail "$base cover letter: the litmus tests it cites exist" "no model/litmus/ file for:$missing"
	fi
	check_inlined "$base cover letter" "$(cat "$cover")"
done

# In a series whose cover letter has that section, a patch carries below
# its "---" every "Never" test whose header says it backs that patch (names
# its subject), each to the letter of its file, and no other test (notes a
# reviewer runs; git am drops them). The 6.12 letter has no such section.
for p in patches/linux-*/[0-9][0-9][0-9][0-9]-*.patch; do
	[ "${p##*/}" = 0000-cover-letter.patch ] && continue
	base=$(basename "$(dirname "$p")")
	grep -qs '^The ordering, as litmus tests$' "$(dirname "$p")/0000-cover-letter.patch" || continue
	name=$(basename "$p" .patch)
	name=${name%%-*}
	subject=$(sed -n '/^Subject: /,/^$/p' "$p" | tr '\n' ' ' |
		sed -E 's/^Subject: \[[^]]*\] //; s/ +/ /g; s/ $//')
	notes=$(sed -n '/^---$/,/^diff --git/p' "$p")
	want=''
	for f in model/litmus/*.litmus; do
		grep -q '^ \* Result: Never' "$f" || continue
		tr '\n' ' ' < "$f" | sed -E 's/ \* / /g; s/ +/ /g' |
			grep -qF "Backs: \"$subject\"" && want+=" $(basename "$f" .litmus)"
	done
	have=$(sed -n 's/^C \([a-z0-9-]*\)$/\1/p' <<< "$notes" | tr '\n' ' ')
	if [ "$(tr ' ' '\n' <<< "$want" | sort | sed '/^$/d')" = \
		"$(tr ' ' '\n' <<< "$have" | sort | sed '/^$/d')" ]; then
		t_pass "$base $name: below its ---, the litmus tests that back it:${want:- none}"
	else
		t_fail "$base $name: below its ---, the litmus tests that back it:${want:- none}" \
			"it carries: ${have:-none}"
	fi
	check_inlined "$base $name" "$notes"
done
t_finish
