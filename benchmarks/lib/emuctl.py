"""emuctl.py: what benchmarks/compare.sh asks of the emulator, with the standard library only
(run it with /usr/bin/python3).

    emuctl.py URL CA COMMAND [args]
      body OAUTH_URL OUT_JSON OUT_ENCODED   the product call's parameters, found once per run
      token OAUTH_URL                       prints a fresh access token
      stats                                 prints /_emulator/stats as one JSON line
      reset                                 POST /_emulator/reset-stats
      faults JSON                           POST /_emulator/faults (e.g. {"reply_delay": 1000})
      storm PID_FILE READY_FILE PATH AFTER_CALLS TARGET TIMEOUT OUT
          connects, creates READY_FILE (start the client then, and write its PID to PID_FILE),
          waits until the emulator has seen AFTER_CALLS calls of PATH, revokes every token, then
          waits until TARGET calls have succeeded since (or the client has ended, or TIMEOUT
          seconds have passed) and writes what it saw to OUT as JSON.
"""

import base64
import http.client
import json
import ssl
import sys
import time
import urllib.parse

SANDBOX_ID = "ef27cfaa-10c1-4470-adac-60ba476273f9"
SANDBOX_SECRET = "83160c33-9045-4915-86d8-809473cdf5c3"


class Emulator:
    """One kept-alive HTTPS connection to the emulator, reopened if the server closes it."""

    def __init__(self, url, ca):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.conn = None

    def request(self, method, path, body=b"", headers=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def admin(self, method, name, body=b""):
        status, body = self.request(method, "/_emulator/" + name, body=body)
        if status != 200:
            raise RuntimeError(f"/_emulator/{name}: HTTP {status}: {body[:200]!r}")
        return json.loads(body) if body else {}


def token(oauth_url, ca):
    u = urllib.parse.urlsplit(oauth_url)
    e = Emulator(oauth_url, ca)
    basic = base64.b64encode(f"{SANDBOX_ID}:{SANDBOX_SECRET}".encode()).decode()
    status, body = e.request(
        "POST", u.path, body=b"grant_type=client_credentials&scope=read",
        headers={"Authorization": "Basic " + basic,
                 "Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"token: HTTP {status}: {body[:200]!r}")
    return json.loads(body)["access_token"]


def call(e, tok, path, params):
    status, body = e.request(
        "POST", path, body=json.dumps(params).encode(),
        headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    reply = json.loads(urllib.parse.unquote_plus(body.decode()))
    if status != 200 or reply["result"]["code"] != "CF-00000":
        raise RuntimeError(f"{path}: HTTP {status}: {reply}")
    return reply["data"]


def body(url, ca, oauth_url, out_json, out_encoded):
    # The same parameters as benchmarks/throughput.cpp, which finds them itself and cannot be
    # told them: the first connectedId, its first organization, and its fixed date range. The
    # key order is throughput's too, so that every client sends the same bytes.
    e = Emulator(url, ca)
    tok = token(oauth_url, ca)
    cid = call(e, tok, "/v1/account/connectedId-list", {})["connectedIdList"][0]
    org = call(e, tok, "/v1/account/list", {"connectedId": cid})["accountList"][0][
        "organizationCode"]
    params = {"connectedId": cid, "organization": org,
              "startDate": "20190401", "endDate": "20190630"}
    text = json.dumps(params, separators=(",", ":"), ensure_ascii=False)
    with open(out_json, "w", encoding="utf-8") as f:
        f.write(text)
    with open(out_encoded, "w", encoding="ascii") as f:
        # Unreserved characters only, as this library and encodeURIComponent encode.
        f.write(urllib.parse.quote(text, safe=""))


def process_running(pid_file):
    """False once the process named in pid_file has ended; True while it runs or is not yet
    named."""
    try:
        with open(pid_file, encoding="ascii") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def storm(url, ca, pid_file, ready_file, path, after_calls, target, timeout, out):
    e = Emulator(url, ca)
    deadline = time.monotonic() + timeout
    seen = {}
    # Connected and started before the client is, so that even a fast client cannot finish
    # before the storm.
    e.admin("GET", "stats")
    with open(ready_file, "w", encoding="ascii"):
        pass
    # Polls every few milliseconds on one kept-alive connection: cheap for the server.
    while time.monotonic() < deadline and process_running(pid_file):
        s = e.admin("GET", "stats")
        if s.get("requests_by_path", {}).get(path, 0) >= after_calls:
            seen["before"] = s
            break
        time.sleep(0.002)
    if "before" not in seen:
        seen["error"] = "the run ended (or timed out) before the storm could start"
    else:
        t_revoke = time.monotonic()
        e.admin("POST", "revoke-tokens")
        ok_before = seen["before"]["api_requests"] - seen["before"]["unauthorized"]
        recovered = None
        while time.monotonic() < deadline:
            s = e.admin("GET", "stats")
            if (s["api_requests"] - s["unauthorized"]) - ok_before >= target:
                recovered = time.monotonic() - t_revoke
                break
            if not process_running(pid_file):
                break
            time.sleep(0.002)
        seen["after_revoke"] = s
        seen["recovery_s"] = recovered
    with open(out, "w", encoding="utf-8") as f:
        json.dump(seen, f)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    url, ca, cmd, args = argv[1], argv[2], argv[3], argv[4:]
    if cmd == "body":
        body(url, ca, *args)
    elif cmd == "token":
        print(token(args[0], ca))
    elif cmd == "stats":
        print(json.dumps(Emulator(url, ca).admin("GET", "stats")))
    elif cmd == "reset":
        Emulator(url, ca).admin("POST", "reset-stats")
    elif cmd == "faults":
        Emulator(url, ca).admin("POST", "faults", body=args[0].encode())
    elif cmd == "storm":
        pid_file, ready_file, path, after, target, timeout, out = args
        storm(url, ca, pid_file, ready_file, path, int(after), int(target), float(timeout), out)
    else:
        sys.exit(f"emuctl: unknown command {cmd}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
