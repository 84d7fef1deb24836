#!/usr/bin/env python3
"""Load against a running reference server while scripts/faults.sh breaks what it stands on.

Usage: faults.py --url URL --seconds 40 --fault-at 10 --restore-at 25 [--workers 8] [--out F]

Workers log in once, then loop: GET /auth/me, POST /auth/refresh (rotating), and every 5th
iteration a fresh login. Every answer is recorded with its time and latency. The script
itself does not inject anything: faults.sh does, at the times given, and this prints what
clients saw before, during and after, and how long recovery took (first successful login
after --restore-at). Standard library only.
"""

import argparse
import http.client
import json
import threading
import time
import urllib.parse

PASSWORD = "Fault!Walrus-Lamp-4711"


def call(state, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if state.get("conn") is None:
        state["conn"] = http.client.HTTPConnection(state["host"], state["port"], timeout=60)
    started = time.perf_counter()
    try:
        state["conn"].request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = state["conn"].getresponse()
        payload = response.read()
        status, retry_after = response.status, response.getheader("Retry-After")
    except (http.client.HTTPException, OSError):
        state["conn"].close()
        state["conn"] = None
        status, payload, retry_after = 599, b"", None
    elapsed = time.perf_counter() - started
    state["log"].append((time.monotonic() - state["t0"], path, status, elapsed, retry_after))
    try:
        return status, json.loads(payload) if payload else {}
    except ValueError:
        return status, {}


def worker(url, t0, log, stop, email):
    parsed = urllib.parse.urlparse(url)
    state = {"host": parsed.hostname, "port": parsed.port, "t0": t0, "log": log}
    access = refresh = None
    n = 0
    while not stop.is_set():
        n += 1
        if access is None or n % 5 == 0:
            status, pair = call(state, "POST", "/auth/login", {"email": email, "password": PASSWORD})
            if status == 200:
                access, refresh = pair["access_token"], pair["refresh_token"]
            else:
                time.sleep(0.05)
                continue
        call(state, "GET", "/auth/me", token=access)
        status, pair = call(state, "POST", "/auth/refresh", {"refresh_token": refresh})
        if status == 200:
            access, refresh = pair["access_token"], pair["refresh_token"]
        elif status == 401:
            access = None
        time.sleep(0.02)


def summarize(entries, label):
    if not entries:
        return f"| {label} | 0 | - | - | - | - |"
    statuses = {}
    for _, _, status, _, _ in entries:
        statuses[status] = statuses.get(status, 0) + 1
    latencies = sorted(e[3] for e in entries)
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    retry = sum(1 for e in entries if e[2] == 503 and e[4])
    s503 = statuses.get(503, 0)
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    return f"| {label} | {len(entries)} | {shown} | {p99:.1f} | {latencies[-1] * 1000:.1f} | {retry}/{s503} |"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--fault-at", type=float, default=10)
    parser.add_argument("--restore-at", type=float, default=25)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--out")
    args = parser.parse_args()

    parsed = urllib.parse.urlparse(args.url)
    setup = {"host": parsed.hostname, "port": parsed.port, "t0": time.monotonic(), "log": []}
    emails = []
    for i in range(args.workers):
        email = f"fault-{i}-{int(time.time())}@example.com"
        status, _ = call(setup, "POST", "/auth/register", {"email": email, "username": f"fault {i}", "password": PASSWORD})
        if status != 201:
            raise SystemExit(f"register answered {status}")
        emails.append(email)

    t0 = time.monotonic()
    print(f"t0 {time.time():.3f}", flush=True)
    logs = [[] for _ in emails]
    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=(args.url, t0, log, stop, email), daemon=True) for log, email in zip(logs, emails)]
    for thread in threads:
        thread.start()
    time.sleep(args.seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=70)
    entries = sorted(e for log in logs for e in log)

    before = [e for e in entries if e[0] < args.fault_at]
    during = [e for e in entries if args.fault_at <= e[0] < args.restore_at]
    after = [e for e in entries if e[0] >= args.restore_at]
    # Answers during the fault after the first second: the breaker should be open by then.
    settled = [e for e in during if e[0] >= args.fault_at + 1]
    recovered = next((e[0] + e[3] - args.restore_at for e in after if e[1] == "/auth/login" and e[2] == 200), None)
    answered = next((e[0] + e[3] - args.restore_at for e in after if e[2] < 500), None)
    first_fail = next((e[0] - args.fault_at for e in during if e[2] >= 500), None)
    lines = [
        "| phase | requests | statuses | p99 ms | max ms | 503 with Retry-After |",
        "|---|---|---|---|---|---|",
        summarize(before, "before"),
        summarize(during, "during (all)"),
        summarize(settled, "during, from 1 s in"),
        summarize(after, "after"),
        "",
        f"first 5xx {first_fail:.2f} s after the fault" if first_fail is not None else "no 5xx during the fault",
        f"recovery: first successful login {recovered:.2f} s after the restore" if recovered is not None else "recovery: NO successful login after the restore",
        f"recovery: first answer below 500 {answered:.2f} s after the restore" if answered is not None else "recovery: every answer after the restore was 5xx",
        f"500 answers: {sum(1 for e in entries if e[2] == 500)}; connection failures (599): {sum(1 for e in entries if e[2] == 599)}",
    ]
    print("\n".join(lines), flush=True)
    if args.out:
        with open(args.out, "w") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
