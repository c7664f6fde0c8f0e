#!/usr/bin/env bash
# Run the test suites (all, or the ones named) and count their results. Each
# suite is tests/NAME.sh printing "ok ..." / "not ok ..." lines. The last
# line is "N passed, N failed, N skipped", also kept in build/check-summary.
#
# A whole run has three phases: the host suites in order (they build what
# the guests boot), then the guest suites QS_CHECK_JOBS at a time (default
# 2: two TCG guests on this 2-core machine take about 1.3 times one), the
# longest first, then the count of the checker's guest cases (tool-report)
# and the host check. Each suite's results are printed
# together when it ends. Each job's wall time goes to
# build/report/check-times.json; the five slowest are printed at the end.
#
# Usage: tests/run.sh [--list | SUITE...]
# Environment: QS_CHECK_JOBS (guest suites at once; 1 runs them in order).
set -euo pipefail
# shellcheck source=lab/env.sh
. "$(dirname "$0")/../lab/env.sh"

# In dependency order: host checks, then the kernel, then guest runs. The
# host suites are two chains, each in order, side by side: the kernel's
# build keeps both cores busy while the other chain mostly downloads
# (stock kernels, userlands, the 7.3 source) and builds small things.
HOST_CHAIN_KERNEL=(deps source config kernel patches tool)
HOST_CHAIN_OTHER=(shellcheck console-scan ktap-verdict model stock livepatch-build deb-userland)
HOST_SUITES=("${HOST_CHAIN_KERNEL[@]}" "${HOST_CHAIN_OTHER[@]}")
# Independent of each other; each needs only what the host suites built.
# Longest first (warm times of docs/measurements.md, "make check's time,
# change by change", 2026-12-07), so that the short ones
# fill the gaps at the end. A suite whose work splits into independent
# boots is scheduled as SUITE@PART jobs (tests/SUITE.sh PART).
GUEST_JOBS=(package mainline arm64 safety guest-livepatch bench selftests
	guest-livepatch-rt
	guest-livepatch-lines@deb13-6.12/amd64 guest-livepatch-lines@deb13-6.12/rt-amd64
	guest-livepatch-lines@deb12-6.1/amd64 guest-livepatch-lines@deb13-7.3/amd64
	guest-livepatch-lines@deb12-6.1/rt-amd64 guest-livepatch-lines@deb13-7.3/rt-amd64
	interference guest-collapse guest-harness guest-abi)
LAST_SUITES=(tool-report host)
QS_CHECK_JOBS=${QS_CHECK_JOBS:-2}

all_suites() {
	local j
	printf '%s\n' "${HOST_SUITES[@]}"
	for j in "${GUEST_JOBS[@]}"; do printf '%s\n' "${j%%@*}"; done | uniq
	printf '%s\n' "${LAST_SUITES[@]}"
}

# run_job JOB: run one suite (or SUITE@PART) with its output in
# build/tests/JOB.*; its results (named "SUITE: ...") go to JOB.results, its
# wall time to JOB.seconds. Progress lines show live on stderr, prefixed
# with the job's name when jobs run side by side.
run_job() {
	local job=$1 suite=${1%%@*} part='' file log rc=0 start=$SECONDS prefix=''
	[ "$job" = "$suite" ] || part=${job#*@}
	file=$QS_BUILD/tests/${job//\//_}
	log=$file.log
	rm -f "$file.results" "$file.seconds"
	[ "${QS_CHECK_PARALLEL:-0}" -eq 0 ] || prefix="$job: "
	qs_log "check: $job"
	# Progress (stderr) shows live and is kept; results are counted below.
	if "$QS_ROOT/tests/$suite.sh" ${part:+"$part"} 2>&1 > "$log" | tee "$log.stderr" |
		{ grep --line-buffered '^\[' || true; } |
		sed -u "s|^\(\[[0-9:]*\]\) |\1 $prefix|" >&2; then
		rc=0
	else
		rc=${PIPESTATUS[0]}
	fi
	{
		grep -E '^(not )?ok ' "$log" | sed "s/^\(\(not \)\?ok \)/\1$suite: /" || true
		if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$log"; then
			echo "not ok $suite: ${part:+$part: }suite # exited $rc without a failing result"
		fi
		if [ "$rc" -ne 0 ]; then
			# Not a failure of its own when only progress lines were printed.
			sed 's/^/#   /' "$log.stderr" | grep -v '^#   \[' | tail -n 60 || true
		fi
		if ! grep -qE '^(not )?ok ' "$log" && [ "$rc" -eq 0 ]; then
			echo "not ok $suite: ${part:+$part: }suite # reported no result"
		fi
	} > "$file.results"
	echo "$((SECONDS - start))" > "$file.seconds"
	qs_log "check: $job done in $((SECONDS - start)) s"
}

# job_done JOB: print its results and add them to the run's (a job that
# died before writing them is a failure).
job_done() {
	local file=$QS_BUILD/tests/${1//\//_}
	[ -f "$file.results" ] ||
		echo "not ok ${1%%@*}: $1 # the job ended without its results" > "$file.results"
	tee -a "$QS_BUILD/tests/results" < "$file.results"
}

# run_serial JOB...: one after another.
run_serial() {
	local j
	for j in "$@"; do
		run_job "$j"
		job_done "$j"
	done
}

# run_parallel JOB...: QS_CHECK_JOBS at a time, each printed as it ends.
run_parallel() {
	local -A running=()
	local j pid
	export QS_CHECK_PARALLEL=1
	for j in "$@"; do
		while [ "${#running[@]}" -ge "$QS_CHECK_JOBS" ]; do
			wait -n -p pid "${!running[@]}" || true
			job_done "${running[$pid]}"
			unset "running[$pid]"
		done
		run_job "$j" &
		running[$!]=$j
	done
	while [ "${#running[@]}" -gt 0 ]; do
		wait -n -p pid "${!running[@]}" || true
		job_done "${running[$pid]}"
		unset "running[$pid]"
	done
	unset QS_CHECK_PARALLEL
}

# count REGEX FILE: lines of FILE matching REGEX (0 without FILE).
count() {
	local n
	n=$(grep -c -- "$1" "$2" 2> /dev/null) || true
	echo "${n:-0}"
}

# run_chains: the two host chains side by side, each in order; their
# results printed when both have ended (progress shows live).
run_chains() {
	local j chain pids=()
	export QS_CHECK_PARALLEL=1
	for chain in HOST_CHAIN_KERNEL HOST_CHAIN_OTHER; do
		local -n jobs_of=$chain
		( for j in "${jobs_of[@]}"; do run_job "$j"; done ) &
		pids+=($!)
		unset -n jobs_of
	done
	wait "${pids[@]}" || true
	unset QS_CHECK_PARALLEL
	for j in "${HOST_SUITES[@]}"; do
		job_done "$j"
	done
}

# Each job's wall time, slowest first, and the run's, as JSON.
write_times() {
	local total=$1 j file
	shift
	for j in "$@"; do
		file=$QS_BUILD/tests/${j//\//_}
		jq -n --arg job "$j" --arg suite "${j%%@*}" \
			--argjson seconds "$(cat "$file.seconds" 2> /dev/null || echo null)" \
			--argjson passed "$(count '^ok ' "$file.results")" \
			--argjson failed "$(count '^not ok ' "$file.results")" \
			'{job: $job, suite: $suite, seconds: $seconds, passed: $passed, failed: $failed}'
	done | jq -s --argjson total "$total" --argjson jobs "$QS_CHECK_JOBS" \
		'{total_seconds: $total, guest_jobs_at_once: $jobs,
		  suites: (group_by(.suite) | map({suite: .[0].suite,
			seconds: (map(.seconds // 0) | add), passed: (map(.passed) | add),
			failed: (map(.failed) | add)}) | sort_by(-.seconds)),
		  jobs: sort_by(-(.seconds // 0))}' > "$QS_REPORT/check-times.json"
	echo "# the five slowest jobs (build/report/check-times.json; whole run $((total / 60)) min $((total % 60)) s):"
	jq -r '.jobs[:5][] | "#   \(.seconds / 60 | floor) min \(.seconds % 60) s  \(.job)"' \
		"$QS_REPORT/check-times.json"
}

main() {
	local suites=("$@") out passed failed skipped s start=$SECONDS
	local -a guest=() jobs=()
	if [ "${1:-}" = --list ]; then
		all_suites
		return 0
	fi
	[[ $QS_CHECK_JOBS =~ ^[1-9][0-9]*$ ]] ||
		qs_die "QS_CHECK_JOBS=$QS_CHECK_JOBS: a number of jobs, 1 or more"
	for s in "${suites[@]}"; do
		[ -x "$QS_ROOT/tests/$s.sh" ] ||
			qs_die "no test suite '$s' (tests/run.sh --list names them)"
	done
	mkdir -p "$QS_BUILD/tests" "$QS_REPORT"
	# Every suite may need the lab's packages: install them first.
	"$QS_ROOT/lab/deps.sh"
	# What the lab must not change on the host, for tests/host.sh to
	# compare at the end of a whole run (a partial run has no record).
	rm -f "$QS_BUILD/tests/host-before.txt"
	if [ $# -eq 0 ]; then
		"$QS_ROOT/lab/host-state.sh" > "$QS_BUILD/tests/host-before.txt"
	fi
	out=$QS_BUILD/tests/results
	: > "$out"
	if [ $# -gt 0 ]; then
		# The suites named, in order, each whole.
		run_serial "${suites[@]}"
		jobs=("${suites[@]}")
	else
		guest=("${GUEST_JOBS[@]}")
		if [ "$QS_CHECK_JOBS" -eq 1 ]; then
			run_serial "${HOST_SUITES[@]}"
			run_serial "${guest[@]}"
		else
			qs_log "check: host suites, two chains side by side"
			run_chains
			qs_log "check: guest suites, $QS_CHECK_JOBS at a time"
			run_parallel "${guest[@]}"
		fi
		run_serial "${LAST_SUITES[@]}"
		jobs=("${HOST_SUITES[@]}" "${guest[@]}" "${LAST_SUITES[@]}")
	fi
	write_times "$((SECONDS - start))" "${jobs[@]}" ||
		echo "# no time report: writing $QS_REPORT/check-times.json failed"
	passed=$(grep -E '^ok ' "$out" | grep -vc '# SKIP' || true)
	skipped=$(grep -cE '^ok .*# SKIP' "$out" || true)
	failed=$(grep -c '^not ok ' "$out" || true)
	echo "$passed passed, $failed failed, $skipped skipped" | tee "$QS_BUILD/check-summary"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main "$@"
