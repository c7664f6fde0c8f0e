#!/usr/bin/env bash
# Check every variant of model/sync.pml under TSO and the weaker memory model
# with spin, print a table of verdicts (states stored, seconds) and write
# build/report/model.json. Exit 1 if any verdict differs from the one
# model/variants.txt expects; the counterexample of every violation is kept
# as a readable trail in build/model/VARIANT-MEMORY.trail.txt, and the
# verdicts as "name tso weak" lines in build/model/verdicts.txt.
#
# Usage: model/run.sh [VARIANT...]
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/../lab/env.sh"

MODEL=$QS_ROOT/model/sync.pml
WORK=$QS_BUILD/model

# check_one NAME POLICY MB CT NMI WEAK: print "verdict states seconds".
check_one() {
	local name=$1 policy=$2 mb=$3 ct=$4 nmi=$5 weak=$6 dir out errors
	local defs=(-DPOLICY="$policy" -DMB="$mb" -DCT_ACTIVE="$ct" -DNMI="$nmi" -DWEAK="$weak")
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
	if printf '%s\n' "$out" | grep -q 'max search depth too small'; then
		qs_die "pan's search depth was too small for $name: raise -m"
	fi
	if [ "$errors" -gt 0 ]; then
		(cd "$dir" && spin "${defs[@]}" -t -p -g sync.pml) > "$WORK/$(basename "$dir").trail.txt" 2>&1 || true
	fi
	printf '%s %s %s\n' "$([ "$errors" -gt 0 ] && echo violation || echo safe)" \
		"$(printf '%s\n' "$out" | sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p')" \
		"$(printf '%s\n' "$out" | sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p')"
}

main() {
	local name policy mb ct nmi want_tso want_weak tso weak json="" bad=0 only=" $* "
	command -v spin > /dev/null || qs_die "spin is missing: apt-get install spin"
	mkdir -p "$WORK" "$QS_REPORT"
	: > "$WORK/verdicts.txt"
	printf '%-26s %-22s %-22s\n' variant "TSO (states, s)" "weak (states, s)"
	while read -r name policy mb ct nmi want_tso want_weak; do
		case $name in '' | '#'*) continue ;; esac
		[ "$only" = "  " ] || [[ $only == *" $name "* ]] || continue
		read -r -a tso < <(check_one "$name" "$policy" "$mb" "$ct" "$nmi" 0)
		read -r -a weak < <(check_one "$name" "$policy" "$mb" "$ct" "$nmi" 1)
		printf '%-26s %-22s %-22s' "$name" "${tso[0]} (${tso[1]}, ${tso[2]})" \
			"${weak[0]} (${weak[1]}, ${weak[2]})"
		if [ "${tso[0]}" != "$want_tso" ] || [ "${weak[0]}" != "$want_weak" ]; then
			printf '  EXPECTED %s / %s' "$want_tso" "$want_weak"
			bad=1
		fi
		echo
		echo "$name ${tso[0]} ${weak[0]}" >> "$WORK/verdicts.txt"
		json="$json${json:+, }\"$name\": {\"tso\": \"${tso[0]}\", \"weak\": \"${weak[0]}\", \"states\": {\"tso\": ${tso[1]}, \"weak\": ${weak[1]}}}"
	done < "$QS_ROOT/model/variants.txt"
	[ -n "$json" ] || qs_die "no variant matched: $*"
	echo "{$json}" > "$QS_REPORT/model.json"
	qs_log "model: $QS_REPORT/model.json; trails of violations in $WORK/*.trail.txt"
	return "$bad"
}

main "$@"
