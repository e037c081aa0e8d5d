# Sourced by the benchmark scripts: codef-emulator started in the background on 127.0.0.1 and
# stopped by its PID.
#   start_emulator BUILD WORK SEED_IDS [LAUNCHER...]   its CA in WORK/ca.pem, its output in
#       WORK/emulator.out; sets emulator_pid, api_url and oauth_url, or exits 1 (LAUNCHER: e.g.
#       taskset -c 1)
#   stop_emulator                                      TERM, up to 5 s, then KILL
#   clean_up_on_exit WORK                              at exit: the emulator stopped, WORK removed
emulator_pid=""
emulator_work=""

clean_up_on_exit() {
    emulator_work=$1
    trap 'stop_emulator; rm -rf "$emulator_work"' EXIT
}

start_emulator() {
    local build=$1 work=$2 seed=$3
    shift 3
    "$@" "$build/codef-emulator" --address 127.0.0.1 --port 0 --ca-out "$work/ca.pem" \
        --seed-ids "$seed" >"$work/emulator.out" 2>&1 &
    emulator_pid=$!
    for _ in $(seq 100); do
        grep -q '^ready' "$work/emulator.out" && break
        kill -0 "$emulator_pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^ready' "$work/emulator.out" || {
        echo "$(basename "$0"): the emulator did not start" >&2
        cat "$work/emulator.out" >&2
        exit 1
    }
    api_url=$(sed -n 's/^api_url=//p' "$work/emulator.out")
    oauth_url=$(sed -n 's/^oauth_url=//p' "$work/emulator.out")
}

stop_emulator() {
    [ -n "$emulator_pid" ] || return 0
    kill "$emulator_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$emulator_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
    emulator_pid=""
}
