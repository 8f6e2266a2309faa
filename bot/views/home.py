"""The App Home tab: my open deals by stage, follow-ups due, hot leads, and my teams' numbers."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bot.views.common import (
    MAX_VIEW_BLOCKS,
    Block,
    amount_text,
    button,
    context,
    cut,
    divider,
    escape,
    fields_section,
    fit,
    header,
    missing_rates_note,
    money,
    more_line,
    section,
    when,
)
from bot.views.deals import SHOW, deal_line
from bot.views.prefs import settings_button
from core.deals.deals import DealView
from core.insight.kpis import WIN_RATE_DEFINITION, Kpis, StageTotal, open_total
from core.insight.quotas import Attainment
from core.workspace.users import Actor


@dataclass(frozen=True)
class FollowUp:
    """A reminder as the Home tab shows it."""

    due_at: datetime
    text: str
    deal_ref: str | None


@dataclass(frozen=True)
class HotLead:
    """A hot lead as the Home tab shows it."""

    ref: str
    name: str
    company: str | None
    score: int


@dataclass(frozen=True)
class TeamPanel:
    """A managed team on the Home tab: its open pipeline by stage, and its quarter's numbers."""

    name: str
    stages: list[StageTotal]
    quarter: str = ""  # `2026-Q4`, the manager's current quarter
    kpis: Kpis | None = None
    attainment: Attainment | None = None


@dataclass
class HomeData:
    """Everything the Home tab shows, gathered by bot/home.py."""

    stages: list[StageTotal] = field(default_factory=list)
    deals: list[DealView] = field(default_factory=list)  # the first ones, in stage order
    deals_total: int | None = None  # how many open deals in all (None: len(deals))
    follow_ups: list[FollowUp] = field(default_factory=list)
    follow_ups_total: int = 0
    hot_leads: list[HotLead] = field(default_factory=list)
    hot_leads_total: int = 0
    teams: list[TeamPanel] = field(default_factory=list)


def _totals_line(stages: Sequence[StageTotal], currency: str, locale: str) -> str:
    t = open_total(list(stages))
    line = (f"{t.count} open deal{'s' if t.count != 1 else ''} · {amount_text(t.amount, currency, locale, t.approx)}"
            f" · weighted {amount_text(t.weighted, currency, locale, t.approx)}")
    note = missing_rates_note(t.missing)
    return line + (f"\n{note}" if note else "")


def _stage_line(stage: StageTotal, currency: str, locale: str) -> str:
    return (f"*{escape(stage.stage)}* ({stage.probability}%) — {stage.count} · "
            f"{amount_text(stage.amount, currency, locale, stage.approx)} · "
            f"weighted {amount_text(stage.weighted, currency, locale, stage.approx)}")


def _pct(fraction: Decimal | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f} %"


def _quarter_fields(team: TeamPanel, actor: Actor) -> list[str]:
    """Win rate, won against quota, and coverage of the team's quarter."""
    k, att, loc = team.kpis, team.attainment, actor.locale
    fields = []
    if k is not None:
        fields.append(f"*Win rate {team.quarter}*\n{_pct(k.win_rate)} ({k.won_count} won / {k.lost_count} lost)")
    if att is not None:
        won_text = amount_text(att.won, actor.currency, loc, att.approx)
        if att.quota is None:
            won = f"{won_text} / {att.won_count} won · no quota set"
        else:
            won = (f"{won_text} / {att.won_count} won of {money(att.quota, att.currency, loc)}"
                   f" ({_pct(att.ratio)})")
        note = missing_rates_note(att.missing)
        if note:
            won += f"\n{note}"
        fields.append(f"*Won {team.quarter} vs quota*\n{won}")
    if k is not None:
        coverage = "— (no quota left to cover)" if k.coverage is None else f"{k.coverage:.1f}× of quota left"
        fields.append(f"*Coverage*\n{coverage}")
    return fields


QUARTER_DEFINITIONS = (f"{WIN_RATE_DEFINITION}. Coverage: open weighted pipeline ÷ quota left this quarter. "
                       "Set a team quota with `/salesbot quota team \"East\" 250k Q1`.")


def _short_list(title: str, lines: list[str], total: int, empty: str) -> list[Block]:
    """A Home section: its header, up to ten lines, "and N more" of `total`, or `empty` when there are none."""
    if not lines:
        return [divider(), header(title), context(empty)]
    blocks = [divider(), header(title), *(section(line) for line in lines[:10])]
    if total > len(lines[:10]):
        blocks.append(more_line(total - len(lines[:10])))
    return blocks


def home_view(actor: Actor, data: HomeData, now: datetime) -> Block:
    """The home view, always within Slack's 100 blocks (long lists end with "and N more")."""
    cur, loc = actor.currency, actor.locale
    follow_ups = [
        f":alarm_clock: {when(item.due_at, actor.tz)} · "
        + (f"*{item.deal_ref}* " if item.deal_ref else "") + escape(cut(item.text, 500))
        for item in data.follow_ups[:10]
    ]
    hot_leads = [
        f":fire: *{lead.ref}* {escape(cut(lead.name, 200))}"
        + (f" · {escape(lead.company)}" if lead.company else "") + f" · score {lead.score}"
        for lead in data.hot_leads[:10]
    ]
    tail: list[Block] = [
        *_short_list("Follow-ups due", follow_ups, max(data.follow_ups_total, len(data.follow_ups)),
                     "Nothing due. Set one with `/deal remind D-42 tomorrow call back`."),
        *_short_list("Hot leads waiting", hot_leads, max(data.hot_leads_total, len(data.hot_leads)),
                     "No hot leads waiting for you."),
    ]
    for team in data.teams[:5]:
        tail += [divider(), header(f"Team {escape(team.name)}"), section(_totals_line(team.stages, cur, loc))]
        lines = [f"*{escape(s.stage)}*\n{s.count} · {amount_text(s.amount, cur, loc, s.approx, compact=True)}"
                 for s in team.stages]
        for start in range(0, min(len(lines), 20), 10):
            tail.append(fields_section(lines[start : start + 10]))
        quarter = _quarter_fields(team, actor)
        if quarter:
            tail.append(fields_section(quarter))
    if any(team.kpis is not None for team in data.teams[:5]):
        tail.append(context(QUARTER_DEFINITIONS))
    tail.append(context(f"Updated {when(now, actor.tz)}"))

    head: list[Block] = [header("Your pipeline"), section(_totals_line(data.stages, cur, loc)), settings_button()]
    room = MAX_VIEW_BLOCKS - len(head) - len(tail)
    by_stage: dict[str, list[DealView]] = {}
    for deal in data.deals:
        by_stage.setdefault(deal.stage, []).append(deal)
    ordered: list[tuple[StageTotal | None, list[DealView]]] = []
    for stage in data.stages:
        stage_deals = by_stage.pop(stage.stage, [])
        if stage_deals:
            ordered.append((stage, stage_deals))
    ordered += [(None, rest_deals) for rest_deals in by_stage.values()]  # a stage of another pipeline
    # One group per deal (so "and N more" counts deals); the stage line rides with its first.
    # At most `room` deals can be shown, so only those are rendered (formatting is the cost).
    groups: list[list[Block]] = []
    for stage_total, stage_deals in ordered:
        for i, d in enumerate(stage_deals[: max(room - len(groups), 0)]):
            row = [section(deal_line(d, loc), accessory=button("Show", SHOW, d.ref))]
            if i == 0 and stage_total is not None:
                row.insert(0, section(_stage_line(stage_total, cur, loc)))
            groups.append(row)
    if not groups:
        groups = [[context("No open deals. Create one with `/deal new Acme 12k` or `/deal`.")]]
    total = (data.deals_total if data.deals_total is not None else len(data.deals)) or None
    body = fit(groups, room, total=total, hint="see them all with `/deal list mine`")
    return {"type": "home", "blocks": head + body + tail}
