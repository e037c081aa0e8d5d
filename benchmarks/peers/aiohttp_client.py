"""aiohttp_client.py: a peer for benchmarks/compare.sh. N calls at concurrency C to one CODEF
product path with aiohttp, which the official async Python client (aio-easycodefpy) is built on:
one ClientSession whose connector allows C connections, a token fetched first, then C tasks.

    /usr/bin/python3 aiohttp_client.py --api-url URL --oauth-url URL --ca-file PEM
        --body-file FILE [--path P] [--calls N] [--concurrency C]

FILE holds the percent-encoded JSON parameters. Like the official Python clients it does not
refresh the token on 401: such a reply is counted as an error ("unauthorized"). Each reply is
percent-decoded and parsed as JSON, as those clients do. Prints one JSON line with the same field
names as benchmarks/throughput.cpp.
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402  (imported after T_START so that first_call_ms includes imports)
import asyncio  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import ssl  # noqa: E402
import sys  # noqa: E402
import urllib.parse  # noqa: E402

import aiohttp  # noqa: E402

SANDBOX_ID = "ef27cfaa-10c1-4470-adac-60ba476273f9"
SANDBOX_SECRET = "83160c33-9045-4915-86d8-809473cdf5c3"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--api-url", required=True)
    p.add_argument("--oauth-url", required=True)
    p.add_argument("--ca-file", required=True)
    p.add_argument("--body-file", required=True)
    p.add_argument("--path", default="/v1/kr/bank/b/account/list")
    p.add_argument("--calls", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--timeout", type=float, default=600.0)
    a = p.parse_args()
    if a.calls <= 0 or a.concurrency <= 0:
        p.error("--calls and --concurrency must be positive")
    return a


def percentile_ms(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(p * len(sorted_ms)))]


async def fetch_token(session, oauth_url):
    basic = base64.b64encode(f"{SANDBOX_ID}:{SANDBOX_SECRET}".encode()).decode()
    async with session.post(
        oauth_url,
        data="grant_type=client_credentials&scope=read",
        headers={
            "Authorization": "Basic " + basic,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    ) as r:
        if r.status != 200:
            raise RuntimeError(f"token request refused: HTTP {r.status}: {await r.text()}")
        return (await r.json())["access_token"]


async def run(a):
    with open(a.body_file, "rb") as f:
        body = f.read().rstrip(b"\r\n")
    ctx = ssl.create_default_context(cafile=a.ca_file)
    connector = aiohttp.TCPConnector(limit=a.concurrency, ssl=ctx)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        token = await fetch_token(session, a.oauth_url)
        url = a.api_url.rstrip("/") + a.path
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

        latency_ms = []
        state = {"next": 0, "errors": 0, "unauthorized": 0, "first_ms": -1.0, "first_error": None}

        async def worker():
            while True:
                i = state["next"]
                if i >= a.calls:
                    return
                state["next"] = i + 1
                start = time.perf_counter()
                ok = False
                try:
                    async with session.post(url, data=body, headers=headers) as r:
                        raw = await r.read()
                        if r.status == 200:
                            reply = json.loads(urllib.parse.unquote_plus(raw.decode("utf-8")))
                            ok = reply["result"]["code"] == "CF-00000"
                        elif r.status == 401:
                            state["unauthorized"] += 1
                        if not ok and state["first_error"] is None:
                            state["first_error"] = f"HTTP {r.status}: {raw[:200]!r}"
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError) as e:
                    if state["first_error"] is None:
                        state["first_error"] = repr(e)
                end = time.perf_counter()
                latency_ms.append((end - start) * 1000.0)
                if not ok:
                    state["errors"] += 1
                elif state["first_ms"] < 0:
                    state["first_ms"] = (end - T_START) * 1000.0

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        tasks = [worker() for _ in range(min(a.concurrency, a.calls))]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=a.timeout)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0

    latency_ms.sort()
    if state["first_error"]:
        print(f"aiohttp_client: first failed call: {state['first_error']}", file=sys.stderr)
    out = {
        "calls": a.calls,
        "concurrency": a.concurrency,
        "errors": state["errors"],
        "unauthorized": state["unauthorized"],
        "wall_s": wall,
        "calls_per_s": a.calls / wall,
        "p50_ms": percentile_ms(latency_ms, 0.50),
        "p99_ms": percentile_ms(latency_ms, 0.99),
        "p999_ms": percentile_ms(latency_ms, 0.999),
        "cpu_s": cpu,
        "cpu_s_per_10k_calls": cpu * 10000.0 / a.calls,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "first_call_ms": state["first_ms"],
        "aiohttp_version": aiohttp.__version__,
        "python_version": sys.version.split()[0],
    }
    print(json.dumps(out), flush=True)
    return state["errors"]


def main():
    a = parse_args()
    errors = asyncio.run(run(a))
    sys.exit(0 if errors == 0 else 1)


if __name__ == "__main__":
    main()
