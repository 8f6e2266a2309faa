"""Answers of `/salesbot`: what changed, in one line."""
from __future__ import annotations

from bot.views.common import Message, escape, message, section
from core.workspace.admin import LinkResult, TeamView


def done(text: str) -> Message:
    """A one-line confirmation: `text` is mrkdwn the command composed, its user parts escaped."""
    return message(text, [section(f":white_check_mark: {text}")])


def team_saved(team: TeamView, what: str) -> Message:
    """A team with its manager, channel and members."""
    members = ", ".join(f"<@{m}>" for m in team.member_slack_ids[:50]) or "nobody yet"
    manager = f"<@{team.manager_slack_id}>" if team.manager_slack_id else "no manager"
    channel = f"<#{team.channel_id}>" if team.channel_id else "no channel yet"
    text = f"Team {escape(team.name)} {escape(what)}."
    return message(text, [section(f":busts_in_silhouette: *Team {escape(team.name)}* {escape(what)}.\n"
                                  f"Manager: {manager} · Channel: {channel}\nMembers: {members}")])


def linked(result: LinkResult) -> Message:
    """What linking an imported owner moved."""
    text = (f'"{escape(result.import_name)}" is now <@{result.user_slack_id}>: {result.deals} deals, '
            f"{result.activities} activities, {result.reminders} reminders and {result.leads} leads moved.")
    return message(text, [section(f":link: {text}")])
