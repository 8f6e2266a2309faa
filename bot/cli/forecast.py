"""`salesbot forecast backtest` and `salesbot forecast show`.

backtest: replays the history month by month (or quarter by quarter): for each period the
pipeline as it stood at its start, the forecasts made from it (history-based, weighted,
and last period's won revenue as the naive baseline) against what actually closed won,
with each method's error and mean absolute percentage error (MAPE).
show: the forecast of this quarter and the next, against quota.

Which workspace: `--team-id T` (a Slack team id), else the only one in the database.
`--team NAME` narrows to one sales team. Exit codes: 0 done, 2 bad usage.
"""
from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bot.cli import settings_from
from bot.clock import utcnow
from core.db import UnitOfWork, make_engine
from core.errors import UserError
from core.insight.backtest import NOMINAL, PERIODS, Backtest, replay
from core.insight.forecast import QuarterForecast, next_quarter, quarter_forecast
from core.insight.history import load_history
from core.insight.quotas import quarter_label
from core.tables import Team, Workspace


def _pct(fraction: Decimal | None) -> str:
    """`+12.3 %`, rounded half up as people do (39.85 -> 39.9)."""
    if fraction is None:
        return "—"
    return f"{(fraction * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):+} %"


def _abs_pct(fraction: Decimal | None) -> str:
    return "—" if fraction is None else _pct(fraction).lstrip("+")


def _money(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount:,.0f}"


def _scope(ctx: click.Context, uow: UnitOfWork, team_id: str | None, team: str | None) -> tuple[int, int | None]:
    """(workspace id, sales team id or None); exits 2 when the choice is unclear."""
    with uow.read() as s:
        query = select(Workspace.id, Workspace.team_id)
        if team_id:
            query = query.where(Workspace.team_id == team_id)
        found = s.execute(query).all()
        if len(found) != 1:
            what = f"no workspace {team_id}" if team_id else f"{len(found)} workspaces"
            click.echo(f"salesbot: this database has {what}; pick one with --team-id T.", err=True)
            ctx.exit(2)
        ws_id = int(found[0][0])
        if team is None:
            return ws_id, None
        team_row = s.scalar(select(Team).where(Team.workspace_id == ws_id, func.lower(Team.name) == team.lower()))
        if team_row is None:
            names = ", ".join(s.scalars(select(Team.name).where(Team.workspace_id == ws_id))) or "none"
            click.echo(f'salesbot: there is no team "{team}" (teams: {names}).', err=True)
            ctx.exit(2)
        return ws_id, team_row.id


def _console() -> Console:
    """A console wide enough for the table even when piped (rich assumes 80 columns then)."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def backtest_table(result: Backtest) -> Table:
    """The rich table of a backtest: one row a period, then each method's MAPE."""
    table = Table(title=f"Forecast backtest by {result.period}", title_justify="left")
    # history = the mean of "pipeline" (open deals x learned rates + new-deal run-rate) and
    # "past" (what the same stretch of past quarters brought): core.insight.projection.
    for name in ("period", "won", "history", "pipeline", "past", "range", "err", "weighted", "err", "naive", "err"):
        table.add_column(name, justify="left" if name in ("period", "range") else "right", no_wrap=True)
    for r in result.rows:
        model = r.history
        table.add_row(
            r.label,
            _money(r.actual),
            _money(model.expected) if model.learned else "— (can't learn yet)",
            _money(model.bottom_up) if model.learned else "",
            _money(model.top_down) if model.learned else "",
            f"{_money(r.low)}–{_money(r.high)}" if model.learned else "",
            _pct(r.history_error),
            _money(r.weighted),
            _pct(r.weighted_error),
            _money(r.naive),
            _pct(r.naive_error),
        )
    n = len(result.scored_rows)
    table.add_section()
    table.add_row(
        f"MAPE ({n})", "", "", "", "", "", _abs_pct(result.mape("history")), "", _abs_pct(result.mape("weighted")), "",
        _abs_pct(result.mape("naive")),
    )
    table.add_row(
        f"bias ({n})", "", "", "", "", "", _pct(result.bias("history")), "", _pct(result.bias("weighted")), "",
        _pct(result.bias("naive")),
    )
    return table


def summary_lines(by_period: dict[str, Backtest]) -> list[str]:
    """MAPE, bias and the range's measured coverage beside its nominal level, per period kind."""
    lines = []
    for period, result in by_period.items():
        inside, total = result.coverage()
        n = len(result.scored_rows)
        measured = f"{inside * 100 / total:.0f} %" if total else "—"
        lines.append(
            f"{period}s: {len(result.rows)} replayed, {n} scored (forecast made, actual closes) · "
            f"MAPE {_abs_pct(result.mape('history'))} · bias {_pct(result.bias('history'))} · "
            f"range nominal {NOMINAL * 100:.0f} %, held the actual in {inside} of {total} ({measured})"
        )
    return lines


def _forecast_lines(f: QuarterForecast) -> list[str]:
    lines = [f"[bold]{f.period}[/bold]" + (" (this quarter)" if f.is_current else "")]
    if f.learned:
        lines.append(f"  history-based  {_money(f.expected)}  (likely {_money(f.low)}–{_money(f.high)})")
    else:
        lines.append(f"  history-based  can't learn yet: {f.model.reason}; weighted only")
    lines += [
        f"  won so far     {f.won_to_date:,.2f} ({f.won_count} won)",
        f"  weighted       {_money(f.weighted)}",
        f"  commit         {_money(f.commit)}",
        f"  best case      {_money(f.best_case)}",
        f"  quota          {_money(f.quota)}" + (f"  gap {_money(f.gap)}" if f.gap is not None else ""),
    ]
    if f.accuracy:
        lines.append(f"  accuracy       last {f.accuracy.periods} quarter(s) within {_abs_pct(f.accuracy.worst)}")
    return lines


def register(main: click.Group) -> None:
    @main.group("forecast")
    def forecast_group() -> None:
        """Forecasts and their backtest."""

    @forecast_group.command("backtest")
    @click.option("--period", type=click.Choice(sorted(PERIODS)), default="month", show_default=True)
    @click.option("--team-id", default=None, help="Slack team id of the workspace (default: the only one).")
    @click.option("--team", default=None, help="Only this sales team (by name).")
    @click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="Replay periods that ended by this date (default: today).")
    @click.pass_context
    def backtest_cmd(
        ctx: click.Context, period: str, team_id: str | None, team: str | None, until: datetime | None
    ) -> None:
        """Replay the history: each period's forecasts, made at its start, against what closed."""
        uow = UnitOfWork(make_engine(settings_from(ctx).database_url))
        ws_id, sales_team = _scope(ctx, uow, team_id, team)
        last: date = until.date() if until else utcnow().date()
        started = time.perf_counter()
        with uow.read() as s:
            history = load_history(s, ws_id, team_id=sales_team, today=last)
        by_period = {p: replay(history, p, last) for p in ("month", "quarter")}
        result = by_period[period]
        elapsed = time.perf_counter() - started
        console = _console()
        if not result.rows:
            console.print("Nothing to replay yet: no closed deals in a whole period.")
            return
        console.print(backtest_table(result))
        for line in summary_lines(by_period):
            console.print(line, markup=False)
        console.print("The range: the forecast -/+ the 80th percentile of its own past errors (split-conformal), "
                      "each period calibrated only on periods that had ended before it.", markup=False)
        console.print(f"[dim]{len(result.rows)} periods replayed in {elapsed:.2f} s[/dim]")

    @forecast_group.command("show")
    @click.option("--quarter", default=None, help="A quarter like 2026-Q4 (default: this one and the next).")
    @click.option("--team-id", default=None, help="Slack team id of the workspace (default: the only one).")
    @click.option("--team", default=None, help="Only this sales team (by name).")
    @click.option("--now", "at", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None,
                  help="Forecast as if the clock read this (UTC).")
    @click.pass_context
    def show_cmd(
        ctx: click.Context, quarter: str | None, team_id: str | None, team: str | None, at: datetime | None
    ) -> None:
        """The forecast of this quarter and the next, against quota."""
        uow = UnitOfWork(make_engine(settings_from(ctx).database_url))
        ws_id, sales_team = _scope(ctx, uow, team_id, team)
        now = at.replace(tzinfo=UTC) if at else utcnow()
        periods = [quarter.upper()] if quarter else [quarter_label(now.date())]
        if not quarter:
            periods.append(next_quarter(periods[0]))
        console = _console()
        try:
            with uow.read() as s:
                history = load_history(s, ws_id, team_id=sales_team)
                for label in periods:
                    f = quarter_forecast(s, ws_id, now, label, team_id=sales_team, history=history)
                    for line in _forecast_lines(f):
                        console.print(line)
        except UserError as err:
            click.echo(f"salesbot: {err.message}", err=True)
            ctx.exit(2)
