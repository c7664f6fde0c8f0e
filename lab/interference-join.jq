# Two plugin boots of the same layout compared row by row (jq module, for
# tests/interference.sh and lab/interference-summary.sh: jq -L lab,
# include "interference-join";).

# steady: a row whose outcome timing cannot change: broadcast (and Debian's
# stock kernel, which broadcasts) on the idle and other-process CPUs.
def steady: (.policy == "broadcast" or .policy == "stock") and
	(.role == "idle" or .role == "other-process");

# difference: |a - b| relative to the larger of a pair of numbers; 0 if
# they are equal, 1 (the largest) if either is missing.
def difference:
	if length != 2 or (map(type) | unique) != ["number"] then 1
	elif .[0] == .[1] then 0
	else ((.[0] - .[1]) | fabs) / (map(fabs) | max) end;

# join_runs($two): each isolated CPU's row of this run (an array of
# lab/interference-report.sh's rows) beside $two's row of the same
# scenario, policy and CPU (joined by key, not by position): the pairs of
# sync calls, sync interruptions, all interruptions, kernel instructions,
# median and shortest sync interruption, and the relative differences of
# the sync calls and the shortest sync interruption.
def join_runs($two):
	($two | map({key: "\(.scenario)/\(.policy)/\(.cpu)", value: .}) | from_entries) as $by_key
	| [.[] | select(.cpu > 0) | [., $by_key["\(.scenario)/\(.policy)/\(.cpu)"]] | {
		row: "\(.[0].scenario)/\(.[0].policy)/cpu\(.[0].cpu)", role: .[0].role,
		steady: (.[0] | steady),
		sync_calls: [.[].sync_calls?],
		sync_interruptions: [.[].interruptions_by.sync?],
		interruptions: [.[].interruptions?],
		kernel_insns: [.[].kernel_insns?],
		median_sync_insns: [.[].stretch_insns.sync.p50?],
		min_sync_insns: [.[].stretch_insns.sync.min?]}
	  | .sync_difference = (.sync_calls | difference)
	  | .min_difference = (.min_sync_insns | difference)];
