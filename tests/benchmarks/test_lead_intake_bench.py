"""Lead intake at volume (issue 14 point 7), end to end over HTTP on PostgreSQL.

The real WSGI server (waitress, BENCH_SERVER_THREADS threads, BENCH_SERVERS processes, as in
production) is started in its own process; requests are signed as senders sign them. The
workspace has a team with a hot-lead channel, so hot leads queue their alerts as in use.

- Batches: 50,000 leads (BENCH_BATCH_LEADS) in requests of 500, sent by BENCH_BATCH_CLIENTS
  (default 4) keep-alive connections. Goal: >= 2,000 leads/s.
- Single leads: BENCH_SINGLE_REQUESTS (default 6,000) one-lead requests paced at 200 a second
  in all (BENCH_SINGLE_RATE), from 8 connections. Goal: the pace is kept and p99 < 100 ms.

Run:  pytest tests/benchmarks/test_lead_intake_bench.py -m benchmark -n 0 -s
The machine may be shared: each result line prints the load average at the time.

Last measured (2 cores shared with other sessions, load average 5-9; six alternating runs each
of the code before and after, one server process x 8 threads, medians): single leads at 200/s
now 196/s achieved, p99 96 ms (best 200/s, p99 80 ms), p50 ~20 ms, 3.2 ms of server CPU a
request; before (lead numbers taken in the request's transaction, 9 statements a request):
168/s, p99 153 ms, p50 ~38 ms, 3.6 ms a request. Batches of 500: 5,500 leads/s (before 3,900;
goal 2,000), ~90 us of server CPU a lead. Two processes (BENCH_SERVERS=2, as compose runs):
199/s, p99 104 ms at load 9 and 193/s, p99 97 ms at load 7 (before: 136/s, p99 181 ms at 6).
At this load the goal (>= 194/s and p99 < 100 ms) was met in 3 of the 6 runs (before: none).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.webhooks import MAX_LEADS, sign
from core.db import UnitOfWork, make_engine
from core.tables import Base, Lead, OutboxMessage, Team, Workspace
from core.workspace.users import actor_for
from tests.benchmarks.test_leads_bench import NOW, SERVER, _cpu_seconds, _free_port
from tests.conftest import REPO, fresh_pg_database

pytestmark = pytest.mark.benchmark

BATCH_LEADS = int(os.environ.get("BENCH_BATCH_LEADS", "50000"))
BATCH_CLIENTS = int(os.environ.get("BENCH_BATCH_CLIENTS", "4"))
SINGLE_REQUESTS = int(os.environ.get("BENCH_SINGLE_REQUESTS", "6000"))
SINGLE_RATE = float(os.environ.get("BENCH_SINGLE_RATE", "200"))
SINGLE_CLIENTS = 8
SERVER_THREADS = int(os.environ.get("BENCH_SERVER_THREADS", "8"))
SERVERS = int(os.environ.get("BENCH_SERVERS", "1"))
SECRET = "bench-secret"
HOT_THRESHOLD = 55
TITLES = ("VP Sales", "Engineer", "Head of Growth", "Student", "CTO")


def lead(i: int) -> dict[str, Any]:
    return {
        "name": f"Lead {i}",
        "email": f"lead{i}@bench{i % 97}.io",
        "company": f"Bench {i % 1000}",
        "title": TITLES[i % len(TITLES)],
        "employees": (i * 37) % 5000,
        "source": ("referral", "google", "ads", "event")[i % 4],
        "country": ("TR", "DE", "US")[i % 3],
        "attributes": {"campaign": f"c{i % 13}", "form": "pricing" if i % 5 == 0 else "newsletter"},
    }


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_database("salesbot_bench") as db:
        url = db.url
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        with UnitOfWork(engine).transaction() as s:
            actor = actor_for(s, "T1", "UADMIN", NOW)
            # A threshold that makes about one lead in ten hot (the default rules score these leads up to 60).
            s.get_one(Workspace, actor.workspace_id).hot_lead_threshold = HOT_THRESHOLD
            s.add(Team(workspace_id=actor.workspace_id, name="East", channel_id="CEAST", created_at=NOW))
        engine.dispose()
        yield url


class Servers:
    """BENCH_SERVERS salesbot HTTP processes on the database; CPU time counted from `mark()`."""

    def __init__(self, url: str) -> None:
        self.ports = [_free_port() for _ in range(SERVERS)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-c", SERVER, url, str(p), SECRET, str(SERVER_THREADS)], env=env, cwd=REPO
            )
            for p in self.ports
        ]
        for port in self.ports:
            for _ in range(100):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                    break
                except OSError:
                    time.sleep(0.1)
        self.cpu_start = 0.0

    def mark(self) -> None:
        self.cpu_start = sum(_cpu_seconds(p.pid) for p in self.procs)

    def cpu(self) -> float:
        return sum(_cpu_seconds(p.pid) for p in self.procs) - self.cpu_start

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
            p.wait(10)


def signed_post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Salesbot-Timestamp": ts,
        "X-Salesbot-Signature": sign(SECRET, ts, body),
    }
    conn.request("POST", "/hooks/leads?team=T1", body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def stored_counts(url: str) -> tuple[int, int]:
    with UnitOfWork(make_engine(url)).read() as s:
        leads = int(s.scalar(select(func.count()).select_from(Lead)) or 0)
        alerts = int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)
    return leads, alerts


def test_50k_leads_in_batches_of_500(pg_url: str) -> None:
    bodies = [
        json.dumps([lead(i) for i in range(start, min(start + MAX_LEADS, BATCH_LEADS))]).encode()
        for start in range(0, BATCH_LEADS, MAX_LEADS)
    ]
    servers = Servers(pg_url)
    latencies: list[float] = []
    failures: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", servers.ports[worker % SERVERS], timeout=60)
        mine, bad = [], []
        for body in bodies[worker::BATCH_CLIENTS]:
            started = time.perf_counter()
            status, answer = signed_post(conn, body)
            mine.append(time.perf_counter() - started)
            if status != 200:
                bad.append((status, answer[:200]))
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    try:
        threads = [threading.Thread(target=client, args=(w,)) for w in range(BATCH_CLIENTS)]
        servers.mark()
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        server_cpu = servers.cpu()
    finally:
        servers.stop()
    latencies.sort()
    rate = BATCH_LEADS / elapsed
    leads, alerts = stored_counts(pg_url)
    print(
        f"\nbatched intake (postgresql, {SERVERS} server process(es) x {SERVER_THREADS} threads): "
        f"{BATCH_LEADS:,} leads in {len(bodies)} requests of {MAX_LEADS}, {BATCH_CLIENTS} clients, "
        f"{elapsed:.1f} s = {rate:,.0f} leads/s; request p50 {1000 * latencies[len(latencies) // 2]:.0f} ms, "
        f"max {1000 * latencies[-1]:.0f} ms; server CPU {1e6 * server_cpu / BATCH_LEADS:.0f} us a lead; "
        f"{alerts} hot-lead messages queued; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    assert failures == [] and leads == BATCH_LEADS and alerts > 0
    assert rate >= 2000


def test_single_lead_requests_at_200_a_second(pg_url: str) -> None:
    servers = Servers(pg_url)
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    interval = SINGLE_CLIENTS / SINGLE_RATE  # each connection sends one request per interval

    def client(worker: int, start: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", servers.ports[worker % SERVERS], timeout=10)
        mine, bad = [], []
        for n, i in enumerate(range(worker, SINGLE_REQUESTS, SINGLE_CLIENTS)):
            due = start + (n + worker / SINGLE_CLIENTS) * interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)  # pacing the sender, not waiting for the system under test
            body = json.dumps(lead(i)).encode()
            started = time.perf_counter()
            status, _ = signed_post(conn, body)
            mine.append(time.perf_counter() - started)
            if status != 200:
                bad.append(status)
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    try:
        servers.mark()
        begin = time.perf_counter() + 0.05
        threads = [threading.Thread(target=client, args=(w, begin)) for w in range(SINGLE_CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - begin
        server_cpu = servers.cpu()
    finally:
        servers.stop()
    latencies.sort()
    p50 = 1000 * latencies[len(latencies) // 2]
    p99 = 1000 * latencies[int(len(latencies) * 0.99) - 1]
    rate = SINGLE_REQUESTS / elapsed
    leads, _ = stored_counts(pg_url)
    print(
        f"\nsingle-lead intake (postgresql, paced at {SINGLE_RATE:.0f}/s): {SINGLE_REQUESTS:,} requests in "
        f"{elapsed:.1f} s = {rate:,.0f} leads/s; p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {1000 * latencies[-1]:.0f} ms; "
        f"server CPU {1000 * server_cpu / SINGLE_REQUESTS:.2f} ms a request; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    assert failures == [] and leads == SINGLE_REQUESTS
    assert rate >= 0.97 * SINGLE_RATE and p99 < 100
