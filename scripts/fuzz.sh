#!/usr/bin/env bash
# Builds the fuzz flavour (clang 14, libFuzzer, ASan, UBSan) and runs each fuzz target of
# test/fuzz for a number of executions or seconds, starting from its seed corpus.
#   scripts/fuzz.sh [--runs N] [--seconds S] [--no-build] [targets...]
# Targets: form_decode envelope token_reply jwt_exp endpoint ndjson_resume id_file emulator_request
# (default: all). Each runs N executions (default 10,000,000), or S seconds, or, given both,
# until the first of the two. Prints, per target, the executions done and whether it crashed; a
# crashing input goes to build/fuzz/artifacts/. New inputs the fuzzer finds go to
# build/fuzz/corpus/<target>/ (test/fuzz/corpus/ is only read). Exits 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(form_decode envelope token_reply jwt_exp endpoint ndjson_resume id_file emulator_request)
runs=
seconds=
build=1
targets=()
while (($#)); do
    case "$1" in
        --runs) runs=${2:?--runs needs a number}; shift 2 ;;
        --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")
[[ -n $runs || -n $seconds ]] || runs=10000000
for t in "${targets[@]}"; do
    [[ -d test/fuzz/corpus/$t ]] || { echo "fuzz.sh: unknown target $t" >&2; exit 2; }
done

# Longest input per target: room for the largest seeds and for the structure each decoder
# reads; longer inputs only slow the search down.
max_len() {
    case "$1" in
        endpoint|jwt_exp) echo 1024 ;;
        ndjson_resume|id_file) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

if ((build)); then
    fuzzers=()
    for t in "${targets[@]}"; do fuzzers+=("fuzz_$t"); done
    scripts/build.sh fuzz "${fuzzers[@]}"
fi

out=build/fuzz
mkdir -p "$out/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=()
for t in "${targets[@]}"; do
    bin="$out/test/fuzz/fuzz_$t"
    [[ -x $bin ]] || { echo "fuzz.sh: $bin is not built" >&2; exit 2; }
    mkdir -p "$out/corpus/$t"
    log="$out/fuzz_$t.log"
    limit=()
    [[ -n $runs ]] && limit+=(-runs="$runs")
    [[ -n $seconds ]] && limit+=(-max_total_time="$seconds")
    echo "=== fuzz $t: ${limit[*]}, log in $log"
    rc=0
    "$bin" "${limit[@]}" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
        "$out/corpus/$t" "test/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if ((rc == 0)); then
        line="$t: ${execs:-?} executions (${rate:-?}/s), no crash"
    else
        status=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        line="$t: ${execs:-?} executions (${rate:-?}/s), CRASH (exit $rc): ${artifact:-see $log}"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*invariant does not hold)' "$log" |
            head -5 | sed 's/^/    /' || true
    fi
    echo "$line"
    summary+=("$line")
done

echo "=== fuzz summary"
printf '%s\n' "${summary[@]}"
exit "$status"
