#!/usr/bin/env python3
"""A bounded mixed workload against a running reference server, sampled once a minute.

Usage: soak.py --url http://127.0.0.1:PORT --pid PID --minutes 30 [--rate 20]
               [--sqlite PATH | --postgres-db NAME --psql-url URL] [--out FILE]

Each worker loops: register a fresh account (1 in 10 iterations) or pick a known one,
log in, GET /auth/me three times, refresh twice, now and then ask for a password reset,
and log out. The whole workload is held to --rate iterations per second. Every minute it
prints one row: requests, non-2xx answers (429s counted apart), p50/p99 latency, and the
server's RSS, open file descriptors, database connections and token rows. Only the
standard library: it runs wherever python3 does.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sqlite3
import threading
import time
import urllib.parse

PASSWORD = "Soak!Walrus-Lamp-4711"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.latencies = []
        self.requests = 0
        self.errors = 0
        self.limited = 0
        self.statuses = {}

    def add(self, status, seconds):
        with self.lock:
            self.requests += 1
            self.latencies.append(seconds)
            if status == 429:
                self.limited += 1
            elif status >= 300:
                self.errors += 1
                self.statuses[status] = self.statuses.get(status, 0) + 1

    def take(self):
        with self.lock:
            snapshot = (sorted(self.latencies), self.requests, self.errors, self.limited, dict(self.statuses))
            self.reset()
        return snapshot


class Client:
    def __init__(self, url, stats):
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.stats = stats
        self.conn = None

    def call(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body) if body is not None else None
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    self.stats.add(599, time.perf_counter() - started)
                    return 599, {}
                continue
            self.stats.add(response.status, time.perf_counter() - started)
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            try:
                return response.status, json.loads(payload) if payload else {}
            except ValueError:
                return response.status, {}
        return 599, {}


def worker(url, stats, stop, bucket, accounts, worker_id):
    client = Client(url, stats)
    n = 0
    while not stop.is_set():
        bucket.acquire()
        if stop.is_set():
            return
        n += 1
        with accounts["lock"]:
            known = list(accounts["emails"])
        if n % 10 == 1 or not known:
            email = f"soak-{worker_id}-{n}-{random.randrange(1 << 30)}@example.com"
            status, _ = client.call("POST", "/auth/register", {"email": email, "username": f"soak {worker_id}", "password": PASSWORD})
            if status == 201:
                with accounts["lock"]:
                    accounts["emails"].append(email)
                    if len(accounts["emails"]) > 500:
                        accounts["emails"].pop(0)
            continue
        email = random.choice(known)
        status, tokens = client.call("POST", "/auth/login", {"email": email, "password": PASSWORD})
        if status != 200:
            continue
        access, refresh = tokens.get("access_token"), tokens.get("refresh_token")
        for _ in range(3):
            client.call("GET", "/auth/me", token=access)
        for _ in range(2):
            status, pair = client.call("POST", "/auth/refresh", {"refresh_token": refresh})
            if status == 200:
                access, refresh = pair.get("access_token"), pair.get("refresh_token")
        if n % 7 == 0:
            client.call("POST", "/auth/password-reset-request", {"email": email})
        client.call("POST", "/auth/logout", {"refresh_token": refresh}, token=access)


def refill(bucket, rate, stop):
    interval = 1.0 / rate
    while not stop.is_set():
        bucket.release()
        time.sleep(interval)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def sqlite_facts(path, pid):
    conns = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == os.path.abspath(path):
                conns += 1
        except OSError:
            pass
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        tokens = db.execute("SELECT count(*) FROM tokens").fetchone()[0]
        sessions = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
    finally:
        db.close()
    return conns, tokens, sessions


def postgres_facts(psql_url, database):
    def scalar(sql):
        out = subprocess.run(["psql", psql_url, "-tAc", sql], capture_output=True, text=True, check=True)
        return int(out.stdout.strip() or 0)
    conns = scalar(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()")
    tokens = scalar("SELECT count(*) FROM tokens")
    sessions = scalar("SELECT count(*) FROM sessions")
    return conns, tokens, sessions


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=20, help="workload iterations per second")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sqlite")
    parser.add_argument("--postgres-db")
    parser.add_argument("--psql-url")
    parser.add_argument("--out")
    args = parser.parse_args()

    stats, stop = Stats(), threading.Event()
    bucket = threading.Semaphore(0)
    accounts = {"lock": threading.Lock(), "emails": []}
    threads = [threading.Thread(target=refill, args=(bucket, args.rate, stop), daemon=True)]
    threads += [threading.Thread(target=worker, args=(args.url, stats, stop, bucket, accounts, i), daemon=True) for i in range(args.workers)]
    for thread in threads:
        thread.start()

    header = "| minute | requests | non-2xx (not 429) | 429 | p50 ms | p99 ms | RSS MiB | fds | DB conns | token rows | session rows |"
    rows = [header, "|" + "---|" * 11]
    print(header, flush=True)
    started = time.monotonic()
    minute = 0
    while time.monotonic() - started < args.minutes * 60:
        minute += 1
        time.sleep(max(0, started + minute * 60 - time.monotonic()))
        latencies, requests, errors, limited, statuses = stats.take()
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0
        p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0
        if args.sqlite:
            conns, tokens, sessions = sqlite_facts(args.sqlite, args.pid)
        else:
            conns, tokens, sessions = postgres_facts(args.psql_url, args.postgres_db)
        row = (f"| {minute} | {requests} | {errors}{' ' + str(statuses) if statuses else ''} | {limited} | {p50:.1f} | {p99:.1f} | "
               f"{rss_kib(args.pid) / 1024:.1f} | {fds(args.pid)} | {conns} | {tokens} | {sessions} |")
        rows.append(row)
        print(row, flush=True)
    stop.set()
    for _ in threads:
        bucket.release()
    if args.out:
        with open(args.out, "w") as out:
            out.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
