"""results.py: the bookkeeping of benchmarks/compare.sh, with the standard library only (run it
with /usr/bin/python3).

    results.py record RUNS.jsonl key=value...   appends one run (see record() for the keys)
    results.py report RUNS.jsonl OUT_DIR META.json
        writes OUT_DIR/compare.md and, through gnuplot, OUT_DIR/compare.png; prints the Markdown

A row of the report is one client in one scenario. Its figures come from one run, so that they
add up: the run with the median rate (cold start: the median time to the first call; of an even
number, the lower of the two middle ones) among the client's completed runs. A run failed when
it exited non-zero, printed no report, or (outside the token storm) reported a failed call; failed
runs are left out of that choice and counted, as is the largest error count of any run. The
min-max columns span the completed runs. Where no run completed, the row is taken from the
failed runs and says so.
"""

import json
import os
import statistics
import subprocess
import sys

CLIENTS = ["codef", "wrk", "curl_multi", "easycodef-node", "easycodef-node-nodelay", "aiohttp"]
LABELS = {
    "codef": "codef (this library)",
    "wrk": "wrk (ceiling)",
    "curl_multi": "libcurl multi (C)",
    "easycodef-node": "easycodef-node (official)",
    "easycodef-node-nodelay": "easycodef-node, setNoDelay",
    "aiohttp": "aiohttp (Python)",
}
# Two lines under each bar of the chart.
CHART_LABELS = {
    "codef": "codef\\n(this library)",
    "wrk": "wrk\\n(ceiling)",
    "curl_multi": "libcurl\\n(multi, C)",
    "easycodef-node": "easycodef-\\nnode\\n(official)",
    "easycodef-node-nodelay": "easycodef-\\nnode\\n(setNoDelay)",
    "aiohttp": "aiohttp\\n(Python)",
}
# The emulator runs pinned to one core: past this share of it, it is the bottleneck.
SATURATED = 0.9


def tool_output(path):
    """The JSON line a client printed last (wrk's is prefixed by its script)."""
    found = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line.startswith("WRK_JSON "):
                    line = line[len("WRK_JSON "):]
                if line.startswith("{"):
                    try:
                        found = json.loads(line)
                    except ValueError:
                        pass
    except OSError:
        pass
    return found


def read_json(path):
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def record(runs_file, kv):
    """Keys: scenario client round calls concurrency rc wall_ns server_ticks stdout time_file
    stats_file storm_file callgrind_file delay_ms server_peak_kib."""
    r = {k: kv.get(k) for k in ("scenario", "client")}
    for k in ("round", "calls", "concurrency", "rc", "wall_ns", "server_ticks", "delay_ms",
              "server_peak_kib"):
        r[k] = int(kv[k]) if kv.get(k) not in (None, "") else None
    r["wall_s"] = r.pop("wall_ns") / 1e9 if r.get("wall_ns") is not None else None
    ticks = r.pop("server_ticks")
    r["server_cpu_s"] = ticks / os.sysconf("SC_CLK_TCK") if ticks is not None else None
    peak = r.pop("server_peak_kib")
    r["server_peak_rss_mib"] = peak / 1024.0 if peak else None
    r["tool"] = tool_output(kv["stdout"]) if kv.get("stdout") else None
    if kv.get("time_file") and os.path.exists(kv["time_file"]):
        # /usr/bin/time -f '%e %U %S %M': the whole client process, its children included.
        with open(kv["time_file"], encoding="utf-8") as f:
            fields = f.read().split()
        try:
            e, u, s, m = (float(x) for x in fields[-4:])
            r["process"] = {"wall_s": e, "cpu_s": u + s, "peak_rss_mib": m / 1024.0}
        except ValueError:
            r["process"] = None
    r["stats"] = read_json(kv.get("stats_file"))
    r["storm"] = read_json(kv.get("storm_file"))
    if kv.get("callgrind_file") and os.path.exists(kv["callgrind_file"]):
        with open(kv["callgrind_file"], encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    r["instructions"] = int(line.split()[1])
    with open(runs_file, "a", encoding="utf-8") as f:
        f.write(json.dumps(r) + "\n")
    progress(r)
    return r


def progress(r):
    """One line on stderr per run, so that a long comparison shows where it is."""
    t = r.get("tool") or {}
    parts = [f"{r['scenario']:<10} {r['client']:<15} round {r['round']}:"]
    if r["scenario"] == "callgrind":
        parts.append(f"{r.get('instructions', 0):,} instructions for {r['calls']} calls")
    elif r["scenario"] == "sweep":
        parts.append(f"{(t or {}).get('lines', 0):,} lines, "
                     f"{r['calls'] / r['wall_s'] if r.get('wall_s') else 0:,.0f} calls/s")
    elif r["scenario"] == "cold":
        parts.append(f"{r['wall_s'] * 1000:.1f} ms, first call "
                     f"{t.get('first_call_ms', -1) if t else -1:.1f} ms")
    elif r["scenario"] == "slow" and t:
        p = r.get("process") or {}
        parts.append(f"{r['concurrency']} in flight: {t.get('calls_per_s', 0):,.0f} calls/s, "
                     f"errors {t.get('errors')}, peak RSS {p.get('peak_rss_mib', 0):,.1f} MiB")
    elif t:
        parts.append(f"{t.get('calls_per_s', 0):,.0f} calls/s, errors {t.get('errors')}")
    if r.get("server_cpu_s") is not None and r.get("wall_s"):
        parts.append(f"emulator {r['server_cpu_s'] / r['wall_s']:.2f} cores")
    if r.get("storm"):
        s = r["storm"]
        parts.append("storm: " + ("not started" if "before" not in s else
                                  f"recovered in {s['recovery_s'] * 1000:.0f} ms"
                                  if s.get("recovery_s") is not None else "no recovery"))
    if not t:
        parts.append("NO OUTPUT")
    if r.get("rc"):
        parts.append(f"exit {r['rc']}")
    print(" ".join(parts), file=sys.stderr)


# ---------------------------------------------------------------------------------------------


def fmt(v, digits=0, suffix=""):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    return f"{v:,.{digits}f}{suffix}"


def flag(n):
    """A count that should be zero: marked when it is not."""
    if n is None:
        return "—"
    return f"⚠ {n:,}" if n else "0"


def tool(r, key):
    return (r.get("tool") or {}).get(key)


def server_cores(r):
    if r.get("server_cpu_s") is None or not r.get("wall_s"):
        return None
    return r["server_cpu_s"] / r["wall_s"]


def failed(r):
    """Exited non-zero, printed no report, or reported a failed call. In the storm, exit status 1
    with a report is the client saying that calls failed (those that cannot refresh a token fail
    every call after the revoke): that run completed, and its failed calls are the figure."""
    if r.get("tool") is None:
        return True
    if r["scenario"] == "storm":
        return r.get("rc") not in (0, 1)
    return r.get("rc") != 0 or (tool(r, "errors") or 0) > 0


def pick(rs, key):
    """One run of rs for a row: the run with the median key among the completed runs (of an even
    number, the lower middle one); where none completed, among the failed runs that reported.
    Returns (run, from_failed_runs)."""
    for pool, from_failed in (([r for r in rs if not failed(r)]), False), \
                             (([r for r in rs if r.get("tool") is not None]), True):
        pool = [r for r in pool if key(r) is not None]
        if pool:
            pool.sort(key=key)
            return pool[(len(pool) - 1) // 2], from_failed
    return None, False


def spread(rs, key):
    """min, max and (max - min) / median of key over the completed runs."""
    vals = sorted(v for v in (key(r) for r in rs if not failed(r)) if v is not None)
    if not vals:
        return None, None, None
    m = statistics.median(vals)
    return vals[0], vals[-1], ((vals[-1] - vals[0]) / m if m else None)


def bookkeeping(rs):
    """runs, failed runs, and the largest error count of any run that reported one."""
    errs = [tool(r, "errors") for r in rs if tool(r, "errors") is not None]
    return {"runs": len(rs), "failed": sum(1 for r in rs if failed(r)),
            "max_errors": max(errs) if errs else None,
            "no_report": sum(1 for r in rs if r.get("tool") is None)}


def books_cells(b):
    failed_cell = flag(b["failed"])
    if b["no_report"]:
        failed_cell += f" ({b['no_report']} without a report)"
    return f"{b['runs']} | {failed_cell} | {flag(b['max_errors'])}"


def range_cell(lo, hi, rel, digits=0):
    if lo is None:
        return "—", "—"
    return f"{fmt(lo, digits)}–{fmt(hi, digits)}", (f"{rel:.0%}" if rel is not None else "—")


def by_scenario(runs, scenario):
    out = {}
    for c in CLIENTS:
        rs = [r for r in runs if r["scenario"] == scenario and r["client"] == c]
        if rs:
            out[c] = rs
    return out


def rate(r):
    return tool(r, "calls_per_s")


def busy(r):
    """The share of one core the client used during its timed calls."""
    cpu, wall = tool(r, "cpu_s"), tool(r, "wall_s")
    if r["client"] == "wrk" or cpu is None:
        p = r.get("process") or {}
        cpu, wall = p.get("cpu_s"), p.get("wall_s")
    return cpu / wall if cpu is not None and wall else None


def cpu_per_10k(r):
    if r["client"] == "wrk":  # wrk has no call phase of its own: the whole process is its cost
        return (r["process"]["cpu_s"] * 10000.0 / r["calls"]) if r.get("process") else None
    return tool(r, "cpu_s_per_10k_calls")


def steady_rows(runs):
    rows = {}
    for c, rs in by_scenario(runs, "throughput").items():
        r, from_failed = pick(rs, rate)
        lo, hi, rel = spread(rs, rate)
        row = {"books": bookkeeping(rs), "from_failed": from_failed, "min": lo, "max": hi,
               "spread": rel, "run": r}
        if r:
            st = r.get("stats") or {}
            # The stats request itself came in on a new connection with a full handshake.
            row.update({
                "calls_per_s": rate(r),
                "p50_ms": tool(r, "p50_ms"),
                "p99_ms": tool(r, "p99_ms"),
                "errors": tool(r, "errors"),
                "cpu_call": cpu_per_10k(r),
                "cpu_process": (r["process"]["cpu_s"] * 10000.0 / r["calls"])
                if r.get("process") else None,
                "busy": busy(r),
                "rss": (r.get("process") or {}).get("peak_rss_mib"),
                "connections": st.get("connections_accepted", 0) - 1 if st else None,
                "handshakes": st.get("tls_handshakes", 0) - 1 if st else None,
                "resumed": st.get("tls_resumed") if st else None,
                "tokens": st.get("token_requests") if st else None,
                "server": server_cores(r),
                "nodelay_sockets": tool(r, "nodelay_sockets"),
            })
        rows[c] = row
    return rows


def storm_rows(runs):
    rows = {}
    for c, rs in by_scenario(runs, "storm").items():
        done = [r for r in rs if not failed(r)]
        started = [r for r in done if (r.get("storm") or {}).get("before") and r.get("stats")]
        r, from_failed = pick(rs, rate)
        recovered = sorted(r2["storm"]["recovery_s"] * 1000.0 for r2 in started
                           if r2["storm"].get("recovery_s") is not None)
        row = {"books": bookkeeping(rs), "from_failed": from_failed, "run": r,
               "started": len(started), "completed": len(done), "recovered": recovered,
               "tokens_max": None}
        tokens = [r2["stats"]["token_requests"] - r2["storm"]["before"]["token_requests"]
                  for r2 in started]
        if tokens:
            row["tokens_max"] = max(tokens)
        if r:
            s = r.get("storm") or {}
            before, final = s.get("before"), r.get("stats")
            row.update({"calls_per_s": rate(r), "errors": tool(r, "errors"),
                        "server": server_cores(r), "storm_started": bool(before and final)})
            if before and final:
                rec = s.get("recovery_s")
                row.update({
                    "tokens": final["token_requests"] - before["token_requests"],
                    "unauthorized": final["unauthorized"] - before["unauthorized"],
                    "calls_after": final["api_requests"] - before["api_requests"],
                    "revoked_at": before["api_requests"],
                    "recovery_ms": rec * 1000.0 if rec is not None else "never",
                })
        rows[c] = row
    return rows


def first_ms(r):
    v = tool(r, "first_call_ms")
    return v if v is not None and v >= 0 else None


def cold_rows(runs):
    rows = {}
    for c, rs in by_scenario(runs, "cold").items():
        r, from_failed = pick(rs, first_ms)
        lo, hi, rel = spread(rs, first_ms)
        rows[c] = {"books": bookkeeping(rs), "from_failed": from_failed, "run": r,
                   "min": lo, "max": hi, "spread": rel,
                   "first_ms": first_ms(r) if r else None,
                   "wall_ms": r["wall_s"] * 1000.0 if r and r.get("wall_s") else None}
    return rows


def slow_rows(runs, delay_ms):
    """{concurrency: {client: row}}"""
    out = {}
    slow = [r for r in runs if r["scenario"] == "slow"]
    for size in sorted({r["concurrency"] for r in slow}):
        rows = {}
        for c, rs in by_scenario([r for r in slow if r["concurrency"] == size], "slow").items():
            r, from_failed = pick(rs, rate)
            lo, hi, rel = spread(rs, rate)
            delay = (r or rs[0]).get("delay_ms") or delay_ms
            ideal = size * 1000.0 / delay if delay else None
            row = {"books": bookkeeping(rs), "from_failed": from_failed, "run": r, "min": lo,
                   "max": hi, "spread": rel, "ideal": ideal, "calls": rs[0]["calls"]}
            if r:
                p = r.get("process") or {}
                st = r.get("stats") or {}
                cpu = tool(r, "cpu_s")
                row.update({
                    "calls_per_s": rate(r),
                    "of_ideal": rate(r) / ideal if ideal and rate(r) else None,
                    "p50_ms": tool(r, "p50_ms"), "p99_ms": tool(r, "p99_ms"),
                    "errors": tool(r, "errors"),
                    "rss": p.get("peak_rss_mib"),
                    "rss_per_call_kib": p["peak_rss_mib"] * 1024.0 / size
                    if p.get("peak_rss_mib") else None,
                    "cpu_ms_call": cpu * 1000.0 / r["calls"] if cpu is not None else None,
                    "cpu_ms_call_process": p["cpu_s"] * 1000.0 / r["calls"]
                    if p.get("cpu_s") is not None else None,
                    "connections": st.get("connections_accepted", 0) - 1 if st else None,
                    "tokens": st.get("token_requests") if st else None,
                    "server": server_cores(r),
                    "server_rss": r.get("server_peak_rss_mib"),
                })
            rows[c] = row
        out[size] = rows
    return out


def callgrind_rows(runs):
    rows = {}
    for c in CLIENTS:
        rs = [r for r in runs if r["scenario"] == "callgrind" and r["client"] == c]
        full = [r for r in rs if r.get("instructions") and r["calls"] > 1]
        one = [r for r in rs if r.get("instructions") and r["calls"] == 1]
        if not full:
            continue
        f = full[-1]
        row = {"calls": f["calls"], "concurrency": f["concurrency"], "total": f["instructions"],
               "per_call": f["instructions"] / f["calls"], "marginal": None}
        if one:
            row["marginal"] = (f["instructions"] - one[-1]["instructions"]) / (f["calls"] - 1)
        rows[c] = row
    return rows


def label(c, row):
    return LABELS[c] + (" ⚠ from failed runs" if row.get("from_failed") else "")


def report(runs_file, out_dir, meta_file):
    with open(runs_file, encoding="utf-8") as f:
        runs = [json.loads(line) for line in f if line.strip()]
    meta = read_json(meta_file) or {}
    os.makedirs(out_dir, exist_ok=True)
    md = ["# codef against its peers", ""]
    md.append(
        f"{meta.get('date', '')}, commit {meta.get('commit', '?')}, {meta.get('cpu', '')}, "
        f"{meta.get('cores', '?')} cores. Emulator (`codef-emulator`, {meta.get('emulator_threads', 1)} "
        f"thread) over TLS on 127.0.0.1, pinned to core {meta.get('server_core', '?')}; every client "
        f"pinned to core {meta.get('client_core', '?')}. Product path `{meta.get('path', '')}`, one JSON "
        f"body for all: `{meta.get('body', '')}`. {meta.get('rounds', '?')} interleaved rounds. "
        "Every client trusts the emulator's CA alone (given as a file; no system bundle is "
        "loaded; wrk verifies no certificate).")
    md.append("")
    md.append(
        "How to read a row: its figures come from one run, the client's run with the median rate "
        "(cold start: the median time to the first call; of an even number, the lower middle "
        "one), so that they add up. Only completed runs are chosen from: a run failed when it "
        "exited non-zero, printed no report or (outside the token storm) reported a failed call; "
        "`failed runs` counts them (⚠ when not 0), `most errors` is the largest count of failed "
        "calls in any run. min–max spans the completed runs, and spread is (max − min) / median. "
        "A row marked \"from failed runs\" had no completed run.")
    md.append("")
    md.append("Versions: " + ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items()))
    md.append("")

    steady = steady_rows(runs)
    if steady:
        wrk = (steady.get("wrk") or {}).get("calls_per_s")
        md += [f"## Steady throughput: {meta.get('calls', '?')} calls at concurrency "
               f"{meta.get('concurrency', '?')}", ""]
        md.append("| client | runs | failed runs | most errors | calls/s | calls/s min–max | "
                  "spread | × wrk | p50 ms | p99 ms | CPU s / 10k calls | CPU s / 10k (whole "
                  "process) | client core busy | peak RSS MiB | connections | TLS full "
                  "handshakes | TLS resumed | token requests | emulator CPU (cores) |")
        md.append("|" + "---|" * 19)
        saturated = []
        for c, row in steady.items():
            if not row["run"]:
                md.append(f"| {LABELS[c]} | {books_cells(row['books'])} |" + " — |" * 16)
                continue
            ratio = row["calls_per_s"] / wrk if wrk and row["calls_per_s"] else None
            server = row["server"]
            mark = ""
            if server is not None and server >= SATURATED:
                mark = " ‡"
                saturated.append(LABELS[c])
            rng, rel = range_cell(row["min"], row["max"], row["spread"])
            md.append(
                f"| {label(c, row)} | {books_cells(row['books'])} | {fmt(row['calls_per_s'])} | "
                f"{rng} | {rel} | {fmt(ratio, 2) + mark if ratio is not None else '—'} | "
                f"{fmt(row['p50_ms'], 2)} | {fmt(row['p99_ms'], 2)} | {fmt(row['cpu_call'], 3)} | "
                f"{fmt(row['cpu_process'], 3)} | {fmt(row['busy'], 2)} | {fmt(row['rss'], 1)} | "
                f"{fmt(row['connections'])} | {fmt(row['handshakes'])} | {fmt(row['resumed'])} | "
                f"{fmt(row['tokens'])} | {fmt(server, 2)}{mark} |")
        md.append("")
        md.append(
            "The timed window of every client starts once it holds its token (wrk is handed one; "
            "the others ask for it first) and before its first API call, so that opening its "
            "connections is inside the window for all (aiohttp reuses the connection of its "
            "token request). CPU s / 10k calls: the client's own CPU during its timed calls "
            "(getrusage, process.cpuUsage, time.process_time; wrk: its whole process). Whole "
            "process: `/usr/bin/time`, start-up and token included. Client core busy: that CPU "
            "over the window's wall time (1.00: the client's core was the limit). Peak RSS: "
            "`/usr/bin/time`. Connections, handshakes, resumptions and token requests: the "
            "emulator's counters, reset before each run, the stats request that reads them taken "
            "off. wrk's TLS sessions are not resumed. Latency for wrk is its own (from write to "
            "reply); for the others, from the call's start, waiting for a connection included.")
        if saturated:
            md.append("")
            md.append(
                "‡ The emulator was saturated (≥ {:.0%} of its core) during these runs: {}. "
                "Their rate is the server's limit, not the client's, and a ratio to wrk that is "
                "near 1 says only that both reached it.".format(SATURATED, ", ".join(saturated)))
            if LABELS["wrk"] in saturated:
                md.append(
                    "As wrk saturated the emulator, its rate is the server's limit: the ratios "
                    "compare each client with that limit rather than with a client-side ceiling.")
        md.append("")
        md += node_notes(steady)

    storm = storm_rows(runs)
    if storm:
        target = meta.get("storm_concurrency", "?")
        md += [f"## Token storm: all tokens revoked with {target} "
               f"calls in flight ({meta.get('storm_calls', '?')} calls, revoked after "
               f"{meta.get('storm_after', '?')})", ""]
        md.append("| client | runs | failed runs | most errors | calls/s (whole run) | failed "
                  "calls | revoked at call | calls after the revoke | 401 replies after the "
                  "revoke | token requests after the revoke (this run / most in a run) | time to "
                  f"{target} good calls after the revoke, ms | runs that recovered, and their "
                  "times (ms) | emulator CPU (cores) |")
        md.append("|" + "---|" * 13)
        for c, row in storm.items():
            note = "" if row["started"] == row["completed"] else \
                f" (storm started in {row['started']} of {row['completed']} completed runs)"
            rec = row["recovered"]
            rec_cell = f"{len(rec)} of {row['started']}"
            if rec:
                rec_cell += f": {fmt(rec[0], 1)}–{fmt(rec[-1], 1)}"
            if not row["run"] or not row.get("storm_started"):
                md.append(f"| {label(c, row)}{note} | {books_cells(row['books'])} | "
                          f"{fmt(row.get('calls_per_s'))} | {fmt(row.get('errors'))} |"
                          + " — |" * 6 + f" {rec_cell} | {fmt(row.get('server'), 2)} |")
                continue
            md.append(
                f"| {label(c, row)}{note} | {books_cells(row['books'])} | "
                f"{fmt(row['calls_per_s'])} | {fmt(row['errors'])} | {fmt(row['revoked_at'])} | "
                f"{fmt(row['calls_after'])} | {fmt(row['unauthorized'])} | "
                f"{fmt(row['tokens'])} / {fmt(row['tokens_max'])} | "
                f"{fmt(row['recovery_ms'], 1)} | {rec_cell} | {fmt(row['server'], 2)} |")
        md.append("")
        md.append(
            "A storm run completed when the client reported, even with failed calls (exit status "
            "1): failing every call after the revoke is what a client that cannot refresh its "
            "token does. The time to recover is the chosen run's; the next column says in how "
            "many runs the client recovered at all, and how long those took. wrk, libcurl multi "
            "and aiohttp do not refresh a token on 401 (nor do the official Python clients). "
            "easycodef-node clears its token and asks for a new one in every call that got the "
            "401.")
        md.append("")

    cold = cold_rows(runs)
    if cold:
        md += ["## Cold start: one call at concurrency 1", ""]
        md.append("| client | runs | failed runs | most errors | first good call, ms from the "
                  "program's start | min–max | spread | process start to exit, ms (same run) |")
        md.append("|---|---|---|---|---|---|---|---|")
        for c, row in cold.items():
            rng, rel = range_cell(row["min"], row["max"], row["spread"], 1)
            md.append(f"| {label(c, row)} | {books_cells(row['books'])} | "
                      f"{fmt(row['first_ms'], 1)} | {rng} | {rel} | {fmt(row['wall_ms'], 1)} |")
        md.append("")
        md.append(
            "Every client starts with nothing: it asks for its token (wrk is handed one), "
            "connects, does the TLS handshake and the call; this library is run with "
            "`--no-warmup`, so that its first call is the measured one. The first call counts "
            "from: this library, a static initialised before main; libcurl, the start of main; "
            "Node.js, the process's start (`performance.now()`); Python, the first line of the "
            "script (after the interpreter started, before the imports); wrk, its Lua script's "
            "load, after its own start-up. The last column counts from before the process is "
            "started to its exit, as the script sees them (runtime start-up included).")
        md.append("")

    slow = slow_rows(runs, meta.get("slow_delay_ms"))
    for size, rows in slow.items():
        delay = meta.get("slow_delay_ms", "?")
        calls = next(iter(rows.values()))["calls"]
        md += [f"## Slow CODEF: every reply after {delay} ms, {size:,} calls in flight and as many "
               f"connections, {calls:,} calls", ""]
        md.append("| client | runs | failed runs | most failed calls | calls/s | min–max | "
                  "ideal calls/s | % of ideal | p50 ms | p99 ms | peak RSS MiB | RSS per call "
                  "in flight, KiB | CPU ms per call | CPU ms per call (whole process) | "
                  "connections | token requests | emulator CPU (cores) | emulator peak RSS MiB |")
        md.append("|" + "---|" * 18)
        for c, row in rows.items():
            if not row["run"]:
                md.append(f"| {LABELS[c]} | {books_cells(row['books'])} |" + " — |" * 15)
                continue
            rng, _ = range_cell(row["min"], row["max"], row["spread"])
            md.append(
                f"| {label(c, row)} | {books_cells(row['books'])} | {fmt(row['calls_per_s'])} | "
                f"{rng} | {fmt(row['ideal'])} | {fmt(row['of_ideal'] * 100 if row['of_ideal'] else None, 0, '%')} | "
                f"{fmt(row['p50_ms'], 0)} | {fmt(row['p99_ms'], 0)} | {fmt(row['rss'], 1)} | "
                f"{fmt(row['rss_per_call_kib'], 1)} | {fmt(row['cpu_ms_call'], 3)} | "
                f"{fmt(row['cpu_ms_call_process'], 3)} | {fmt(row['connections'])} | "
                f"{fmt(row['tokens'])} | {fmt(row['server'], 2)} | {fmt(row['server_rss'], 1)} |")
        md.append("")
    if slow:
        md.append(
            "The emulator holds every API reply for the delay on a timer (token requests are not "
            "delayed). Ideal: calls in flight ÷ delay, the rate of a client that keeps every call "
            "in flight all the time; a run of F × in-flight calls also pays for opening its "
            "connections, so it stays under it. Peak RSS: the whole client process "
            "(`/usr/bin/time`); per call in flight: that ÷ the calls in flight. CPU per call: the "
            "client's CPU during its timed calls ÷ calls; whole process: `/usr/bin/time`. The "
            "emulator's peak RSS is its high-water mark, reset before each run to its RSS of "
            "the moment (which keeps what earlier runs left allocated). wrk is not run "
            f"here. Each run is limited to {meta.get('slow_timeout', '?')} s.")
        top = meta.get("slow_aiohttp_max")
        if top is not None and any(size > top for size in slow):
            md.append("")
            md.append(
                f"aiohttp is run up to {top:,} calls in flight only (`--slow-aiohttp-max`): with "
                "more, on its one core, its TLS handshakes (full ones: it resumes no session) "
                "outlast its own 30 s call timeout, and nearly every call fails.")
        md.append("")

    cg = callgrind_rows(runs)
    if cg:
        md += ["## Instructions per call (valgrind --tool=callgrind, client process only; single "
               "run)", ""]
        md.append("| client | calls × concurrency | instructions, whole run | per call | per call, "
                  "start-up taken off (run of N − run of 1) / (N − 1) |")
        md.append("|---|---|---|---|---|")
        for c, row in cg.items():
            md.append(f"| {LABELS[c]} | {row['calls']} × {row['concurrency']} | "
                      f"{fmt(row['total'])} | {fmt(row['per_call'])} | {fmt(row['marginal'])} |")
        md.append("")
        md.append("Instructions are counted, not timed: one run of each size.")
        md.append("")

    sweep = [r for r in runs if r["scenario"] == "sweep"]
    if sweep:
        r = sweep[-1]
        t = r.get("tool") or {}
        p = r.get("process") or {}
        st = r.get("stats") or {}
        wall = p.get("wall_s") or r.get("wall_s")
        md += [f"## Sweep: {r['calls']:,} seeded connectedIds, one call each, concurrency "
               f"{r['concurrency']} (single run)", ""]
        md.append("| exit status | wall s | calls/s | peak RSS MiB | client CPU s | lines written "
                  "| failed items | token requests | connections | emulator CPU (cores) |")
        md.append("|---|---|---|---|---|---|---|---|---|---|")
        md.append(
            f"| {flag(r.get('rc'))} | {fmt(wall, 1)} | {fmt(r['calls'] / wall if wall else None)} | "
            f"{fmt(p.get('peak_rss_mib'), 1)} | {fmt(p.get('cpu_s'), 1)} | {fmt(t.get('lines'))} | "
            f"{flag(t.get('failed'))} | {fmt(st.get('token_requests'))} | "
            f"{fmt(st.get('connections_accepted') - 1 if st.get('connections_accepted') else None)} | "
            f"{fmt(server_cores(r), 2)} |")
        md.append("")
        md.append(
            "`codef --concurrency C --quiet sweep /v1/account/list --out FILE` against an emulator "
            "seeded with the connectedIds; the connectedIds come from the paged listing (50,000 a "
            "page), the NDJSON goes to disk. Peak RSS of the whole process: `/usr/bin/time`. "
            "Connections: the emulator's count, the stats request that reads it taken off (the "
            "token request's is in it).")
        md.append("")

    text = "\n".join(md)
    with open(os.path.join(out_dir, "compare.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    png = os.path.join(out_dir, "compare.png")
    rows = {c: row for c, row in steady.items() if row.get("run")}
    if rows:
        chart(rows, png, os.path.dirname(os.path.abspath(runs_file)), meta)
    elif os.path.exists(png):
        os.remove(png)  # an older run's chart would not match this report
    print(text)


def node_notes(steady):
    """easycodef-node against the others: rate and CPU per call, and why its rate is what it is."""
    md = []
    nodes = [c for c in ("easycodef-node", "easycodef-node-nodelay")
             if (steady.get(c) or {}).get("calls_per_s")]
    if not nodes:
        return md
    md += ["### Against easycodef-node: rate and CPU per call", ""]
    head = "| client |"
    for n in nodes:
        head += f" calls/s × {LABELS[n]} | {LABELS[n]}'s CPU per call ÷ this client's |"
    md.append(head)
    md.append("|---|" + "---|---|" * len(nodes))
    for c, row in steady.items():
        if c in nodes or not row.get("calls_per_s"):
            continue
        line = f"| {LABELS[c]} |"
        for n in nodes:
            nr = steady[n]
            ratio = row["calls_per_s"] / nr["calls_per_s"]
            cpu = nr["cpu_call"] / row["cpu_call"] if nr.get("cpu_call") and row.get("cpu_call") \
                else None
            line += f" {fmt(ratio, 1)} | {fmt(cpu, 1)} |"
        md.append(line)
    md.append("")
    node = steady.get("easycodef-node") or {}
    if node.get("calls_per_s"):
        text = (
            f"easycodef-node's core was busy {fmt(node.get('busy'), 2)} of its timed window, "
            f"at p50 {fmt(node.get('p50_ms'), 1)} ms a call: its rate is set by a wait, not by "
            "its CPU. It sends each call in two writes, the second one small; with Nagle's "
            "algorithm on, that one waits for the ACK of the first, which the server's delayed "
            "ACK holds back for about 40 ms. The rate above is kept as measured: it is what the "
            "package does as shipped. easycodef-node, setNoDelay is the same package with "
            "`setNoDelay(true)` on every socket, injected by `node --require "
            "benchmarks/peers/node_nodelay.js` (no file of the package changed)")
        fast = steady.get("easycodef-node-nodelay") or {}
        if fast.get("calls_per_s"):
            text += (
                f": {fmt(fast['calls_per_s'])} calls/s at p50 {fmt(fast.get('p50_ms'), 2)} ms, "
                f"its core busy {fmt(fast.get('busy'), 2)}, "
                f"{fmt(fast.get('nodelay_sockets'))} sockets changed")
        text += (". Rate alone would credit this library with Nagle's wait: the CPU per call "
                 "column is the comparison that the wait does not distort.")
        md += [text, ""]
    return md


def chart(steady, png, raw_dir, meta):
    data = os.path.join(raw_dir, "chart.dat")
    with open(data, "w", encoding="utf-8") as f:
        for c, row in steady.items():
            f.write('"{}" {} {}\n'.format(CHART_LABELS[c],
                                          row["calls_per_s"] or 0, row["cpu_call"] or 0))
    top_rate = max((row["calls_per_s"] or 0) for row in steady.values()) or 1
    top_cpu = max((row["cpu_call"] or 0) for row in steady.values()) or 1
    script = f"""
set terminal pngcairo size 1400,560 font ",10"
set output "{png}"
set multiplot layout 1,2 title "CODEF product calls over TLS, {meta.get('calls', '?')} calls at concurrency {meta.get('concurrency', '?')} (the median run of {meta.get('rounds', '?')} rounds)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set bmargin 6
set grid ytics
set xtics nomirror font ",8"
unset key
set title "calls per second (higher is better)"
set yrange [0:{top_rate * 1.12}]
plot "{data}" using 2:xtic(1) lc rgb "#3465a4", "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8 notitle
set title "client CPU seconds per 10,000 calls (lower is better)"
set yrange [0:{top_cpu * 1.12}]
plot "{data}" using 3:xtic(1) lc rgb "#cc6633", "" using 0:3:(sprintf("%.2f", $3)) with labels offset 0,0.8 notitle
unset multiplot
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"results.py: no chart: {e}", file=sys.stderr)


def main(argv):
    if len(argv) >= 3 and argv[1] == "record":
        kv = dict(a.split("=", 1) for a in argv[3:])
        record(argv[2], kv)
    elif len(argv) == 5 and argv[1] == "report":
        report(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
