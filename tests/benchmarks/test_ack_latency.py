"""Ack latency of `/deal new ...` over HTTP, against a bare Bolt app on the same server.

One waitress server (a separate process, as in production) serves salesbot's /slack/events
and, at /bare/slack/events, a bare Bolt app whose /noop command only acks. The database holds
10,000 deals. An open-loop generator sends signed requests at BENCH_RATE a second (default 50)
for BENCH_SECONDS (default 60) and records the time to the HTTP answer (the ack): first `/noop`
to the bare app, then `/deal new` to salesbot, back to back on the same server process
(BENCH_MODE=phases, the default). BENCH_MODE=interleaved sends both at BENCH_RATE each at the
same time (twice the load). Reported: p50 / p99 for both, per backend. The deferred work
(creating the deal, answering on response_url) must all land afterwards.

Run:  pytest tests/benchmarks/test_ack_latency.py -m benchmark -n 0 -s
      BENCH_SECONDS=15 BENCH_RATE=50 pytest ... (a quicker run)
Results are printed and, when BENCH_OUT is set, appended to that file as JSON lines.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from core.db import UnitOfWork, make_engine, migrate
from core.tables import Deal, DealStatus, Stage, User, Workspace
from core.workspace.users import actor_for
from core.workspace.workspaces import default_pipeline
from tests.bot.fake_slack import FakeSlack, running_fake_slack
from tests.bot.signing import BOT_TOKEN, SIGNING_SECRET, command_body, sign
from tests.conftest import REPO, fresh_pg_database
from tests.e2e.conftest import base_env, free_port

pytestmark = pytest.mark.benchmark

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
RATE = float(os.environ.get("BENCH_RATE", "50"))
SEED_DEALS = int(os.environ.get("BENCH_DEALS", "10000"))
USERS = ("UANA", "UBOB", "UCEM", "UDEB", "UEVA")  # who sends the commands
OWNERS = 100  # the seeded deals are spread over this many reps (100 open deals each), USERS among them
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def serve_for_benchmark() -> None:  # runs in the server process
    """salesbot's WSGI app plus a bare Bolt app at /bare/slack/events, on one waitress server."""
    from slack_bolt import Ack, App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    from bot.app import create_app
    from bot.clock import utcnow
    from bot.config import load_settings
    from bot.server import SalesbotServer, make_waitress_server

    settings = load_settings()
    uow = UnitOfWork(make_engine(settings.database_url))
    salesbot = SalesbotServer(settings, uow, bolt_app=create_app(settings, uow), clock=utcnow)
    # Authorised like salesbot (auth.test against the same fake Slack), so only the listener differs.
    bare = App(
        client=WebClient(token=BOT_TOKEN, base_url=settings.slack_api_url),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
    )

    @bare.command("/noop")
    def noop(ack: Ack) -> None:
        ack()

    bare_handler = SlackRequestHandler(bare, path="/bare/slack/events")

    def both(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/bare/"):
            return bare_handler(environ, start_response)
        return salesbot(environ, start_response)

    server = make_waitress_server(both, "127.0.0.1", settings.port)  # type: ignore[arg-type]
    print("benchmark server ready", file=sys.stderr, flush=True)
    server.run()


def seed(url: str, n: int) -> None:
    """Migrate, then insert `n` open deals in one workspace (bulk, one transaction)."""
    migrate(url)
    engine = make_engine(url)
    uow = UnitOfWork(engine)
    with uow.transaction() as s:
        owner_ids = [*USERS, *(f"UREP{i:03d}" for i in range(OWNERS - len(USERS)))]
        owners = [actor_for(s, "T1", uid, NOW, name=uid.title(), tz="UTC") for uid in owner_ids]
        ws = s.scalar(select(Workspace).where(Workspace.team_id == "T1"))
        assert ws is not None
        pipeline = default_pipeline(s, ws.id)
        stages = list(
            s.scalars(
                select(Stage).where(Stage.pipeline_id == pipeline.id, Stage.is_won.is_(False), Stage.is_lost.is_(False))
            )
        )
        rows = [
            {
                "workspace_id": ws.id,
                "number": i + 1,
                "title": f"Seed deal {i + 1}",
                "amount_minor": 100_000 + i,
                "currency": "USD",
                "pipeline_id": pipeline.id,
                "stage_id": stages[i % len(stages)].id,
                "status": DealStatus.OPEN,
                "owner_id": owners[i % len(owners)].user_id,
                "created_at": NOW - timedelta(days=i % 300),
                "updated_at": NOW,
                "last_touch_at": NOW,
                "stale_nudges": 0,
            }
            for i in range(n)
        ]
        s.execute(insert(Deal), rows)
        ws.next_deal_number = n + 1
        # Profiles fresh as of now: no users.info on the ack path (the steady state).
        s.execute(update(User).values(refreshed_at=datetime.now(UTC)))
    engine.dispose()


def count_deals(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = int(conn.scalar(select(func.count()).select_from(Deal)) or 0)
    engine.dispose()
    return n


def post(port: int, path: str, body: str) -> tuple[int, float]:
    """One signed POST on a new connection (as Slack does); (status, seconds to the answer)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    finally:
        conn.close()
    return status, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


MODE = os.environ.get("BENCH_MODE", "phases")


def run_load(port: int, fake: FakeSlack, kinds: tuple[str, ...]) -> dict[str, list[tuple[int, float]]]:
    """Open loop: every 1/RATE s one request of each kind, sent from a pool (never waits on answers)."""
    results: dict[str, list[tuple[int, float]]] = {kind: [] for kind in kinds}
    lock = threading.Lock()

    def fire(kind: str, i: int) -> None:
        if kind == "deal":
            body = command_body(
                "/deal",
                f"new Bench deal {i} {i % 90 + 10}k",
                user_id=USERS[i % len(USERS)],
                response_url=fake.response_url(f"b{i}"),
            )
            outcome = post(port, "/slack/events", body)
        else:
            body = command_body("/noop", "", user_id=USERS[i % len(USERS)], response_url=fake.response_url("n"))
            outcome = post(port, "/bare/slack/events", body)
        with lock:
            results[kind].append(outcome)

    total = int(SECONDS * RATE)
    interval = 1.0 / RATE
    with ThreadPoolExecutor(max_workers=64) as pool:
        start = time.perf_counter()
        for i in range(total):
            due = start + i * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing the generator, not waiting for a result
            for kind in kinds:
                pool.submit(fire, kind, i)
    return results


def summarise(results: dict[str, list[tuple[int, float]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"seconds": SECONDS, "rate": RATE, "mode": MODE}
    for kind, rows in results.items():
        lat = [t * 1000 for _, t in rows]
        summary[kind] = {
            "n": len(rows),
            "errors": sum(1 for s, _ in rows if s != 200),
            "p50_ms": round(statistics.median(lat), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "max_ms": round(max(lat), 2),
        }
    return summary


@pytest.fixture(params=["sqlite", "postgresql"])
def bench_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path / 'bench.db'}"
        return
    with fresh_pg_database("salesbot_bench") as db:
        yield "postgresql", db.url


def test_ack_latency(bench_db: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    backend, url = bench_db
    seed(url, SEED_DEALS)
    assert count_deals(url) == SEED_DEALS
    with running_fake_slack() as fake:
        for uid in USERS:
            fake.add_user(uid, uid.title())
        port = free_port()
        env = base_env(
            DATABASE_URL=url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.url,
            PORT=str(port),
            PYTHONPATH=str(REPO),
        )
        code = "from tests.benchmarks.test_ack_latency import serve_for_benchmark as s; s()"
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(REPO), stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                if "benchmark server ready" in line:
                    break
            else:
                pytest.fail("the benchmark server did not start")
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
            post(port, "/bare/slack/events", command_body("/noop", ""))  # warm both apps up
            if MODE == "interleaved":
                results = run_load(port, fake, ("deal", "bare"))
            else:  # the bare app first, then salesbot, each alone at RATE
                results = {**run_load(port, fake, ("bare",)), **run_load(port, fake, ("deal",))}
            summary = summarise(results)
            expected = summary["deal"]["n"]
            started = time.perf_counter()
            fake.wait_for("response_url", expected, timeout=120)
            summary["deferred_done_after_s"] = round(time.perf_counter() - started, 2)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    summary["backend"] = backend
    summary["deals_in_db"] = count_deals(url)
    with capsys.disabled():
        print(
            f"\nack latency [{backend}, {SEED_DEALS} deals, {RATE:g}/s for {SECONDS:g}s, {MODE}]: "
            f"/deal new p50 {summary['deal']['p50_ms']} ms p99 {summary['deal']['p99_ms']} ms | "
            f"bare no-op p50 {summary['bare']['p50_ms']} ms p99 {summary['bare']['p99_ms']} ms | "
            f"deferred work done {summary['deferred_done_after_s']} s after the last request; "
            f"p50 ratio {summary['deal']['p50_ms'] / summary['bare']['p50_ms']:.2f}x"
        )
    if os.environ.get("BENCH_OUT"):
        with open(os.environ["BENCH_OUT"], "a") as f:
            f.write(json.dumps(summary) + "\n")
    assert summary["deal"]["errors"] == 0 and summary["bare"]["errors"] == 0
    assert summary["deals_in_db"] == SEED_DEALS + expected
    assert summary["deal"]["p99_ms"] < 3000, "acks must come within Slack's 3-second window"
