"""results.py: the bookkeeping of benchmarks/compare.sh, with the standard library only (run it
with /usr/bin/python3).

    results.py record RUNS.jsonl key=value...   appends one run (see record() for the keys)
    results.py report RUNS.jsonl OUT_DIR META.json
        writes OUT_DIR/compare.md and, through gnuplot, OUT_DIR/compare.png; prints the Markdown

Every figure in the report is the median over the rounds of one client in one scenario.
"""

import json
import os
import statistics
import subprocess
import sys

CLIENTS = ["codef", "wrk", "curl_multi", "easycodef-node", "aiohttp"]
LABELS = {
    "codef": "codef (this library)",
    "wrk": "wrk (ceiling)",
    "curl_multi": "libcurl multi (C)",
    "easycodef-node": "easycodef-node (official)",
    "aiohttp": "aiohttp (Python)",
}
# Two lines under each bar of the chart.
CHART_LABELS = {
    "codef": "codef\\n(this library)",
    "wrk": "wrk\\n(ceiling)",
    "curl_multi": "libcurl\\n(multi, C)",
    "easycodef-node": "easycodef-node\\n(official)",
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
    stats_file storm_file callgrind_file."""
    r = {k: kv.get(k) for k in ("scenario", "client")}
    for k in ("round", "calls", "concurrency", "rc", "wall_ns", "server_ticks"):
        r[k] = int(kv[k]) if kv.get(k) not in (None, "") else None
    r["wall_s"] = r.pop("wall_ns") / 1e9 if r.get("wall_ns") is not None else None
    ticks = r.pop("server_ticks")
    r["server_cpu_s"] = ticks / os.sysconf("SC_CLK_TCK") if ticks is not None else None
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
        parts.append(f"{r['wall_s'] * 1000:.1f} ms")
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


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0, suffix=""):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    return f"{v:,.{digits}f}{suffix}"


def tool(r, key):
    return (r.get("tool") or {}).get(key)


def server_cores(r):
    if r.get("server_cpu_s") is None or not r.get("wall_s"):
        return None
    return r["server_cpu_s"] / r["wall_s"]


def steady_rows(runs):
    rows = {}
    for c in CLIENTS:
        rs = [r for r in runs if r["scenario"] == "throughput" and r["client"] == c]
        if not rs:
            continue
        st = [r.get("stats") or {} for r in rs]
        # The stats request itself came in on a new connection with a full handshake.
        row = {
            "runs": len(rs),
            "failed": sum(1 for r in rs if r.get("tool") is None),
            "calls_per_s": med([tool(r, "calls_per_s") for r in rs]),
            "p50_ms": med([tool(r, "p50_ms") for r in rs]),
            "p99_ms": med([tool(r, "p99_ms") for r in rs]),
            "errors": med([tool(r, "errors") for r in rs]),
            "cpu_call": med([(tool(r, "cpu_s_per_10k_calls") if c != "wrk" else None) for r in rs]),
            "cpu_process": med([(r["process"]["cpu_s"] * 10000.0 / r["calls"])
                                if r.get("process") else None for r in rs]),
            "rss": med([r["process"]["peak_rss_mib"] if r.get("process") else None for r in rs]),
            "connections": med([s.get("connections_accepted", 0) - 1 if s else None for s in st]),
            "handshakes": med([s.get("tls_handshakes", 0) - 1 if s else None for s in st]),
            "resumed": med([s.get("tls_resumed") if s else None for s in st]),
            "tokens": med([s.get("token_requests") if s else None for s in st]),
            "server": med([server_cores(r) for r in rs]),
        }
        if c == "wrk":
            # wrk has no call phase of its own: the whole process is its cost.
            row["cpu_call"] = row["cpu_process"]
        rows[c] = row
    return rows


def storm_rows(runs):
    rows = {}
    for c in CLIENTS:
        rs = [r for r in runs if r["scenario"] == "storm" and r["client"] == c]
        if not rs:
            continue
        tokens, unauth, recovery, after, at, started = [], [], [], [], [], 0
        for r in rs:
            s = r.get("storm") or {}
            before, final = s.get("before"), r.get("stats")
            if before and final:
                started += 1
                tokens.append(final["token_requests"] - before["token_requests"])
                unauth.append(final["unauthorized"] - before["unauthorized"])
                after.append(final["api_requests"] - before["api_requests"])
                at.append(before["api_requests"])
                rec = s.get("recovery_s")
                recovery.append(rec * 1000.0 if rec is not None else None)
        never = sum(1 for v in recovery if v is None)
        rows[c] = {
            "runs": len(rs),
            "started": started,
            "calls_per_s": med([tool(r, "calls_per_s") for r in rs]),
            "errors": med([tool(r, "errors") for r in rs]),
            "unauthorized": med(unauth),
            "revoked_at": med(at),
            "calls_after": med(after),
            "tokens": med(tokens),
            "tokens_max": max(tokens) if tokens else None,
            "recovery_ms": med(recovery) if never * 2 < len(recovery) else "never",
            "server": med([server_cores(r) for r in rs]),
        }
    return rows


def cold_rows(runs):
    rows = {}
    for c in CLIENTS:
        rs = [r for r in runs if r["scenario"] == "cold" and r["client"] == c]
        if rs:
            rows[c] = {
                "runs": len(rs),
                "wall_ms": med([r["wall_s"] * 1000.0 if r.get("wall_s") else None for r in rs]),
                "first_ms": med([tool(r, "first_call_ms") for r in rs]),
                "errors": sum(1 for r in rs if r.get("rc") not in (0, None)),
            }
    return rows


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
        f"body for all: `{meta.get('body', '')}`. Medians of {meta.get('rounds', '?')} interleaved "
        "rounds.")
    md.append("")
    md.append("Versions: " + ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items()))
    md.append("")

    steady = steady_rows(runs)
    if steady:
        wrk = (steady.get("wrk") or {}).get("calls_per_s")
        md += [f"## Steady throughput: {meta.get('calls', '?')} calls at concurrency "
               f"{meta.get('concurrency', '?')}", ""]
        md.append("| client | calls/s | × wrk | p50 ms | p99 ms | CPU s / 10k calls | "
                  "CPU s / 10k (whole process) | peak RSS MiB | connections | TLS full "
                  "handshakes | TLS resumed | token requests | errors | emulator CPU (cores) |")
        md.append("|" + "---|" * 14)
        saturated = []
        for c, row in steady.items():
            ratio = row["calls_per_s"] / wrk if wrk and row["calls_per_s"] else None
            server = row["server"]
            flag = ""
            if server is not None and server >= SATURATED:
                flag = " ‡"
                saturated.append(LABELS[c])
            md.append(
                f"| {LABELS[c]} | {fmt(row['calls_per_s'])} | "
                f"{fmt(ratio, 2) + flag if ratio is not None else '—'} | "
                f"{fmt(row['p50_ms'], 2)} | {fmt(row['p99_ms'], 2)} | {fmt(row['cpu_call'], 3)} | "
                f"{fmt(row['cpu_process'], 3)} | {fmt(row['rss'], 1)} | {fmt(row['connections'])} | "
                f"{fmt(row['handshakes'])} | {fmt(row['resumed'])} | {fmt(row['tokens'])} | "
                f"{fmt(row['errors'])} | {fmt(server, 2)}{flag} |")
        md.append("")
        md.append(
            "CPU s / 10k calls: the client's own CPU during its calls (getrusage, "
            "process.cpuUsage, time.process_time; wrk: its whole process). Whole process: "
            "`/usr/bin/time`, start-up and token included. Peak RSS: `/usr/bin/time`. "
            "Connections, handshakes, resumptions and token requests: the emulator's counters, "
            "reset before each run. wrk is given a token and its TLS sessions are not resumed. "
            "Latency for wrk is its own (from write to reply); for the others, from the call's "
            "start, waiting for a connection included.")
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

    storm = storm_rows(runs)
    if storm:
        md += [f"## Token storm: all tokens revoked with {meta.get('storm_concurrency', '?')} "
               f"calls in flight ({meta.get('storm_calls', '?')} calls, revoked after "
               f"{meta.get('storm_after', '?')})", ""]
        md.append("| client | calls/s (whole run) | failed calls | revoked at call | calls after "
                  "the revoke | 401 replies after the revoke | token requests after the revoke "
                  "(median / max) | time to "
                  f"{meta.get('storm_concurrency', '?')} good calls after the revoke, ms | "
                  "emulator CPU (cores) |")
        md.append("|" + "---|" * 9)
        for c, row in storm.items():
            note = "" if row["started"] == row["runs"] else \
                f" (storm started in {row['started']} of {row['runs']} runs)"
            md.append(
                f"| {LABELS[c]}{note} | {fmt(row['calls_per_s'])} | {fmt(row['errors'])} | "
                f"{fmt(row['revoked_at'])} | {fmt(row['calls_after'])} | "
                f"{fmt(row['unauthorized'])} | {fmt(row['tokens'])} / {fmt(row['tokens_max'])} | "
                f"{fmt(row['recovery_ms'], 1)} | {fmt(row['server'], 2)} |")
        md.append("")
        md.append(
            "wrk, libcurl multi and aiohttp do not refresh a token on 401 (nor do the official "
            "Python clients): every call after the revoke fails, and they never recover. "
            "easycodef-node clears its token and asks for a new one in every call that got the "
            "401, so it sends about as many token requests as there were calls in flight.")
        md.append("")

    cold = cold_rows(runs)
    if cold:
        md += ["## Cold start: one call at concurrency 1, process start to exit", ""]
        md.append("| client | wall ms (process) | first good call ms (in-process, from start) "
                  "| failed runs |")
        md.append("|---|---|---|---|")
        for c, row in cold.items():
            md.append(f"| {LABELS[c]} | {fmt(row['wall_ms'], 1)} | {fmt(row['first_ms'], 1)} | "
                      f"{row['errors']} |")
        md.append("")
        md.append(
            "Wall: token, connection, handshake and the call, and the runtime's own start-up "
            "(Node.js, Python with aiohttp), from the process's start to its exit. wrk is given "
            "its token. The in-process figure counts from the program's start (Node.js: from the "
            "process's; Python: after the interpreter started, imports included).")
        md.append("")

    cg = callgrind_rows(runs)
    if cg:
        md += ["## Instructions per call (valgrind --tool=callgrind, client process only)", ""]
        md.append("| client | calls × concurrency | instructions, whole run | per call | per call, "
                  "start-up taken off (run of N − run of 1) / (N − 1) |")
        md.append("|---|---|---|---|---|")
        for c, row in cg.items():
            md.append(f"| {LABELS[c]} | {row['calls']} × {row['concurrency']} | "
                      f"{fmt(row['total'])} | {fmt(row['per_call'])} | {fmt(row['marginal'])} |")
        md.append("")

    sweep = [r for r in runs if r["scenario"] == "sweep"]
    if sweep:
        r = sweep[-1]
        t = r.get("tool") or {}
        p = r.get("process") or {}
        st = r.get("stats") or {}
        wall = p.get("wall_s") or r.get("wall_s")
        md += [f"## Sweep: {r['calls']:,} seeded connectedIds, one call each, concurrency "
               f"{r['concurrency']}", ""]
        md.append("| wall s | calls/s | peak RSS MiB | client CPU s | lines written | failed items "
                  "| token requests | connections | emulator CPU (cores) |")
        md.append("|---|---|---|---|---|---|---|---|---|")
        md.append(
            f"| {fmt(wall, 1)} | {fmt(r['calls'] / wall if wall else None)} | "
            f"{fmt(p.get('peak_rss_mib'), 1)} | {fmt(p.get('cpu_s'), 1)} | {fmt(t.get('lines'))} | "
            f"{fmt(t.get('failed'))} | {fmt(st.get('token_requests'))} | "
            f"{fmt(st.get('connections_accepted'))} | {fmt(server_cores(r), 2)} |")
        md.append("")
        md.append(
            "`codef --concurrency C --quiet sweep /v1/account/list --out FILE` against an emulator "
            "seeded with the connectedIds; the connectedIds come from the paged listing (50,000 a "
            "page), the NDJSON goes to disk. Peak RSS of the whole process: `/usr/bin/time`.")
        md.append("")

    text = "\n".join(md)
    with open(os.path.join(out_dir, "compare.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    png = os.path.join(out_dir, "compare.png")
    if steady:
        chart(steady, png, os.path.dirname(os.path.abspath(runs_file)), meta)
    elif os.path.exists(png):
        os.remove(png)  # an older run's chart would not match this report
    print(text)


def chart(steady, png, raw_dir, meta):
    data = os.path.join(raw_dir, "chart.dat")
    with open(data, "w", encoding="utf-8") as f:
        for c, row in steady.items():
            f.write('"{}" {} {}\n'.format(CHART_LABELS[c],
                                          row["calls_per_s"] or 0, row["cpu_call"] or 0))
    top_rate = max((row["calls_per_s"] or 0) for row in steady.values()) or 1
    top_cpu = max((row["cpu_call"] or 0) for row in steady.values()) or 1
    script = f"""
set terminal pngcairo size 1200,560 font ",10"
set output "{png}"
set multiplot layout 1,2 title "CODEF product calls over TLS, {meta.get('calls', '?')} calls at concurrency {meta.get('concurrency', '?')} (medians of {meta.get('rounds', '?')} rounds)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set bmargin 5
set grid ytics
set xtics nomirror font ",9"
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
