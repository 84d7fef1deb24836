#!/usr/bin/env python3
"""Does POST /auth/password-reset-request take longer for a known email than an unknown one?

Usage: reset-timing.py --url URL --known EMAIL [--rounds 50]

Alternates known and unknown addresses (fresh unknown ones each round, so no cooldown or
cache favours either) and prints the median and p90 of each and their difference. The
server must have its per-address limits off (MYAUTH_IP_RATE_LIMITS=off) and an email
cooldown that lets the known address through every round or not — either way its work
must not show. Standard library only.
"""

import argparse
import http.client
import json
import statistics
import time
import urllib.parse
import uuid


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--known", required=True)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    parsed = urllib.parse.urlparse(args.url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)

    def request(email):
        body = json.dumps({"email": email})
        started = time.perf_counter()
        conn.request("POST", "/auth/password-reset-request", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        if response.status != 202:
            raise SystemExit(f"{email}: {response.status}")
        return elapsed * 1000

    for _ in range(5):  # warm-up
        request(args.known)
        request(f"warm-{uuid.uuid4().hex}@example.com")
    known, unknown = [], []
    for _ in range(args.rounds):
        known.append(request(args.known))
        unknown.append(request(f"nobody-{uuid.uuid4().hex}@example.com"))
        time.sleep(0.02)

    def p90(values):
        return sorted(values)[int(len(values) * 0.9)]

    mk, mu = statistics.median(known), statistics.median(unknown)
    print(f"| email | median ms | p90 ms |\n|---|---|---|\n| known | {mk:.3f} | {p90(known):.3f} |\n| unknown | {mu:.3f} | {p90(unknown):.3f} |")
    print(f"difference of medians: {mk - mu:+.3f} ms over {args.rounds} rounds each")


if __name__ == "__main__":
    main()
