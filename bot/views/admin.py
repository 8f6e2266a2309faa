"""Answers of `/salesbot`: what changed, in one line."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.views.common import Block, Message, context, divider, escape, fit, message, section
from core import formatting
from core.i18n import _, ngettext
from core.workspace.admin import LinkResult, TeamMove, TeamView
from core.workspace.rates import RateInfo

MAX_MEMBERS_SHOWN = 50


def done(text: str) -> Message:
    """A one-line confirmation: `text` is mrkdwn the command composed, its user parts escaped."""
    return message(text, [section(f":white_check_mark: {text}")])


def _members(team: TeamView) -> str:
    imported = _("{name} (imported)")
    shown = [f"<@{m}>" for m in team.member_slack_ids]
    shown += [imported.format(name=escape(n)) for n in team.imported_members]
    more = len(shown) - MAX_MEMBERS_SHOWN
    listed = ", ".join(shown[:MAX_MEMBERS_SHOWN])
    if more > 0:
        listed += " " + ngettext("and {n} more", "and {n} more", more).format(n=formatting.number(more))
    return listed or _("nobody yet")


def _team_lines(team: TeamView) -> str:
    manager = f"<@{team.manager_slack_id}>" if team.manager_slack_id else (
        escape(team.manager_name) if team.manager_name else _("no manager"))
    channel = f"<#{team.channel_id}>" if team.channel_id else _("no channel yet")
    count = len(team.member_slack_ids) + len(team.imported_members)
    return _("Manager: {manager} · Channel: {channel}\nMembers ({count}): {members}").format(
        manager=manager, channel=channel, count=formatting.number(count), members=_members(team))


def team_saved(team: TeamView, what: str) -> Message:
    """A team with its manager, channel and members; who was moved from another team, if anyone."""
    def who(move: TeamMove, *, mention: bool) -> str:
        known = move.name and move.name != move.slack_id
        if not mention:
            return escape(move.name) if known else f"<@{move.slack_id}>"
        return f"<@{move.slack_id}>" + (f" ({escape(move.name)})" if known else "")

    moved = _("{who} moved from {old} to {new}.")
    moves = [moved.format(who=who(m, mention=False), old=escape(m.from_team), new=escape(team.name))
             for m in team.moved]
    name = _("Team {name}").format(name=escape(team.name))
    text = " ".join([f"{name} {escape(what)}.", *moves])
    blocks = [section(f":busts_in_silhouette: *{name}* {escape(what)}.\n{_team_lines(team)}")]
    if moves:
        blocks.append(section(":arrow_right: " + "\n".join(
            moved.format(who=who(m, mention=True), old=f"*{escape(m.from_team)}*", new=f"*{escape(team.name)}*")
            for m in team.moved)))
    return message(text, blocks)


def teams_listed(teams: Sequence[TeamView], *, is_admin: bool) -> Message:
    """`/salesbot team list`: each team with its manager, channel and members."""
    if not teams:
        how = (_("No teams yet. Create one with {create}, then {add} and {channel}.").format(
                   create=_("`/salesbot team create East @manager`"), add=_("`/salesbot team add East @ana @bob`"),
                   channel=_("`/salesbot team channel East #sales-east`"))
               if is_admin else
               _("You're not in a team yet; an admin can add you with {command}.").format(
                   command=_("`/salesbot team add <team> @you`")))
        return message(how.replace("`", ""), [section(f":busts_in_silhouette: {how}")])
    title = _("Teams") if is_admin else _("Your team") if len(teams) == 1 else _("Your teams")
    groups: list[list[Block]] = [
        [section(f"*{escape(team.name)}*\n{_team_lines(team)}", block_id=f"team:{team.id}"), divider()]
        for team in teams
    ]
    blocks: list[Block] = [section(f":busts_in_silhouette: *{title}* ({len(teams)})")]
    blocks.extend(fit(groups, 48, hint=_("ask for one with {command}").format(command=_("/salesbot team list <name>"))))
    if blocks[-1].get("type") == "divider":
        blocks.pop()
    blocks.append(context(_("{add} moves people; {channel} sets where digests and hot leads go.").format(
        add=_("`/salesbot team add <team> @user…`"), channel=_("`/salesbot team channel <team> #channel`"))))
    summary = ", ".join(escape(t.name) for t in teams[:20]) + (" …" if len(teams) > 20 else "")
    return message(f"{title} ({len(teams)}): {summary}", blocks)


def linked(result: LinkResult) -> Message:
    """What linking an imported owner moved."""
    n = formatting.number
    text = _("{name} is now {user}: {deals}, {activities}, {reminders} and {leads} moved.").format(
        name=f'"{escape(result.import_name)}"', user=f"<@{result.user_slack_id}>",
        deals=ngettext("{n} deal", "{n} deals", result.deals).format(n=n(result.deals)),
        activities=ngettext("{n} activity", "{n} activities", result.activities).format(n=n(result.activities)),
        reminders=ngettext("{n} reminder", "{n} reminders", result.reminders).format(n=n(result.reminders)),
        leads=ngettext("{n} lead", "{n} leads", result.leads).format(n=n(result.leads)))
    return message(text, [section(f":link: {text}")])


def _rate_text(rate: RateInfo, locale: str | None) -> str:
    shown = formatting.number(rate.rate.normalize(), locale=locale)
    return f"1 {rate.currency} = {shown} {rate.base}"


def rate_saved(rate: RateInfo, locale: str | None = None) -> Message:
    """`1 EUR = 1.08 USD from 2026-11-30.`"""
    text = _("{rate} from {date}.").format(rate=_rate_text(rate, locale), date=rate.valid_from.isoformat())
    return message(text, [section(f":currency_exchange: {escape(text)}")])


def rates_listed(base: str, rates: list[RateInfo], locale: str | None = None) -> Message:
    """The rates in force today, one a line, with how to add one."""
    how = _("Add one with {command} ({example}) or {import_command}.").format(
        command="`/salesbot rate EUR 1.08`",
        example=f"1 EUR = {formatting.number(Decimal('1.08'), locale=locale)} {base}",
        import_command="`salesbot rates import FILE.csv`")
    if not rates:
        text = _("No exchange rates yet: amounts in other currencies than {base} are left out of totals.").format(
            base=base) + " " + how
        return message(text, [section(f":currency_exchange: {escape(text)}")])
    since = _("(from {date})")
    lines = [f"{_rate_text(r, locale)} " + since.format(date=r.valid_from.isoformat()) for r in rates]
    into = _("Exchange rates into {base}").format(base=base)
    text = f"{into}: " + "; ".join(lines) + "."
    body = "*" + _("Exchange rates into {base}").format(base=escape(base)) + "*\n" + "\n".join(
        escape(line) for line in lines)
    return message(text, [section(f":currency_exchange: {body}"), context(escape(how))])
