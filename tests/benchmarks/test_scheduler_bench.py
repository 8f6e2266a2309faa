"""Scheduler benchmarks: the due sweep, the weekly digest data, and paced delivery.

1. Due-reminder sweep on PostgreSQL: 1,000,000 live reminder rows, 1,000 coming due each
   minute. Timed, minute after minute: the indexed due query alone (goal < 20 ms), and the
   whole sweep as the `nudges` job runs it (1,000 nudges written to the outbox, 1,000
   reminders marked sent, committed). The plan must use the partial due index.
2. Weekly digest data for 100 teams / 2,000 reps / 100,000 deals (plus 45k history rows and
   60k activities) on PostgreSQL: `team_digests` for every team (goal < 2 s), against
   pandas computing the same aggregates from DataFrames already in memory, and pandas
   reading the tables first, in the same run; the figures must agree.
3. Delivery of 1,000 messages through a fake Slack enforcing 1 message/s per channel (burst
   3) and 10 messages/s for the workspace (burst 20), on a virtual clock: achieved rate
   against the allowed rate (goal >= 90 %), and 0 duplicates, also with random 429/500.
Each timing is the median of RUNS runs after a warm-up. Run with
    pytest tests/benchmarks/test_scheduler_bench.py -m benchmark -n 0 -s
"""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, select, text

from bot.delivery import Deliverer, Pacer, delivery_client
from core.db import UnitOfWork
from core.notify import outbox
from core.notify.digest import team_digests
from core.notify.nudges import sweep_due_reminders
from core.notify.reminders import due_reminders
from core.tables import Stage
from core.workspace.workspaces import default_pipeline, get_or_create_workspace
from tests.bot.fake_slack_rate_limited import VirtualClock, running_rate_limited_slack

pytestmark = pytest.mark.benchmark

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def median_seconds(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    """(median wall time of `runs` calls after one warm-up, the last result)."""
    result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


@pytest.fixture
def pg(pg_engine: Engine) -> Iterator[Engine]:
    from tests.conftest import truncate_all

    truncate_all(pg_engine)
    yield pg_engine
    truncate_all(pg_engine)


def _workspace(engine: Engine) -> tuple[int, list[Stage]]:
    uow = UnitOfWork(engine)
    with uow.transaction() as s:
        ws = get_or_create_workspace(s, "TBENCH", NOW)
        stages = list(s.scalars(select(Stage).where(Stage.pipeline_id == default_pipeline(s, ws.id).id)
                                .order_by(Stage.position)))
        return ws.id, stages


def _run_sql(engine: Engine, statements: list[str]) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


# -- 1. the due sweep ----------------------------------------------------------------------


def test_due_sweep_over_a_million_reminders(pg: Engine) -> None:
    ws_id, _ = _workspace(pg)
    now_sql = f"timestamptz '{NOW.isoformat()}'"
    _run_sql(pg, [
        "SELECT setseed(0.3)",
        f"""INSERT INTO users (workspace_id, slack_id, name, tz, role, is_slack_admin, is_away, created_at)
            SELECT {ws_id}, 'UR' || g, 'Rep ' || g,
                   (ARRAY['UTC','America/New_York','Europe/Berlin','Asia/Kolkata'])[g % 4 + 1],
                   'rep', false, false, now() FROM generate_series(1, 1000) g""",
        # 1,000,000 live reminders, 1,000 coming due each minute from NOW on: every sweep
        # (one a minute, as the scheduler runs it) finds 1,000 due among a million rows.
        f"""INSERT INTO reminders (workspace_id, user_id, due_at, text, status, created_at)
            SELECT {ws_id}, (SELECT min(id) FROM users) + g % 1000,
                   {now_sql} - interval '30 seconds' + (g % 1000) * interval '1 minute' + random() * interval '20 s',
                   'Follow up ' || g, 'pending', {now_sql} - interval '30 days'
            FROM generate_series(1, 1000000) g""",
    ])
    uow = UnitOfWork(pg)
    with pg.connect() as conn:
        plan = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT * FROM reminders WHERE reminders.status IN ('pending', 'snoozed') "
            f"AND due_at <= {now_sql} ORDER BY due_at LIMIT 1000")))
    assert "ix_reminders_due" in plan, plan

    query_times, sweep_times = [], []
    for minute in range(RUNS + 1):  # the first minute warms up
        at = NOW + timedelta(minutes=minute)
        with uow.read() as s:
            started = time.perf_counter()
            found = len(due_reminders(s, at, 2000))
            query_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        with uow.transaction() as s:  # the whole sweep, committed, as the `nudges` job runs it
            queued = sweep_due_reminders(s, at, 2000)
        sweep_times.append(time.perf_counter() - started)
        assert found == queued == 1000, (minute, found, queued)
    query_s, sweep_s = statistics.median(query_times[1:]), statistics.median(sweep_times[1:])
    print("\n[bench] due query per minute (ms):", " ".join(f"{t * 1000:.1f}" for t in query_times))
    print(f"\n[bench] due query, 1M reminders / 1,000 due (PostgreSQL): {query_s * 1000:.1f} ms median of {RUNS}")
    print(f"[bench] due sweep, 1,000 nudges written + 1,000 reminders marked, committed (PostgreSQL): "
          f"{sweep_s * 1000:.1f} ms median of {RUNS}")
    assert query_s < 0.020


# -- 2. the digest data --------------------------------------------------------------------


def _generate_org(engine: Engine) -> int:
    ws_id, stages = _workspace(engine)
    stage_ids = "ARRAY[" + ",".join(str(st.id) for st in stages) + "]"
    names = "ARRAY[" + ",".join(f"'{st.name}'" for st in stages) + "]"
    pipeline_id = stages[0].pipeline_id
    now_sql = f"timestamptz '{NOW.isoformat()}'"
    _run_sql(engine, [
        "SELECT setseed(0.5)",
        f"""INSERT INTO teams (workspace_id, name, created_at)
            SELECT {ws_id}, 'Team ' || g, now() FROM generate_series(1, 100) g""",
        f"""INSERT INTO users (workspace_id, slack_id, name, tz, role, team_id, is_slack_admin, is_away, created_at)
            SELECT {ws_id}, 'UB' || g, 'Rep ' || g, 'UTC', 'rep',
                   (SELECT min(id) FROM teams WHERE workspace_id = {ws_id}) + g % 100, false, false, now()
            FROM generate_series(1, 2000) g""",
        f"""INSERT INTO deals (workspace_id, number, title, amount_minor, currency, pipeline_id, stage_id, status,
                               owner_id, created_at, engaged_at, updated_at, closed_at, last_touch_at,
                               expected_close, stale_nudges)
            SELECT {ws_id}, g, 'Deal ' || g, (50 + floor(random() * 20000))::bigint * 100, 'USD', {pipeline_id},
                   ({stage_ids})[r + 1], CASE r WHEN 4 THEN 'won' WHEN 5 THEN 'lost' ELSE 'open' END,
                   (SELECT min(id) FROM users WHERE workspace_id = {ws_id}) + g % 2000,
                   c, c, c, CASE WHEN r >= 4 THEN c + random() * ({now_sql} - c) END,
                   c + random() * ({now_sql} - c), (c + random() * 200 * interval '1 day')::date, 0
            FROM (SELECT g, floor(random() * 6)::int AS r,
                         {now_sql} - random() * 730 * interval '1 day' AS c
                  FROM generate_series(1, 100000) g) x""",
        # History: a third of the deals moved stage lately, a tenth changed amount, and
        # every deal closed in the last three weeks has its status change.
        f"""INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, source)
            SELECT {ws_id}, d.id, 'stage', ({names})[(s.position + 3) % 4 + 1], s.name,
                   greatest(d.created_at, {now_sql} - random() * interval '20 days'), 'slack'
            FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.number % 3 = 0 AND d.status = 'open'
            ORDER BY d.id""",
        f"""INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, source)
            SELECT {ws_id}, d.id, 'amount', ((d.amount_minor - 10000) / 100.0)::numeric(18, 2)::text,
                   (d.amount_minor / 100.0)::numeric(18, 2)::text,
                   greatest(d.created_at, {now_sql} - random() * interval '14 days'), 'slack'
            FROM deals d WHERE d.number % 10 = 1 ORDER BY d.id""",
        f"""INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, source)
            SELECT {ws_id}, d.id, 'status', 'open', d.status, d.closed_at, 'slack'
            FROM deals d WHERE d.closed_at > {now_sql} - interval '21 days' ORDER BY d.id""",
        f"""INSERT INTO activities (workspace_id, deal_id, kind, user_id, at, text, created_at)
            SELECT {ws_id}, NULL, (ARRAY['call','email','meeting','demo','proposal','note'])[g % 6 + 1],
                   (SELECT min(id) FROM users WHERE workspace_id = {ws_id}) + g % 2000,
                   {now_sql} - random() * interval '21 days', '', {now_sql}
            FROM generate_series(1, 60000) g""",
    ])
    return ws_id


def _frames(engine: Engine, ws_id: int) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        def read(sql: str) -> pd.DataFrame:
            return pd.read_sql(text(sql), conn)

        return {
            "deals": read(f"SELECT id, number, owner_id, stage_id, pipeline_id, status, amount_minor, created_at, "
                          f"closed_at, last_touch_at, expected_close FROM deals WHERE workspace_id = {ws_id}"),
            "users": read(f"SELECT id, team_id FROM users WHERE workspace_id = {ws_id}"),
            "stages": read(f"SELECT id, name, probability, position, rotting_days, is_won, is_lost, pipeline_id "
                           f"FROM stages WHERE workspace_id = {ws_id}"),
            "changes": read(f"SELECT id, deal_id, field, old_value, new_value, changed_at FROM deal_changes "
                            f"WHERE workspace_id = {ws_id}"),
            "activities": read(f"SELECT user_id, kind, at FROM activities WHERE workspace_id = {ws_id}"),
        }


def pandas_digest(f: dict[str, pd.DataFrame], now: datetime) -> dict[str, Any]:
    """The same aggregates as core.notify.digest, with pandas, from DataFrames already in memory."""
    # The week: Monday 00:00 to Monday 00:00 before `now` (UTC readers); the pipeline a week ago is at now - 7 days.
    monday = pd.Timestamp(now).normalize() - pd.Timedelta(days=now.weekday())
    week_start, week_end = monday - pd.Timedelta(days=7), monday
    now_ts, start = pd.Timestamp(now), pd.Timestamp(now - timedelta(days=7))
    deals = f["deals"].merge(f["users"].rename(columns={"id": "owner_id"}), on="owner_id")
    stages = f["stages"].set_index("id")
    open_stages = stages[~(stages.is_won | stages.is_lost)]
    last_open = open_stages.sort_values("position").groupby("pipeline_id").tail(1)
    fallback = dict(zip(last_open.pipeline_id, last_open.index, strict=True))

    by_name = stages.reset_index()[["pipeline_id", "name", "id"]].rename(columns={"id": "stage_then"})
    terminal = (stages.is_won | stages.is_lost).to_dict()

    def pipeline_at(at: pd.Timestamp) -> pd.DataFrame:
        ch = f["changes"][f["changes"].changed_at > at]
        first = ch.sort_values("id").groupby(["deal_id", "field"])["old_value"].first().unstack()
        first = first.reindex(columns=["stage", "amount", "status"]).add_prefix("then_")
        d = deals[deals.created_at <= at].join(first, on="id")
        closed_later = d.closed_at.notna() & (d.closed_at > at)
        status_then = d.then_status.where(d.then_status.notna(), d.status.where(~closed_later, "open"))
        amount_then = (pd.to_numeric(d.then_amount, errors="coerce") * 100).round()
        amount_then = amount_then.where(d.then_amount.notna(), d.amount_minor)
        name_then = d.then_stage.where(d.then_stage.notna(), stages.name.reindex(d.stage_id).to_numpy())
        d = d.assign(name=name_then, amount_then=amount_then, status_then=status_then)
        d = d[d.status_then == "open"].merge(by_name, on=["pipeline_id", "name"])
        was_terminal = d.stage_then.map(terminal)
        d["stage_then"] = d.stage_then.where(~was_terminal, d.pipeline_id.map(fallback))
        out = d.groupby(["team_id", "stage_then"]).agg(count=("id", "size"), amount=("amount_then", "sum"))
        out["weighted"] = out.amount * stages.probability.reindex(out.index.get_level_values(1)).to_numpy()
        return out

    def in_week(col: pd.Series) -> pd.Series:
        return (col >= week_start) & (col < week_end)

    is_open = deals.status == "open"
    rot = stages.rotting_days.reindex(deals.stage_id).to_numpy()
    stale = is_open & (rot > 0) & (deals.last_touch_at < now_ts - pd.to_timedelta(rot, unit="D"))
    slipped = is_open & deals.expected_close.notna() & (deals.expected_close < now.date())
    quarter = pd.Timestamp(datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=UTC))
    sums = {}
    for name, mask in (
        ("new", in_week(deals.created_at)),
        ("won", (deals.status == "won") & in_week(deals.closed_at)),
        ("lost", (deals.status == "lost") & in_week(deals.closed_at)),
        ("q_won", (deals.status == "won") & (deals.closed_at >= quarter) & (deals.closed_at < now_ts)),
        ("stale", stale),
        ("slipped", slipped),
    ):
        sums[name] = deals[mask].groupby("team_id").agg(count=("id", "size"), amount=("amount_minor", "sum"))
    top = deals[is_open].sort_values(["amount_minor", "number"], ascending=[False, True]).groupby("team_id").head(5)
    stale_list = deals[stale].sort_values(["last_touch_at", "number"]).groupby("team_id").head(10)
    slipped_list = deals[slipped].sort_values(["expected_close", "number"]).groupby("team_id").head(10)
    ch = f["changes"]
    moves = ch[(ch.field == "stage") & in_week(ch.changed_at)].merge(deals[["id", "team_id"]], left_on="deal_id",
                                                                      right_on="id")
    act = f["activities"][in_week(f["activities"]["at"])].merge(f["users"], left_on="user_id", right_on="id")
    return {
        "now": pipeline_at(now_ts),
        "prev": pipeline_at(start),
        **sums,
        "top": top.groupby("team_id").amount_minor.apply(list),
        "stale_list": stale_list.groupby("team_id").number.apply(list),
        "slipped_list": slipped_list.groupby("team_id").number.apply(list),
        "moves": moves.groupby(["team_id", "old_value", "new_value"]).size(),
        "activity": act.groupby(["team_id", "user_id", "kind"]).size(),
    }


def test_weekly_digest_data_for_100_teams(pg: Engine) -> None:
    ws_id = _generate_org(pg)
    uow = UnitOfWork(pg)

    def ours() -> dict[Any, Any]:
        with uow.read() as s:
            return team_digests(s, ws_id, NOW)

    frames = _frames(pg, ws_id)
    sql_s, digests = median_seconds(ours)
    pandas_s, expected = median_seconds(lambda: pandas_digest(frames, NOW))
    loaded_s, _ = median_seconds(lambda: pandas_digest(_frames(pg, ws_id), NOW), runs=3)
    assert len(digests) == 100
    # The two computations agree (pipeline now and a week ago, won / lost / new, stale, top deals).
    stage_names = dict(zip(frames["stages"].id, frames["stages"].name, strict=True))
    for team_id, d in digests.items():
        for key, attr in (("now", "count"), ("prev", "prev_count")):
            ours_counts = {line.stage: getattr(line, attr) for line in d.stages if getattr(line, attr)}
            frame = expected[key]
            theirs = frame.loc[team_id]["count"] if team_id in frame.index.get_level_values(0) else {}
            assert ours_counts == {stage_names[i]: int(c) for i, c in dict(theirs).items()}, (team_id, key)
        for key in ("new", "won", "lost", "stale", "slipped"):
            row = expected[key].loc[team_id] if team_id in expected[key].index else None
            assert getattr(d, key)[0] == (int(row["count"]) if row is not None else 0), (team_id, key)
        assert [int(x.amount * 100) for x in d.top_deals if x.amount is not None] == list(expected["top"][team_id])
        for key, lines in (("stale_list", d.stale_deals), ("slipped_list", d.slipped_deals)):
            assert [x.ref for x in lines] == [f"D-{n}" for n in expected[key].get(team_id, [])], (team_id, key)
    print(f"\n[bench] digest data, 100 teams / 2,000 reps / 100k deals (PostgreSQL): {sql_s * 1000:.0f} ms "
          f"median of {RUNS}; pandas on in-memory DataFrames: {pandas_s * 1000:.0f} ms; pandas reading the "
          f"tables first (what a job would do): {loaded_s * 1000:.0f} ms")
    assert sql_s < 2.0


# -- 3. paced delivery ---------------------------------------------------------------------


def _deliver_1000(uow: UnitOfWork, ws_id: int, pacer: Pacer, **fake_options: Any) -> dict[str, float]:
    clock = VirtualClock(NOW)
    with running_rate_limited_slack(clock, channel_rate=1, channel_burst=3, workspace_rate=10, workspace_burst=20,
                                    **fake_options) as fake:
        with uow.transaction() as s:
            for i in range(1000):
                outbox.enqueue(s, ws_id, f"bench-{i}", "bench", f"C{i % 50:02d}", {"text": f"message {i}"}, NOW)
        client = delivery_client(WebClient(token="xoxb-bench", base_url=fake.url))
        deliverer = Deliverer(uow, client, clock=clock.now, sleep=clock.sleep, pacer=pacer, batch=200)
        started_wall = time.perf_counter()
        deliverer.drain(max_wait=3600, max_seconds=10_000)
        wall = time.perf_counter() - started_wall
        keys = fake.posted_keys()
        times = [p.at for p in fake.posted]
        answered = dict(fake.answered)
    elapsed = max(times) - NOW.timestamp()
    # The fake allows a burst of 20, then 10 a second: the fastest possible schedule.
    ideal = (len(keys) - 20) / 10
    return {
        "posted": len(keys), "unique": len(set(keys)), "virtual_s": elapsed, "ideal_s": ideal,
        "efficiency": ideal / elapsed, "wall_s": wall, "429": answered.get(429, 0), "500": answered.get(500, 0),
    }


@pytest.mark.parametrize(
    ("label", "pacer_settings", "chaos"),
    [
        ("pacer set to the workspace limit", {"workspace_rate": 10, "workspace_burst": 20}, {}),
        ("default pacer (5/s, under this fake's 10/s)", {}, {}),
        ("workspace limit, random 429/500 (5% each)", {"workspace_rate": 10, "workspace_burst": 20},
         {"p429": 0.05, "p500": 0.05}),
    ],
)
def test_paced_delivery_of_1000_messages(
    uow: UnitOfWork, ana: Any, label: str, pacer_settings: dict[str, float], chaos: dict[str, float]
) -> None:
    # A fresh pacer per run: one shared by the SQLite and PostgreSQL runs carried the first
    # run's token buckets (stamped in its virtual time) into the second and halved its rate.
    result = _deliver_1000(uow, ana.workspace_id, Pacer(**pacer_settings), **chaos)
    print(f"\n[bench] delivery, {label}: {result['posted']} posted ({result['unique']} unique) in "
          f"{result['virtual_s']:.1f} s Slack time (ideal {result['ideal_s']:.1f} s) = "
          f"{result['efficiency'] * 100:.1f} % of the allowed rate; 429s {result['429']}, 500s {result['500']}; "
          f"wall {result['wall_s']:.1f} s")
    assert result["posted"] == result["unique"] == 1000
    if "default" not in label:
        assert result["efficiency"] >= 0.90
