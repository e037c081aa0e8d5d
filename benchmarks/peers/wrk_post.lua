-- wrk script for benchmarks/compare.sh: the ceiling. POSTs one fixed body with a fixed Bearer
-- token and stops after a number of calls, so that wrk makes as many calls as the clients do
-- instead of running for a time.
--   wrk -t 1 -c C -d LIMIT -s wrk_post.lua URL -- CALLS BODY_FILE TOKEN
-- wrk never refreshes the token: after a revoke every reply is a 401, counted in "non2xx".
-- first_call_ms, for the cold start: from the script's load in wrk's main state (right after wrk
-- parsed its arguments and set up TLS, which verifies nothing) to the first 200 reply.
--
-- A thread that calls wrk.thread:stop() stops sending, but wrk's main thread sleeps for the
-- whole -d LIMIT all the same and reports that as the duration. So the thread times its own
-- calls (LuaJIT's FFI reaches clock_gettime) and, once they are made, sends wrk the SIGINT that
-- ends the main thread's sleep early. That works for one thread only: with more, the first to
-- finish would end the others' run.

local ffi = require("ffi")
ffi.cdef [[
    struct wrk_post_timespec { long tv_sec; long tv_nsec; };
    int clock_gettime(int clock, struct wrk_post_timespec *ts);
    int getpid(void);
    int kill(int pid, int sig);
]]
local CLOCK_MONOTONIC, SIGINT = 1, 2

local function now_s()
    local ts = ffi.new("struct wrk_post_timespec")
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local quota, calls_seen, unauthorized, started = 0, 0, 0, 0
-- Run in every Lua state wrk makes: the main state's is the earliest, and setup() hands it to
-- the thread as the global main_loaded.
local loaded = now_s()
local first_seen = false

local function read_all(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return (s:gsub("[\r\n]+$", ""))
end

-- Runs in each thread's own Lua state; wrk formats the request from wrk.* after it returns.
function init(args)
    quota = assert(tonumber(args[1]), "wrk_post.lua: the first script argument is the calls")
    wrk.method = "POST"
    wrk.body = read_all(args[2])
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer " .. args[3]
    -- wrk calls init just before it starts the thread, which then connects: the same span
    -- as the other clients' call phase, connections included.
    started = now_s()
end

-- Runs in the main state once per thread, before init; done() reads what each counted.
local threads = {}
function setup(thread)
    assert(#threads == 0, "wrk_post.lua: run wrk with -t 1")
    threads[1] = thread
    thread:set("main_loaded", loaded)
end

-- Defining response() makes wrk call Lua for every reply: a small cost, but the only way to
-- stop after a count.
function response(status)
    calls_seen = calls_seen + 1
    if status == 200 and not first_seen then
        first_seen = true
        wrk.thread:set("first_call_ms", (now_s() - (main_loaded or loaded)) * 1000)
    end
    if status == 401 then
        unauthorized = unauthorized + 1
        wrk.thread:set("unauthorized", unauthorized)
    end
    if calls_seen == quota then
        wrk.thread:set("wall_s", now_s() - started)
        wrk.thread:set("calls", calls_seen)
        wrk.thread:stop()
        ffi.C.kill(ffi.C.getpid(), SIGINT)
    end
end

-- Runs once, in the main state, after the threads stop: one JSON line for compare.sh. The
-- replies that were already on their way when the thread stopped are left out of the rate.
function done(summary, latency)
    local e = summary.errors
    local t = threads[1]
    local unauth = t:get("unauthorized") or 0
    -- Without the thread's own figures (the -d LIMIT ran out first), wrk's are the run's.
    local calls = t:get("calls") or summary.requests
    local seconds = t:get("wall_s") or summary.duration / 1e6
    io.write(string.format(
        'WRK_JSON {"calls":%d,"wall_s":%.6f,"calls_per_s":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
        '"p999_ms":%.3f,"errors":%d,"non2xx":%d,"unauthorized":%d,"socket_errors":%d,' ..
        '"first_call_ms":%.3f}\n',
        calls, seconds, calls / seconds,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        latency:percentile(99.9) / 1000,
        e.status + e.connect + e.read + e.write + e.timeout, e.status, unauth,
        e.connect + e.read + e.write + e.timeout, t:get("first_call_ms") or -1))
end
