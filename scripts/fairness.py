#!/usr/bin/env python3
"""Hashing fairness: what a flood of junk logins from one address does to a real login from
another.

Usage: fairness.py --url http://127.0.0.1:PORT --email E --password P [--junk 1000]

Measures the latency of a legitimate login (sent from 127.0.0.2, a different client
address on loopback) ten times on an idle server, then again while --junk concurrent
logins with wrong passwords arrive from 127.0.0.1, and prints both with the statuses the
junk got. Run it against a server with the per-address limits on (the default) — they are
what keeps the junk out of the hashing queue. Standard library only.
"""

import argparse
import http.client
import json
import statistics
import threading
import time
import urllib.parse


def login(host, port, source, email, password):
    conn = http.client.HTTPConnection(host, port, timeout=120, source_address=(source, 0))
    started = time.perf_counter()
    try:
        conn.request("POST", "/auth/login", body=json.dumps({"email": email, "password": password}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 599
    finally:
        conn.close()
    return status, (time.perf_counter() - started) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--junk", type=int, default=1000)
    args = parser.parse_args()
    parsed = urllib.parse.urlparse(args.url)
    host, port = parsed.hostname, parsed.port

    idle = []
    for _ in range(10):
        status, ms = login(host, port, "127.0.0.2", args.email, args.password)
        assert status == 200, f"legitimate login answered {status}"
        idle.append(ms)
        time.sleep(0.3)

    statuses = {}
    lock = threading.Lock()
    start = threading.Event()

    def junk(i):
        start.wait()
        status, _ = login(host, port, "127.0.0.1", f"victim{i % 50}@example.com", "Wrong-passw0rd!")
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=junk, args=(i,), daemon=True) for i in range(args.junk)]
    for thread in threads:
        thread.start()
    start.set()
    time.sleep(0.2)
    flooded = []
    for _ in range(10):
        status, ms = login(host, port, "127.0.0.2", args.email, args.password)
        flooded.append((status, ms))
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=120)

    ok = [ms for status, ms in flooded if status == 200]
    print("| legitimate login from another address | median ms | max ms | answered 200 |")
    print("|---|---|---|---|")
    print(f"| idle | {statistics.median(idle):.1f} | {max(idle):.1f} | 10/10 |")
    if ok:
        print(f"| during {args.junk} concurrent junk logins | {statistics.median(ok):.1f} | {max(ok):.1f} | {len(ok)}/10 |")
    else:
        print(f"| during {args.junk} concurrent junk logins | - | - | 0/10 ({flooded}) |")
    print("junk answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))


if __name__ == "__main__":
    main()
