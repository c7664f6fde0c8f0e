#!/usr/bin/env bash
# The series for mainline (patches/linux-7.3) on Debian's newest
# linux-source-7.3, fetched from trixie-backports by lab/source.sh:
#   - the patches as a maintainer receives them (tests/patches.sh: format,
#     checkpatch --strict, sparse), on the 7.3 tree;
#   - x86_64: the lab kernel of the 7.3 tree, booted with the lab's
#     isolation command line: KUnit at boot, the debugfs ABI, both IPI
#     scenarios (collapse, hugetlb unsharing) under every policy, with the
#     bounds of the 6.12 lab (guest/init, suite "collapse");
#   - arm64, with QS_MAINLINE_ARCHES="x86_64 arm64": the same on the
#     cross-built 7.3 arm64 kernel (the debug one that tests/arm64.sh
#     builds and runs the stress and the negative control on; in make
#     check that suite covers arm64's scenarios, so this stays opt-in);
#   - x86_64 again with isolcpus= alone (no nohz_full=, no rcu_nocbs=):
#     what the rule gains without context tracking, broadcast, quiet and
#     quiet-flush, both scenarios;
#   - the series alone, as mailed (no lab queue), x86_64: built from the
#     lab kernel's .config and booted with its KUnit suite;
#   - build/report/mainline.json: {"arches": {"x86_64": {"kernel": ...,
#     "scenarios": {...}}, "arm64": {...}}, "layouts": {"isolcpus":
#     {"x86_64": {"scenarios": ...}}}}, each scenario the per-scenario
#     object of demo.json, one entry per arch run.
# QS_COLLAPSES (default 200: counts are exact and the bounds per 1,000),
# QS_MAINLINE_ARCHES (default x86_64).
set -euo pipefail
cd "$(dirname "$0")/.."
export QS_BASE=7.3
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=lab/env.sh
. lab/env.sh

export QS_COLLAPSES=${QS_COLLAPSES:-200}

# scenario_on ARCH: build the 7.3 kernel for ARCH (lab/env.sh: x86_64 the
# lab fragment, arm64 the debug one, and their object directories), boot
# it with the guest suite "collapse" and write
# build/report/mainline-ARCH.json.
scenario_on() {
	local arch=$1 obj
	obj=$(QS_ARCH=$arch bash -c '. lab/env.sh && echo "$QS_OBJ"')
	export QS_ARCH=$arch
	t_step "$arch: 7.3 config merged and verified" lab/config.sh
	if [ "$arch" = x86_64 ]; then
		t_expect "$arch: 7.3 selects ARCH_HAS_MM_CPUMASK (patch 3)" 0 \
			'^CONFIG_ARCH_HAS_MM_CPUMASK=y$' cat "$obj/.config"
	else
		t_expect "$arch: 7.3 frees page tables with MMU_GATHER_RCU_TABLE_FREE" 0 \
			'^CONFIG_MMU_GATHER_RCU_TABLE_FREE=y$' cat "$obj/.config"
	fi
	t_step "$arch: 7.3 kernel built" lab/build.sh
	t_step "$arch: guest programs and initramfs built" lab/initramfs.sh
	# Under TCG a collapse takes a few ms on x86_64 (0.2-0.3 s on arm64's
	# KASAN kernel); 1200 s is room for a loaded machine before calling it
	# a hang.
	# Every rule, rcu and rcu-exp included (the cover letter answers "use
	# a grace period instead" with their counts; the guest asserts them).
	QS_POLICIES=${QS_POLICIES:-broadcast,mm,kernel-state,rcu-exp,rcu,quiet,flush-ipi,quiet-flush} \
		collapse_boot "$arch" mainline-collapse "mainline-$arch" "$arch: 7.3 report written"
	unset QS_ARCH
}

# collapse_boot ARCH RUN REPORT RESULT: boot the 7.3 lab kernel of ARCH
# with the guest suite "collapse" as run RUN (QS_POLICIES, QS_NOHZ_FULL as
# set by the caller) and write build/report/REPORT.json; RESULT names the
# result for the report.
collapse_boot() {
	local arch=$1 run=$2 report=$3 result=$4
	QS_ARCH=$arch QS_TIMEOUT=1200 QS_RUN_NAME=$run t_guest lab/vm.sh collapse
	if QS_ARCH=$arch lab/report.sh "$QS_BUILD/runs/$arch-$run" "$report" \
		> "$QS_BUILD/$report.txt"; then
		t_pass "$result"
	else
		t_fail "$result" "lab/report.sh failed"
	fi
}

# isolcpus_only ARCH: boot the 7.3 lab kernel again with isolcpus= alone,
# the mailed rule, the broadcast and flush-ipi (the lab's stand-in for
# Lance Yang's early return, which the cover letter compares against), and
# write build/report/mainline-ARCH-isolcpus.json.
isolcpus_only() {
	QS_NOHZ_FULL=none QS_POLICIES=broadcast,quiet,quiet-flush,flush-ipi \
		collapse_boot "$1" mainline-isolcpus "mainline-$1-isolcpus" "$1: 7.3 isolcpus-only report written"
}

# The series as it would be mailed, without the lab's queue
# (QS_LAB_PATCHES=: its own tree and objects under build/series, lab/env.sh),
# built from the x86_64 lab kernel's .config (olddefconfig drops the queue's
# options) and booted once with the guest suite "kunit": boot_check and the
# series' KUnit suite, the mailed cases alone. Every other boot here runs the
# lab kernel, whose KUnit suite has the queue's cases too.
series_alone() {
	local src obj lab_config
	lab_config=$(QS_ARCH=x86_64 QS_OBJ='' bash -c '. lab/env.sh && echo "$QS_OBJ/.config"')
	read -r src obj < <(QS_ARCH=x86_64 QS_LAB_PATCHES='' QS_OBJ='' bash -c '. lab/env.sh && echo "$QS_SRC $QS_OBJ"')
	if ! QS_LAB_PATCHES='' lab/source.sh >&2; then
		t_fail "7.3 series alone: tree extracted and patched" "lab/source.sh failed (its output is above)"
		return 0
	fi
	mkdir -p "$obj"
	cp "$lab_config" "$obj/.config"
	if ! make -s -C "$src" O="$obj" ARCH=x86_64 olddefconfig > "$obj/olddefconfig.log" 2>&1; then
		t_fail "7.3 series alone: configured" "$(tail -n 3 "$obj/olddefconfig.log" | tr '\n' ' ')"
		return 0
	fi
	if grep -q '^CONFIG_MMU_GATHER_KUNIT_TEST=y' "$obj/.config" &&
		! grep -q 'CONFIG_TLB_REMOVE_TABLE_SYNC_\(EVAL\|DEBUG\)' "$obj/.config"; then
		t_pass "7.3 series alone: KUnit suite built in, none of the lab queue's options"
	else
		t_fail "7.3 series alone: KUnit suite built in, none of the lab queue's options" \
			"$(grep -E 'MMU_GATHER_KUNIT_TEST|TLB_REMOVE_TABLE_SYNC_' "$obj/.config" | tr '\n' ' ')"
	fi
	if ! QS_ARCH=x86_64 QS_LAB_PATCHES='' QS_OBJ="$obj" lab/build.sh >&2; then
		t_fail "7.3 series alone: x86_64 kernel built" "lab/build.sh failed (its output is above)"
		return 0
	fi
	t_pass "7.3 series alone: x86_64 kernel built"
	mkdir -p "$QS_BUILD/tests"
	t_nested "7.3 series alone: " "$QS_BUILD/tests/mainline-series.out" \
		env QS_ARCH=x86_64 QS_OBJ="$obj" QS_TIMEOUT=600 QS_RUN_NAME=mainline-series lab/vm.sh kunit
}

# per_1k N LO HI COUNT...: N operations were counted and each COUNT is
# known (>= 0) and, per 1,000 operations, at least LO and, unless HI is
# empty, at most HI.
per_1k() {
	local n=$1 lo=$2 hi=$3 c
	shift 3
	[ "${n:-0}" -gt 0 ] 2> /dev/null || return 1
	for c in "$@"; do
		[ "$c" -ge 0 ] 2> /dev/null && [ $((c * 1000)) -ge $((lo * n)) ] || return 1
		[ -z "$hi" ] || [ $((c * 1000)) -le $((hi * n)) ] || return 1
	done
}

# What the rule gains without nohz_full, from the isolcpus-only report: under
# quiet-flush the idle CPU 1 and the same-mm CPU 3 (the flush waited for it)
# take at most 20 per 1,000 in both scenarios; the busy other-process CPU 2
# is watched by RCU, so it is spared only where mm_cpumask() excludes it
# (collapse: at most 20) and interrupted where the caller passes NULL
# (hugetlb unshare: at least 900); broadcast at least 900 everywhere.
# flush-ipi on x86 returns before any IPI (the native flush waited): none
# on any CPU in either scenario, so that in the hugetlb unshare it spares
# CPU 2, which quiet-flush interrupts (the cover letter says so).
check_isolcpus_bounds() {
	local arch=$1 json=$QS_REPORT/mainline-$1-isolcpus.json scenario out lo2 hi2 i1 i2 i3 n
	for scenario in collapse hugetlb-unshare; do
		if [ "$arch" = x86_64 ]; then
			out=$(QS_JSON=$json sync_ipis "$arch" "$scenario" flush-ipi:1 flush-ipi:2 flush-ipi:3)
			read -r i1 i2 i3 n <<< "${out:-x x x 0}"
			if per_1k "$n" 0 0 "$i1" "$i2" "$i3"; then
				t_pass "$arch isolcpus-only $scenario: flush-ipi sends no sync IPI (CPUs 1/2/3: $i1/$i2/$i3 per $n)"
			else
				t_fail "$arch isolcpus-only $scenario: flush-ipi sends no sync IPI" \
					"CPUs 1/2/3: ${i1:-?}/${i2:-?}/${i3:-?} per ${n:-?} ($json)"
			fi
		fi
		out=$(QS_JSON=$json sync_ipis "$arch" "$scenario" quiet-flush:1 quiet-flush:2 quiet-flush:3 \
			broadcast:1 broadcast:2 broadcast:3)
		read -r f1 f2 f3 b1 b2 b3 n <<< "${out:-x x x x x x 0}"
		if [ "$scenario" = collapse ]; then lo2=0 hi2=20; else lo2=900 hi2=1000; fi
		if per_1k "$n" 0 20 "$f1" "$f3" && per_1k "$n" "$lo2" "$hi2" "$f2" &&
			per_1k "$n" 900 '' "$b1" "$b2" "$b3"; then
			t_pass "$arch isolcpus-only $scenario: quiet-flush $f1/$f2/$f3, broadcast $b1/$b2/$b3 sync IPIs on CPUs 1/2/3 per $n"
		else
			t_fail "$arch isolcpus-only $scenario: quiet-flush <= 20 on CPUs 1/3, $lo2..$hi2 on CPU 2; broadcast >= 900" \
				"quiet-flush ${f1:-?}/${f2:-?}/${f3:-?}, broadcast ${b1:-?}/${b2:-?}/${b3:-?} per ${n:-?} ($json)"
		fi
	done
}

# sync_ipis ARCH SCENARIO POLICY:CPU...: from the arch's report (QS_JSON:
# another report), the sync IPIs of each policy's CPU (-1 if missing), then
# the operations, tab-separated.
sync_ipis() {
	local json=${QS_JSON:-$QS_REPORT/mainline-$1.json} scenario=$2
	shift 2
	jq -r --arg s "$scenario" '
		def ipis($sc; $p; $c):
			(first($sc.policies[$p].cpus[]? | select(.cpu == $c) | .sync_ipis) // -1);
		.scenarios[$s] as $sc
		| [$ARGS.positional[] | split(":") | . as [$p, $c] | ipis($sc; $p; ($c | tonumber))]
		  + [($sc.operations // 0)]
		| @tsv' --args "$@" < "$json" 2> /dev/null || true
}

# The bounds issue 17 names, from the report: per 1,000 operations, quiet
# at most 20 sync IPIs on CPUs 1 (idle) and 2 (other process), broadcast at
# least 900 on each.
check_bounds() {
	local arch=$1 json=$QS_REPORT/mainline-$1.json scenario out
	for scenario in collapse hugetlb-unshare; do
		out=$(sync_ipis "$arch" "$scenario" quiet:1 quiet:2 broadcast:1 broadcast:2)
		read -r qi qo bi bo n <<< "${out:-x x x x 0}"
		if per_1k "$n" 0 20 "$qi" "$qo" && per_1k "$n" 900 '' "$bi" "$bo"; then
			t_pass "$arch $scenario: quiet $qi/$qo, broadcast $bi/$bo sync IPIs on CPUs 1/2 per $n"
		else
			t_fail "$arch $scenario: quiet <= 20 and broadcast >= 900 per 1,000 on CPUs 1/2" \
				"quiet ${qi:-?}/${qo:-?}, broadcast ${bi:-?}/${bo:-?} per ${n:-?} ($json)"
		fi
	done
}

# Issue 18's bound, from the report: under quiet-flush (the default) every
# isolated CPU, the same-mm one included, takes at most 20 sync IPIs per
# 1,000, on both arches and in both scenarios; flush-ipi takes none on x86
# (no sync after the IPI flush) and is the broadcast on arm64 (the flush
# sends no IPI there).
check_flush_bounds() {
	local arch=$1 json=$QS_REPORT/mainline-$1.json scenario out
	for scenario in collapse hugetlb-unshare; do
		out=$(sync_ipis "$arch" "$scenario" quiet-flush:1 quiet-flush:2 quiet-flush:3 flush-ipi:3)
		read -r f1 f2 f3 l3 n <<< "${out:-x x x x 0}"
		if per_1k "$n" 0 20 "$f1" "$f2" "$f3"; then
			t_pass "$arch $scenario: quiet-flush $f1/$f2/$f3 sync IPIs on CPUs 1/2/3 per $n (flush-ipi: $l3 on CPU 3)"
		else
			t_fail "$arch $scenario: quiet-flush <= 20 per 1,000 on CPUs 1/2/3" \
				"quiet-flush ${f1:-?}/${f2:-?}/${f3:-?} per ${n:-?} ($json)"
		fi
	done
}

ARCHES=${QS_MAINLINE_ARCHES:-x86_64}
for arch in $ARCHES; do
	case $arch in
	x86_64 | arm64) ;;
	*) qs_die "QS_MAINLINE_ARCHES=$ARCHES: x86_64 and arm64 are the lab's" ;;
	esac
done
[[ " $ARCHES " == *" x86_64 "* ]] ||
	qs_die "QS_MAINLINE_ARCHES=$ARCHES: x86_64 is always run (sparse needs its configured tree)"

t_step "7.3 source fetched, extracted and patched" lab/source.sh
t_pass "7.3 tree is Linux $(cat "$QS_SRC/.quietsync-version") ($(cat "$QS_SOURCE_TARBALL.version" 2> /dev/null || echo "from $QS_SOURCE_TARBALL"))"
scenario_on x86_64
check_bounds x86_64
check_flush_bounds x86_64
isolcpus_only x86_64
check_isolcpus_bounds x86_64
series_alone
# Every result of the series checks, named as on 6.12 with "7.3: " before;
# after the x86_64 kernel, whose configured tree sparse needs.
t_nested "7.3: " "$QS_BUILD/tests/mainline-patches.out" tests/patches.sh

for arch in $ARCHES; do
	[ "$arch" != x86_64 ] || continue
	scenario_on "$arch"
	check_bounds "$arch"
	check_flush_bounds "$arch"
done

# The review's findings (docs/review.md's table: number, finding, where it is
# answered, what checks it, status), one object each.
review_json() {
	grep '^| [0-9]' docs/review.md | jq -R -s -c '
		[split("\n")[] | select(length > 0) | split(" | ")
		 | {n: (.[0] | ltrimstr("| ") | tonumber), finding: .[1], answered: .[2],
		    check: .[3], status: (.[4] | rtrimstr(" |"))}]'
}
review_json > "$QS_BUILD/mainline-review.json" || true
if [ "$(jq 'length' "$QS_BUILD/mainline-review.json" 2> /dev/null)" -ge 20 ] 2> /dev/null; then
	t_pass "review: $(jq 'length' "$QS_BUILD/mainline-review.json") findings, $(jq '[.[] | select(.status | startswith("open"))] | length' "$QS_BUILD/mainline-review.json") open (docs/review.md)"
else
	t_fail "review: docs/review.md's table read" "$(head -c 200 "$QS_BUILD/mainline-review.json")"
fi

# One entry per arch run, from its report.
for arch in $ARCHES; do
	jq --arg arch "$arch" '{($arch): {kernel, accel, vcpus, scenarios}}' \
		"$QS_REPORT/mainline-$arch.json" 2> /dev/null || echo null
done > "$QS_BUILD/mainline-arches.json"
if jq -s -e --arg base "$(cat "$QS_SRC/.quietsync-version")" \
	--arg debian "$(cat "$QS_SOURCE_TARBALL.version" 2> /dev/null || echo unknown)" '
	select(all(. != null)) | {base: $base, debian_source: $debian, arches: add}' \
	"$QS_BUILD/mainline-arches.json" > "$QS_BUILD/mainline-base.json" &&
	qs_lock mainline-report &&
	jq -e --slurpfile iso "$QS_REPORT/mainline-x86_64-isolcpus.json" \
		--slurpfile review "$QS_BUILD/mainline-review.json" \
		--argjson nc "$(cat "$QS_REPORT/mainline-negative-control.json" 2> /dev/null || echo null)" '
	. + {layouts: {isolcpus: {x86_64: ($iso[0] | {kernel, cmdline: "isolcpus=1-3 (no nohz_full=, no rcu_nocbs=)", scenarios})}},
	     review: $review[0], negative_control: $nc}' \
	"$QS_BUILD/mainline-base.json" > "$QS_REPORT/mainline.json"; then
	t_pass "mainline.json written ($ARCHES)"
else
	t_fail "mainline.json written" "a per-arch report is missing"
fi
t_finish
