"""The App Home tab: my open deals by stage, follow-ups due, hot leads, and my teams' numbers."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

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
from bot.views.discounts import pending_line
from bot.views.prefs import settings_button
from core import formatting
from core.deals.deals import DealView
from core.i18n import N_, _, ngettext
from core.insight.kpis import WIN_RATE_DEFINITION, Kpis, StageTotal, open_total
from core.insight.quotas import Attainment
from core.notify.discounts import DiscountView
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
    discounts: dict[int, DiscountView] = field(default_factory=dict)  # waiting for approval, by deal id


def _totals_line(stages: Sequence[StageTotal], currency: str) -> str:
    t = open_total(list(stages))
    line = ngettext("{n} open deal · {amount} · weighted {weighted}", "{n} open deals · {amount} · weighted {weighted}",
                    t.count).format(n=formatting.number(t.count),
                                    amount=amount_text(t.amount, currency, None, t.approx),
                                    weighted=amount_text(t.weighted, currency, None, t.approx))
    note = missing_rates_note(t.missing)
    return line + (f"\n{note}" if note else "")


def _stage_line(stage: StageTotal, currency: str) -> str:
    return (f"*{escape(stage.stage)}* ({formatting.probability(stage.probability)}) — "
            f"{formatting.number(stage.count)} · {amount_text(stage.amount, currency, None, stage.approx)} · "
            + _("weighted {amount}").format(amount=amount_text(stage.weighted, currency, None, stage.approx)))


def _won_lost(won: int, lost: int) -> str:
    return _("{won} won / {lost} lost").format(won=formatting.number(won), lost=formatting.number(lost))


def _quarter_fields(team: TeamPanel, actor: Actor) -> list[str]:
    """Win rate, won against quota, and coverage of the team's quarter."""
    k, att = team.kpis, team.attainment
    fields = []
    if k is not None:
        fields.append("*{}*\n{} ({})".format(_("Win rate {quarter}").format(quarter=team.quarter),
                                              formatting.percent(k.win_rate), _won_lost(k.won_count, k.lost_count)))
    if att is not None:
        won_text = amount_text(att.won, actor.currency, None, att.approx)
        count = ngettext("{n} won", "{n} won", att.won_count).format(n=formatting.number(att.won_count))
        if att.quota is None:
            won = _("{amount} / {count} · no quota set").format(amount=won_text, count=count)
        else:
            won = _("{amount} / {count} of {quota} ({percent})").format(
                amount=won_text, count=count, quota=money(att.quota, att.currency),
                percent=formatting.percent(att.ratio))
        note = missing_rates_note(att.missing)
        if note:
            won += f"\n{note}"
        fields.append("*{}*\n{}".format(_("Won {quarter} vs quota").format(quarter=team.quarter), won))
    if k is not None:
        coverage = (_("— (no quota left to cover)") if k.coverage is None
                    else _("{times} of quota left").format(times=formatting.times(k.coverage)))
        fields.append("*{}*\n{}".format(_("Coverage"), coverage))
    return fields


QUARTER_DEFINITIONS = N_("Coverage: open weighted pipeline ÷ quota left this quarter. Set a team quota with {command}.")


def quarter_definitions() -> str:
    """The definitions under the teams' quarter numbers, in the current language."""
    return "{}. {}".format(_(WIN_RATE_DEFINITION), _(QUARTER_DEFINITIONS).format(
        command='`/salesbot quota team "East" 250k Q1`'))


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
    cur = actor.currency
    follow_ups = [
        f":alarm_clock: {when(item.due_at, actor.tz)} · "
        + (f"*{item.deal_ref}* " if item.deal_ref else "") + escape(cut(item.text, 500))
        for item in data.follow_ups[:10]
    ]
    hot_leads = [
        f":fire: *{lead.ref}* {escape(cut(lead.name, 200))}"
        + (f" · {escape(lead.company)}" if lead.company else "")
        + " · " + _("score {score}").format(score=formatting.number(lead.score))
        for lead in data.hot_leads[:10]
    ]
    tail: list[Block] = [
        *_short_list(_("Follow-ups due"), follow_ups, max(data.follow_ups_total, len(data.follow_ups)),
                     _("Nothing due. Set one with {command}.").format(
                         # Translators: a command a user can type: keep `/deal remind D-42`, translate the rest.
                         command="`{}`".format(_("/deal remind D-42 tomorrow call back")))),
        *_short_list(_("Hot leads waiting"), hot_leads, max(data.hot_leads_total, len(data.hot_leads)),
                     _("No hot leads waiting for you.")),
    ]
    for team in data.teams[:5]:
        tail += [divider(), header(_("Team {name}").format(name=escape(team.name))),
                 section(_totals_line(team.stages, cur))]
        lines = [f"*{escape(s.stage)}*\n{formatting.number(s.count)} · "
                 f"{amount_text(s.amount, cur, None, s.approx, compact=True)}" for s in team.stages]
        for start in range(0, min(len(lines), 20), 10):
            tail.append(fields_section(lines[start : start + 10]))
        quarter = _quarter_fields(team, actor)
        if quarter:
            tail.append(fields_section(quarter))
    if any(team.kpis is not None for team in data.teams[:5]):
        tail.append(context(quarter_definitions()))
    tail.append(context(_("Updated {when}").format(when=when(now, actor.tz))))

    head: list[Block] = [header(_("Your pipeline")), section(_totals_line(data.stages, cur)), settings_button()]
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
            row = [section(deal_line(d), accessory=button(_("Show"), SHOW, d.ref))]
            if d.id in data.discounts:
                row.append(context(pending_line(data.discounts[d.id])))
            if i == 0 and stage_total is not None:
                row.insert(0, section(_stage_line(stage_total, cur)))
            groups.append(row)
    if not groups:
        groups = [[context(_("No open deals. Create one with {command} or {form}.").format(
            command="`/deal new Acme 12k`", form="`/deal`"))]]
    total = (data.deals_total if data.deals_total is not None else len(data.deals)) or None
    body = fit(groups, room, total=total, hint=_("see them all with {command}").format(command="`/deal list mine`"))
    return {"type": "home", "blocks": head + body + tail}
