"""Answers of `/salesbot`: what changed, in one line."""
from __future__ import annotations

from babel.numbers import format_decimal

from bot.views.common import Message, context, escape, escape_keep_mentions, message, section
from core.workspace.admin import LinkResult, TeamView
from core.workspace.rates import RateInfo


def done(text: str) -> Message:
    """A one-line confirmation."""
    return message(text, [section(f":white_check_mark: {escape_keep_mentions(text)}")])


def team_saved(team: TeamView, what: str) -> Message:
    """A team with its manager, channel and members."""
    members = ", ".join(f"<@{m}>" for m in team.member_slack_ids[:50]) or "nobody yet"
    manager = f"<@{team.manager_slack_id}>" if team.manager_slack_id else "no manager"
    channel = f"<#{team.channel_id}>" if team.channel_id else "no channel yet"
    text = f"Team {team.name} {what}."
    return message(text, [section(f":busts_in_silhouette: *Team {escape(team.name)}* {escape(what)}.\n"
                                  f"Manager: {manager} · Channel: {channel}\nMembers: {members}")])


def linked(result: LinkResult) -> Message:
    """What linking an imported owner moved."""
    text = (f'"{result.import_name}" is now <@{result.user_slack_id}>: {result.deals} deals, '
            f"{result.activities} activities, {result.reminders} reminders and {result.leads} leads moved.")
    return message(text, [section(f":link: {escape_keep_mentions(text)}")])


def _rate_text(rate: RateInfo, locale: str) -> str:
    shown = format_decimal(rate.rate.normalize(), locale=locale, decimal_quantization=False)
    return f"1 {rate.currency} = {shown} {rate.base}"


def rate_saved(rate: RateInfo, locale: str) -> Message:
    """`1 EUR = 1.08 USD from 2026-11-30.`"""
    text = f"{_rate_text(rate, locale)} from {rate.valid_from.isoformat()}."
    return message(text, [section(f":currency_exchange: {escape(text)}")])


def rates_listed(base: str, rates: list[RateInfo], locale: str) -> Message:
    """The rates in force today, one a line, with how to add one."""
    how = "Add one with `/salesbot rate EUR 1.08` (1 EUR = 1.08 " + base + ") or `salesbot rates import FILE.csv`."
    if not rates:
        text = f"No exchange rates yet: amounts in other currencies than {base} are left out of totals. {how}"
        return message(text, [section(f":currency_exchange: {escape(text)}")])
    lines = [f"{_rate_text(r, locale)} (from {r.valid_from.isoformat()})" for r in rates]
    text = f"Exchange rates into {base}: " + "; ".join(lines) + "."
    body = f"*Exchange rates into {escape(base)}*\n" + "\n".join(escape(line) for line in lines)
    return message(text, [section(f":currency_exchange: {body}"), context(escape(how))])
