#!/usr/bin/env bash
# run.sh - run each libFuzzer harness for a bounded time; one line of figures per harness.
#
# Usage: tests/fuzz/run.sh SECONDS build-fuzz/fuzz_NAME...
# Called by `make fuzz` and `make fuzz-smoke` (part of `make test`). A harness starts from
# its seeds in tests/fuzz/corpus/NAME/, which are only read, and from what earlier runs
# kept in build-fuzz/corpus/NAME/, where new inputs go. Its output goes to
# build-fuzz/NAME.log. A crash, leak, timeout or out-of-memory leaves the input that
# caused it in build-fuzz/NAME-crash-* (or -leak-, -timeout-, -oom-) and prints the end
# of the log; every harness still gets its turn, then the run fails. A crash found
# becomes a unit test (STYLE 3.17) before it is fixed.
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 SECONDS FUZZER..." >&2
    exit 2
fi
seconds=$1
shift

# The figure named $1 in the final stats of the log $2.
figure() {
    sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

passed=0
failed=0
for fuzzer in "$@"; do
    name=${fuzzer##*/fuzz_}
    corpus=build-fuzz/corpus/$name
    seeds=tests/fuzz/corpus/$name
    log=build-fuzz/$name.log
    mkdir -p "$corpus"
    dirs=("$corpus")
    if [ -d "$seeds" ]; then
        dirs+=("$seeds")
    fi
    # -timeout: one input taking 10 s is a hang. -rss_limit_mb is libFuzzer's default,
    # written out because an input that makes a harness hold that much is a bug too.
    "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="build-fuzz/$name-" "${dirs[@]}" >"$log" 2>&1
    status=$?
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        # "#827573 DONE cov: 83 ft: 343 corp: 94/3511b ..." and "Done 827573 runs in 11 second(s)"
        done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
        printf 'fuzz %s: %s runs in %s s (%s/s), %s edges covered, corpus %s inputs, no crash\n' \
            "$name" "$(figure number_of_executed_units "$log")" \
            "$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")" \
            "$(figure average_exec_per_sec "$log")" \
            "$(printf '%s\n' "$done_line" | sed -n 's/.* cov: \([0-9]*\) .*/\1/p')" \
            "$(printf '%s\n' "$done_line" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')"
    else
        failed=$((failed + 1))
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        tail -n 40 "$log" >&2
        printf 'fuzz %s: FAILED (exit %s), input in %s, log in %s\n' \
            "$name" "$status" "${artifact:-(none written)}" "$log" >&2
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
