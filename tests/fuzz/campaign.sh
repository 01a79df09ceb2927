#!/usr/bin/env bash
# A long fuzzing campaign: every harness (or those named) until RUNS executions or SECONDS
# seconds, whichever first, JOBS harnesses at a time; then one summary line per harness
# (the figures docs/robustness.md records).  Build first: make fuzz-build
#   tests/fuzz/campaign.sh [-j JOBS] [-r RUNS] [-t SECONDS] [name ...]
# Corpora grow in build/fuzz/corpus/<name>/, logs go to build/fuzz/campaign/<name>.log,
# crashes to build/fuzz/artifacts/.
set -uo pipefail
JOBS=2 RUNS=10000000 SECS=3600
while getopts "j:r:t:" o; do
	case $o in j) JOBS=$OPTARG ;; r) RUNS=$OPTARG ;; t) SECS=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=(boot_mb2 elf cmdline efi_cmdline efi_memmap dtable_check memmap vmx_caps gpt pmm ept mmio_decode vlapic exit_decode acpi)
DIR=build/fuzz
mkdir -p "$DIR/campaign" "$DIR/artifacts"

run_one() {
	local n=$1
	mkdir -p "$DIR/corpus/$n"
	"$DIR/fuzz_$n" -runs="$RUNS" -max_total_time="$SECS" -print_final_stats=1 \
		-artifact_prefix="$DIR/artifacts/$n-" "$DIR/corpus/$n" "tests/fuzz/corpus/$n" \
		>"$DIR/campaign/$n.log" 2>&1
	echo "$n: exit $?" >>"$DIR/campaign/status"
}

: >"$DIR/campaign/status"
for n in "${NAMES[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 5; done
	run_one "$n" &
done
wait

printf '%-12s %12s %8s %6s %6s %8s %s\n' harness executions exec/s cov ft corpus result
for n in "${NAMES[@]}"; do
	log="$DIR/campaign/$n.log"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
	res=$(grep -q '^Done' "$log" && echo ok || echo "FAILED (see $log)")
	printf '%-12s %12s %8s %6s %6s %8s %s\n' "$n" "$runs" "$eps" "$cov" "$ft" "$corp" "$res"
done
