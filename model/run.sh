#!/usr/bin/env bash
# Check every variant of model/sync.pml under TSO and the weaker memory model
# with spin, print a table of verdicts (states stored, seconds), then run
# the litmus tests of model/litmus/ in the kernel's own memory model (LKMM,
# tools/memory-model of the 7.3 tree) with herd7, and write
# build/report/model.json. Exit 1 if any verdict differs from the one
# model/variants.txt, or a litmus test's "Result:" line, expects; the
# counterexample of every violation is kept as a readable trail in
# build/model/VARIANT-MEMORY.trail.txt, the verdicts as "name tso weak"
# lines in build/model/verdicts.txt and "name verdict expected" lines in
# build/model/litmus.txt.
#
# herd7 is packaged only in sid (it needs glibc 2.42): it runs in the sid
# userland of lab/userland.sh (root, cached outside the clone); the LKMM
# comes from Debian's linux-source-7.3 (lab/source.sh with QS_BASE=7.3).
#
# Usage: model/run.sh [VARIANT...]   (QS_MODEL_LITMUS=0: spin only)
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/../lab/env.sh"

MODEL=$QS_ROOT/model/sync.pml
WORK=$QS_BUILD/model

# check_one NAME POLICY MB CT NMI FLUSH WAITS WEAK: print "verdict states
# seconds".
check_one() {
	local name=$1 policy=$2 mb=$3 ct=$4 nmi=$5 flush=$6 waits=$7 weak=$8 dir out errors
	local defs=(-DPOLICY="$policy" -DMB="$mb" -DCT_ACTIVE="$ct" -DNMI="$nmi"
		-DFLUSH="$flush" -DWAITS="$waits" -DWEAK="$weak")
	dir=$WORK/$name-$([ "$weak" = 1 ] && echo weak || echo tso)
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$MODEL" "$dir/sync.pml"
	(cd "$dir" && spin "${defs[@]}" -a sync.pml > spin.log 2>&1) ||
		qs_die "spin could not translate $MODEL for $name: $(tail -n 3 "$dir/spin.log")"
	gcc -O2 -w -DSAFETY -o "$dir/pan" "$dir/pan.c"
	out=$(cd "$dir" && ./pan -m100000 -n 2>&1)
	printf '%s\n' "$out" > "$dir/pan.log"
	errors=$(printf '%s\n' "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p')
	[ -n "$errors" ] || qs_die "pan gave no verdict for $name: $(tail -n 3 "$dir/pan.log")"
	if grep -q 'max search depth too small' <<< "$out"; then
		qs_die "pan's search depth was too small for $name: raise -m"
	fi
	if [ "$errors" -gt 0 ]; then
		(cd "$dir" && spin "${defs[@]}" -t -p -g sync.pml) > "$WORK/$(basename "$dir").trail.txt" 2>&1 || true
	fi
	printf '%s %s %s\n' "$([ "$errors" -gt 0 ] && echo violation || echo safe)" \
		"$(printf '%s\n' "$out" | sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p')" \
		"$(printf '%s\n' "$out" | sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p')"
}

# The expected verdict a litmus test states in its header ("Result: Never"),
# written down before herd7 first ran it.
litmus_expected() {
	sed -n 's/^ \* Result: \([A-Za-z]*\).*/\1/p' "$1" | head -n 1
}

# Run every model/litmus/*.litmus with herd7 in the sid userland against
# the 7.3 tree's tools/memory-model; print a table, write litmus.txt and
# litmus.json; return 1 if a verdict is not the expected one.
run_litmus() {
	local lkmm=$QS_BUILD/linux-7.3/tools/memory-model out f name verdict want bad=0
	local json='{}'
	[ "$(id -u)" -eq 0 ] || qs_die "herd7 runs in a sid userland (chroot): run as root, or QS_MODEL_LITMUS=0 for spin alone"
	[ -f "$lkmm/linux-kernel.cfg" ] || QS_BASE=7.3 "$QS_ROOT/lab/source.sh" >&2
	[ -f "$lkmm/linux-kernel.cfg" ] || qs_die "no LKMM in $lkmm after lab/source.sh"
	qs_log "model: herd7 on $(find "$QS_ROOT/model/litmus" -name '*.litmus' | wc -l) litmus tests (LKMM of $(cat "$QS_BUILD/linux-7.3/.quietsync-version"))"
	out=$("$QS_ROOT/lab/userland.sh" sid "$lkmm:/lkmm" "$QS_ROOT/model/litmus:/litmus" -- \
		sh -c 'cd /lkmm && herd7 -conf linux-kernel.cfg /litmus/*.litmus' 2>&1) ||
		qs_die "herd7 failed: $(tail -n 5 <<< "$out")"
	printf '%s\n' "$out" > "$WORK/herd7.log"
	: > "$WORK/litmus.txt"
	printf '\n%-36s %-10s %-10s\n' "litmus test (herd7, LKMM)" verdict expected
	for f in "$QS_ROOT"/model/litmus/*.litmus; do
		name=$(basename "$f" .litmus)
		want=$(litmus_expected "$f")
		[ -n "$want" ] || qs_die "$f states no expected verdict (a ' * Result: Never|Sometimes' line)"
		verdict=$(awk -v n="$name" '$1 == "Observation" && $2 == n { print $3 }' <<< "$out")
		printf '%-36s %-10s %-10s' "$name" "${verdict:-none}" "$want"
		if [ "$verdict" != "$want" ]; then
			printf '  DIFFERS'
			bad=1
		fi
		echo
		echo "$name ${verdict:-none} $want" >> "$WORK/litmus.txt"
		json=$(jq -c --arg n "$name" --arg v "${verdict:-none}" --arg e "$want" \
			'.[$n] = {verdict: $v, expected: $e, agrees: ($v == $e)}' <<< "$json")
	done
	printf '%s\n' "$json" > "$WORK/litmus.json"
	return "$bad"
}

main() {
	local name policy mb ct nmi flush waits want_tso want_weak tso weak json="" bad=0 only=" $* "
	command -v spin > /dev/null || qs_die "spin is missing: apt-get install spin"
	command -v jq > /dev/null || qs_die "jq is missing: apt-get install jq"
	mkdir -p "$WORK" "$QS_REPORT"
	: > "$WORK/verdicts.txt"
	printf '%-26s %-22s %-22s\n' variant "TSO (states, s)" "weak (states, s)"
	while read -r name policy mb ct nmi flush waits want_tso want_weak; do
		case $name in '' | '#'*) continue ;; esac
		[ "$only" = "  " ] || [[ $only == *" $name "* ]] || continue
		read -r -a tso < <(check_one "$name" "$policy" "$mb" "$ct" "$nmi" "$flush" "$waits" 0)
		read -r -a weak < <(check_one "$name" "$policy" "$mb" "$ct" "$nmi" "$flush" "$waits" 1)
		printf '%-26s %-22s %-22s' "$name" "${tso[0]} (${tso[1]}, ${tso[2]})" \
			"${weak[0]} (${weak[1]}, ${weak[2]})"
		if [ "${tso[0]}" != "$want_tso" ] || [ "${weak[0]}" != "$want_weak" ]; then
			printf '  EXPECTED %s / %s' "$want_tso" "$want_weak"
			bad=1
		fi
		echo
		echo "$name ${tso[0]} ${weak[0]}" >> "$WORK/verdicts.txt"
		json=$(jq -c --arg n "$name" --arg t "${tso[0]}" --arg w "${weak[0]}" \
			--argjson st "${tso[1]}" --argjson sw "${weak[1]}" \
			'.[$n] = {tso: $t, weak: $w, states: {tso: $st, weak: $sw}}' <<< "${json:-{\}}")
	done < "$QS_ROOT/model/variants.txt"
	[ -n "$json" ] || qs_die "no variant matched: $*"
	if [ "${QS_MODEL_LITMUS:-1}" = 1 ] && [ "$only" = "  " ]; then
		run_litmus || bad=1
		json=$(jq -c --slurpfile l "$WORK/litmus.json" '. + {litmus: $l[0]}' <<< "$json")
	fi
	jq . <<< "$json" > "$QS_REPORT/model.json"
	qs_log "model: $QS_REPORT/model.json; trails of violations in $WORK/*.trail.txt"
	return "$bad"
}

main "$@"
