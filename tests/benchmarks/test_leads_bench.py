"""Lead benchmarks: points scoring, webhook intake over HTTP, training on Leads.csv.

- Scoring: 100,000 leads with 20 engagement events each, scored with the default rules
  (pure functions, one compiled rule set). Goal: >= 20,000 leads/s.
- Webhook intake: 10,000 signed single-lead POST /hooks/leads requests over HTTP to the
  real WSGI server (waitress, 8 threads, in a separate process as in production), sent by
  BENCH_CLIENTS (default 8) keep-alive connections. Goal: >= 500 leads/s sustained, p99 < 100 ms.
  Runs on SQLite (a file; one server process, SQLite has one writer) and PostgreSQL (BENCH_SERVERS
  server processes, default 1; replicas behind a load balancer would be several).
- Training the predictive model on Leads.csv (9,240 leads). Goal: < 5 s.

Run:  pytest tests/benchmarks/test_leads_bench.py -m benchmark -n 0 -s
      BENCH_REQUESTS=2000 pytest ... (a quicker run)
"""

from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.webhooks import sign
from core.db import UnitOfWork, make_engine
from core.leads import csv_io as lead_io
from core.leads import predictive
from core.leads.points import Scorer, score_many
from core.leads.rules import DEFAULT_RULES, EVENT_KINDS
from core.tables import Base
from core.workspace.users import actor_for
from tests.conftest import REPO, fresh_pg_database

pytestmark = pytest.mark.benchmark

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "10000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
SERVER_THREADS = int(os.environ.get("BENCH_SERVER_THREADS", "8"))
SERVERS = int(os.environ.get("BENCH_SERVERS", "1"))
SECRET = "bench-secret"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_points_scoring_of_100k_leads_with_20_events_each() -> None:
    rnd = random.Random(7)
    titles = ["VP Sales", "Engineer", "Head of Growth", "Student", None]
    leads = []
    for i in range(100_000):
        fields = {
            "title": rnd.choice(titles),
            "employees": rnd.choice([5, 80, 1500, None]),
            "source": rnd.choice(["referral", "google", "ads"]),
            "email": f"l{i}@x.io",
            "company": "X",
        }
        events = [(rnd.choice(EVENT_KINDS), NOW - timedelta(hours=rnd.uniform(0, 24 * 60))) for _ in range(20)]
        leads.append((fields, events))
    scorer = Scorer(DEFAULT_RULES)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        scores = score_many(scorer, leads, NOW)
        runs.append(time.perf_counter() - started)
    rate = len(leads) / statistics.median(runs)
    print(
        f"\nscoring: 100,000 leads x 20 events, median of 3 runs {statistics.median(runs):.2f} s "
        f"= {rate:,.0f} leads/s (runs {', '.join(f'{r:.2f}' for r in runs)})"
    )
    assert all(0 <= s.points <= 100 for s in scores)
    assert rate >= 20_000


@pytest.mark.leads_csv
def test_training_the_model_on_leads_csv(leads_csv: Path) -> None:
    rows, labels = lead_io.training_rows(leads_csv)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        model = predictive.train(rows, labels)
        runs.append(time.perf_counter() - started)
    print(
        f"\ntraining on Leads.csv ({len(rows):,} leads, {model['width']} columns): median of 3 "
        f"{statistics.median(runs):.2f} s (runs {', '.join(f'{r:.2f}' for r in runs)})"
    )
    assert statistics.median(runs) < 5


SERVER = """
import sys
from datetime import UTC, datetime
from bot.config import Settings
from bot.server import SalesbotServer, make_waitress_server
from core.db import UnitOfWork, make_engine
url, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
settings = Settings(database_url=url, lead_webhook_secret=secret, scheduler=False)
app = SalesbotServer(settings, UnitOfWork(make_engine(url)), bolt_app=None, clock=lambda: datetime.now(UTC))
make_waitress_server(app, "127.0.0.1", port, threads=int(sys.argv[4])).run()
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def bench_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bench.db'}"
        return
    with fresh_pg_database("salesbot_bench") as db:
        yield db.url


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_webhook_intake_of_10k_single_lead_requests(bench_db: str) -> None:
    engine = make_engine(bench_db)
    Base.metadata.create_all(engine)
    with UnitOfWork(engine).transaction() as s:
        actor_for(s, "T1", "UADMIN", NOW)
    engine.dispose()
    # SQLite is one process (one writer); PostgreSQL may run BENCH_SERVERS replicas, as deployed.
    replicas = 1 if bench_db.startswith("sqlite") else SERVERS
    ports = [_free_port() for _ in range(replicas)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", SERVER, bench_db, str(p), SECRET, str(SERVER_THREADS)], env=env, cwd=REPO
        )
        for p in ports
    ]
    try:
        for port in ports:
            for _ in range(100):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                    break
                except OSError:
                    time.sleep(0.1)
        latencies: list[float] = []
        failures: list[int] = []
        lock = threading.Lock()

        def client(worker: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", ports[worker % len(ports)], timeout=10)
            mine, bad = [], []
            for i in range(worker, REQUESTS, CLIENTS):
                body = json.dumps(
                    {
                        "name": f"Lead {i}",
                        "email": f"lead{i}@bench.io",
                        "company": "Bench",
                        "title": "VP Sales" if i % 3 == 0 else "Engineer",
                        "employees": i % 2000,
                    }
                ).encode()
                ts = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    "X-Salesbot-Timestamp": ts,
                    "X-Salesbot-Signature": sign(SECRET, ts, body),
                }
                started = time.perf_counter()
                conn.request("POST", "/hooks/leads", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                if response.status != 200:
                    bad.append(response.status)
            with lock:
                latencies.extend(mine)
                failures.extend(bad)

        threads = [threading.Thread(target=client, args=(w,)) for w in range(CLIENTS)]
        cpu_before = sum(_cpu_seconds(s.pid) for s in servers)  # leave out the start-up (imports)
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        server_cpu = sum(_cpu_seconds(s.pid) for s in servers) - cpu_before
    finally:
        for s in servers:
            s.terminate()
            s.wait(10)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    rate = REQUESTS / elapsed
    backend = bench_db.split(":")[0]
    print(
        f"\nwebhook intake ({backend}, {replicas} server process(es)): {REQUESTS:,} single-lead requests, "
        f"{CLIENTS} clients, {elapsed:.1f} s "
        f"= {rate:,.0f} leads/s; p50 {p50:.1f} ms, p99 {p99:.1f} ms; server CPU {1000 * server_cpu / REQUESTS:.2f} ms "
        f"a request; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    with UnitOfWork(make_engine(bench_db)).read() as s:
        stored = s.execute(text("SELECT count(*) FROM leads")).scalar_one()
    assert failures == [] and stored == REQUESTS
    assert rate >= 500 and p99 < 100
