"""Answers of `/salesbot`: what changed, in one line."""
from __future__ import annotations

from collections.abc import Sequence

from babel.numbers import format_decimal

from bot.views.common import Block, Message, context, divider, escape, fit, message, section
from core.workspace.admin import LinkResult, TeamMove, TeamView
from core.workspace.rates import RateInfo

MAX_MEMBERS_SHOWN = 50


def done(text: str) -> Message:
    """A one-line confirmation: `text` is mrkdwn the command composed, its user parts escaped."""
    return message(text, [section(f":white_check_mark: {text}")])


def _members(team: TeamView) -> str:
    shown = [f"<@{m}>" for m in team.member_slack_ids] + [f"{escape(n)} (imported)" for n in team.imported_members]
    more = len(shown) - MAX_MEMBERS_SHOWN
    return (", ".join(shown[:MAX_MEMBERS_SHOWN]) + (f" and {more} more" if more > 0 else "")) or "nobody yet"


def _team_lines(team: TeamView) -> str:
    manager = f"<@{team.manager_slack_id}>" if team.manager_slack_id else (
        escape(team.manager_name) if team.manager_name else "no manager")
    channel = f"<#{team.channel_id}>" if team.channel_id else "no channel yet"
    count = len(team.member_slack_ids) + len(team.imported_members)
    return f"Manager: {manager} · Channel: {channel}\nMembers ({count}): {_members(team)}"


def team_saved(team: TeamView, what: str) -> Message:
    """A team with its manager, channel and members; who was moved from another team, if anyone."""
    def who(move: TeamMove, *, mention: bool) -> str:
        known = move.name and move.name != move.slack_id
        if not mention:
            return escape(move.name) if known else f"<@{move.slack_id}>"
        return f"<@{move.slack_id}>" + (f" ({escape(move.name)})" if known else "")

    moves = [f"{who(m, mention=False)} moved from {escape(m.from_team)} to {escape(team.name)}." for m in team.moved]
    text = " ".join([f"Team {escape(team.name)} {escape(what)}.", *moves])
    blocks = [section(f":busts_in_silhouette: *Team {escape(team.name)}* {escape(what)}.\n{_team_lines(team)}")]
    if moves:
        blocks.append(section(":arrow_right: " + "\n".join(
            f"{who(m, mention=True)} moved from *{escape(m.from_team)}* to *{escape(team.name)}*."
            for m in team.moved)))
    return message(text, blocks)


def teams_listed(teams: Sequence[TeamView], *, is_admin: bool) -> Message:
    """`/salesbot team list`: each team with its manager, channel and members."""
    if not teams:
        how = ("No teams yet. Create one with `/salesbot team create East @manager`, then "
               "`/salesbot team add East @ana @bob` and `/salesbot team channel East #sales-east`."
               if is_admin else
               "You're not in a team yet; an admin can add you with `/salesbot team add <team> @you`.")
        return message(how.replace("`", ""), [section(f":busts_in_silhouette: {how}")])
    title = "Teams" if is_admin else "Your team" if len(teams) == 1 else "Your teams"
    groups: list[list[Block]] = [
        [section(f"*{escape(team.name)}*\n{_team_lines(team)}", block_id=f"team:{team.id}"), divider()]
        for team in teams
    ]
    blocks: list[Block] = [section(f":busts_in_silhouette: *{title}* ({len(teams)})")]
    blocks.extend(fit(groups, 48, hint="ask for one with /salesbot team list <name>"))
    if blocks[-1].get("type") == "divider":
        blocks.pop()
    blocks.append(context("`/salesbot team add <team> @user…` moves people; "
                          "`/salesbot team channel <team> #channel` sets where digests and hot leads go."))
    summary = ", ".join(escape(t.name) for t in teams[:20]) + (" …" if len(teams) > 20 else "")
    return message(f"{title} ({len(teams)}): {summary}", blocks)


def linked(result: LinkResult) -> Message:
    """What linking an imported owner moved."""
    text = (f'"{escape(result.import_name)}" is now <@{result.user_slack_id}>: {result.deals} deals, '
            f"{result.activities} activities, {result.reminders} reminders and {result.leads} leads moved.")
    return message(text, [section(f":link: {text}")])


def _rate_text(rate: RateInfo, locale: str) -> str:
    # A Slack locale keeps its region with a hyphen (`en-US`); Babel wants `en_US`.
    shown = format_decimal(rate.rate.normalize(), locale=locale.replace("-", "_"), decimal_quantization=False)
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
