"""One figure, one answer: every surface shows the demo manager the same numbers (issue 10, point 3).

The Maven demo is loaded; as its manager Dustin Brinkmann at three instants the App Home,
`/pipeline`, `/pipeline forecast`, `/pipeline digest`, the KPI blocks and the CLI's
`salesbot forecast show` are rendered (their text, as Slack or a terminal shows it), each
figure is read back from that text, and every surface's reading must equal the others' AND
an independent pandas computation from the CSV files (core/deals/demo_data/crm-sales-opportunities).

The table surface x figure x date, with pandas beside, is printed (`-s` shows it).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.home import home_data
from bot.views.digest import digest_message
from bot.views.forecast import forecast_message
from bot.views.home import home_view
from bot.views.kpis import kpi_blocks
from bot.views.pipeline import pipeline_message
from core.db import UnitOfWork
from core.deals.demo import load_demo_org
from core.insight.forecast import forecast_report
from core.insight.kpis import kpis, pipeline_by_stage
from core.insight.quotas import label_bounds, quarter_label
from core.notify.digest import digest_for
from core.tables import Stage, Team, User, Workspace
from core.workspace.admin import pipeline_scope
from core.workspace.users import actor_of
from tests.conftest import MAVEN_DIR

MANAGER = "Dustin Brinkmann"
LOADED_AT = datetime(2017, 6, 30, 13, tzinfo=UTC)  # the demo is loaded at the first instant
INSTANTS = [datetime(2017, 6, 30, 13, tzinfo=UTC), datetime(2017, 9, 25, 13, tzinfo=UTC),
            datetime(2017, 12, 29, 13, tzinfo=UTC)]


def texts(node: Any) -> list[str]:
    """Every text a Block Kit structure (or a message) shows, in order."""
    if isinstance(node, dict):
        out = [node["text"]] if isinstance(node.get("text"), str) and node.get("type") != "plain_text_input" else []
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                out += texts(value)
        return out
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    return []


def dollars(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", "").replace("≈", "").strip())


def find(pattern: str, text: str) -> re.Match[str]:
    m = re.search(pattern, text, re.S)
    assert m, f"{pattern!r} not in:\n{text}"
    return m


MONEY = r"(\$[\d,]+\.\d\d)"


# ---- the independent computation -------------------------------------------------------------------------

def pandas_figures(at: datetime, probabilities: dict[str, int], rotting: dict[str, int]) -> dict[str, Any]:
    """Dustin's team's figures at `at`, from the CSV files alone (UTC; dates are whole days).

    Stale (core.deals.queries.stale_clause, as of `at`): open at `at` and last touched longer
    ago than its stage's rotting days, the last touch being the deal's last event before `at`:
    its engage date (a date is stored at 12:00 UTC), or the demo's load for the undated
    Prospecting rows. The demo has no reminders, so none is excused by a next step.
    """
    deals = pd.read_csv(MAVEN_DIR / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"])
    teams = pd.read_csv(MAVEN_DIR / "sales_teams.csv")
    prices = pd.read_csv(MAVEN_DIR / "products.csv")
    key = lambda s: s.str.lower().str.replace(r"[^a-z0-9]", "", regex=True)  # noqa: E731
    price_of = dict(zip(key(prices["product"]), prices["sales_price"], strict=True))
    mine = deals[deals["sales_agent"].isin(teams.loc[teams["manager"] == MANAGER, "sales_agent"])].copy()
    today = pd.Timestamp(at.date())
    q = quarter_label(at.date())
    q0, q1 = (pd.Timestamp(d) for d in label_bounds(q))
    in_q = (mine["close_date"] >= q0) & (mine["close_date"] <= min(q1, today))
    won = mine[in_q & (mine["deal_stage"] == "Won")]
    lost = mine[in_q & (mine["deal_stage"] == "Lost")]
    # Open at `at`: engaged by today and not closed by today; Prospecting rows have no dates (open since the load).
    started = mine["engage_date"].notna() & (mine["engage_date"] <= today)
    not_closed = mine["close_date"].isna() | (mine["close_date"] > today)
    open_ = mine[(started & not_closed) | (mine["deal_stage"] == "Prospecting")].copy()
    list_price = key(open_["product"]).map(price_of)
    value = open_["close_value"]
    # The amount a deal carries: its close value, else (open, or lost at 0) its list price.
    open_["amount"] = value.where(value.notna() & ~((open_["deal_stage"] == "Lost") & (value == 0)), list_price)
    open_["stage"] = open_["deal_stage"].where(open_["deal_stage"] == "Prospecting", "Engaging")
    cents = (open_["amount"] * 100).round().astype("int64")
    weighted_units = sum(int(c) * probabilities[s] for c, s in zip(cents, open_["stage"], strict=True))
    naive = pd.Timestamp(at.replace(tzinfo=None))
    touched = (open_["engage_date"] + pd.Timedelta(hours=12)).where(
        open_["deal_stage"] != "Prospecting", pd.Timestamp(LOADED_AT.replace(tzinfo=None)))
    limit = naive - pd.to_timedelta(open_["stage"].map(rotting), unit="D")
    stale = (touched < limit) & (open_["stage"].map(rotting) > 0)
    won_amount = Decimal(int(won["close_value"].sum())).quantize(Decimal("0.01"))
    open_weighted = (Decimal(weighted_units) / 10000).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return {
        "stale count": int(stale.sum()),
        "stale amount": (Decimal(int(cents[stale].sum())) / 100).quantize(Decimal("0.01")),
        "top amount": (Decimal(int(cents.max())) / 100).quantize(Decimal("0.01")),
        # The current quarter's weighted: won so far + every open deal's weighted (none has a close date).
        "quarter weighted": won_amount + open_weighted,
        "quarter best case": won_amount + (Decimal(int(cents.sum())) / 100).quantize(Decimal("0.01")),
        "won count": len(won),
        "won amount": won_amount,
        "lost count": len(lost),
        "open count": len(open_),
        "open amount": (Decimal(int(cents.sum())) / 100).quantize(Decimal("0.01")),
        "open weighted": open_weighted,
    }


# ---- the surfaces ------------------------------------------------------------------------------------------

def surfaces(uow: UnitOfWork, ws_id: int, at: datetime, db_url: str) -> dict[str, dict[str, Any]]:
    """Each surface's figures, read from its rendered text."""
    with uow.read() as s:
        dustin = s.scalar(select(User).where(User.workspace_id == ws_id, User.import_name == MANAGER))
        assert dustin is not None
        actor = actor_of(s, dustin)
        team = s.scalar(select(Team).where(Team.workspace_id == ws_id, Team.manager_id == dustin.id))
        assert team is not None
    out: dict[str, dict[str, Any]] = {}

    home = "\n".join(texts(home_view(actor, home_data(uow, actor, at), at)))
    m = find(r"Team " + MANAGER + r".*?(\d+) open deals? · " + MONEY + r" · weighted " + MONEY, home)
    won = find(r"Won \d{4}-Q\d vs quota\*\n" + MONEY + r" / (\d+) won", home)
    rate = find(r"\((\d+) won / (\d+) lost\)", home)
    out["App Home"] = {"open count": int(m[1]), "open amount": dollars(m[2]), "open weighted": dollars(m[3]),
                       "won amount": dollars(won[1]), "won count": int(won[2]), "lost count": int(rate[2])}

    sc = pipeline_scope(uow, actor, "team", None, now=at)
    with uow.read() as s:
        stages = pipeline_by_stage(s, ws_id, owner_ids=sc.owner_ids, team_id=sc.team_id, now=at)
    pipe = "\n".join(texts(pipeline_message(stages, actor, sc.label)))
    m = find(r"\*Total\* — (\d+) open deals? · " + MONEY + r" · weighted " + MONEY, pipe)
    out["/pipeline"] = {"open count": int(m[1]), "open amount": dollars(m[2]), "open weighted": dollars(m[3])}

    fc = "\n".join(texts(forecast_message(forecast_report(uow, actor, "team", at), actor)))
    m = find(r"\*Won so far\*\n" + MONEY + r" \((\d+) won\)", fc)
    weighted = dollars(find(r"\*Weighted\*\n" + MONEY, fc)[1])  # the first quarter shown: the current one
    best = dollars(find(r"\*Best case\*\n" + MONEY, fc)[1])
    undated = find(r"(\d+) open deals? without a close date count in this quarter", fc)
    # No Maven open deal has a close date: every one counts in the current quarter, so its weighted
    # (best case) less won so far is the open pipeline's weighted (amount), and the note counts them all.
    out["/pipeline forecast"] = {"won amount": dollars(m[1]), "won count": int(m[2]), "quarter weighted": weighted,
                                 "quarter best case": best, "open weighted": weighted - dollars(m[1]),
                                 "open amount": best - dollars(m[1]), "open count": int(undated[1])}

    digest, locale = digest_for(uow, actor, at)
    dg = "\n".join(texts(digest_message(digest, locale)))
    m = find(r"\*Open pipeline:\* (\d+) deals? · " + MONEY + r" .*?weighted " + MONEY, dg)
    q = find(r"\*\d{4}-Q\d:\* won " + MONEY, dg)
    stale = re.search(r"\*Going stale: (\d+)\* \(" + MONEY + r"\)", dg)
    top = find(r"\*Top open deals\*\n• [^\n]*? · " + MONEY, dg)
    out["/pipeline digest"] = {"open count": int(m[1]), "open amount": dollars(m[2]), "open weighted": dollars(m[3]),
                               "won amount": dollars(q[1]), "top amount": dollars(top[1]),
                               "stale count": int(stale[1]) if stale else 0,
                               "stale amount": dollars(stale[2]) if stale else Decimal("0.00")}

    q_start, q_end = label_bounds(quarter_label(at.date()))
    with uow.read() as s:
        k = kpis(s, ws_id, q_start, q_end, team_id=team.id, now=at)
    kp = "\n".join(texts(kpi_blocks(k, actor, team.name)))
    rate = find(r"\((\d+) won / (\d+) lost\)", kp)
    won_k = find(r"\*Won\*\n" + MONEY, kp)
    op = find(r"\*Open pipeline\*\n(\d+) · " + MONEY + r" \(weighted " + MONEY, kp)
    out["KPIs"] = {"won count": int(rate[1]), "lost count": int(rate[2]), "won amount": dollars(won_k[1]),
                   "open count": int(op[1]), "open amount": dollars(op[2]), "open weighted": dollars(op[3])}

    result = CliRunner().invoke(
        main, ["forecast", "show", "--team", team.name, "--now", at.strftime("%Y-%m-%dT%H:%M:%S"),
               "--quarter", quarter_label(at.date())],
        env={"DATABASE_URL": db_url},
    )
    assert result.exit_code == 0, result.output
    m = find(r"won so far\s+([\d,]+\.\d\d) \((\d+) won\)", result.output)
    out["CLI forecast show"] = {"won amount": dollars(m[1]), "won count": int(m[2])}
    return out


FIGURES = ["won count", "won amount", "lost count", "open count", "open amount", "open weighted",
           "quarter weighted", "quarter best case", "stale count", "stale amount", "top amount"]


def test_every_surface_gives_the_same_figures_as_pandas(uow: UnitOfWork, db_url: str) -> None:
    report = load_demo_org(uow, "TDEMO", LOADED_AT)
    assert report.created == 8800
    with uow.read() as s:
        ws_id = s.scalar(select(Workspace.id).where(Workspace.team_id == "TDEMO"))
        assert ws_id is not None
        probabilities = {name: p for name, p in s.execute(
            select(Stage.name, Stage.probability).where(Stage.workspace_id == ws_id))}
        rotting = {name: d for name, d in s.execute(
            select(Stage.name, Stage.rotting_days).where(Stage.workspace_id == ws_id))}
    rows: list[str] = []
    problems: list[str] = []
    for at in INSTANTS:
        expected = pandas_figures(at, probabilities, rotting)
        shown = surfaces(uow, ws_id, at, db_url)
        for figure in FIGURES:
            for surface, values in shown.items():
                if figure not in values:
                    continue
                ok = values[figure] == expected[figure]
                rows.append(f"{at:%Y-%m-%d} | {figure:<13} | {surface:<18} | {values[figure]!s:>14} | "
                            f"{expected[figure]!s:>14} | {'ok' if ok else 'DIFFERS'}")
                if not ok:
                    problems.append(rows[-1])
    print("\ndate       | figure        | surface            |          shown |         pandas |")
    print("\n".join(rows))
    assert not problems, "\n".join(problems)
