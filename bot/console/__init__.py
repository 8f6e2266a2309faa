"""`salesbot console`: the same Bolt app and listeners, driven from a terminal with no Slack.

Typed slash commands become signed Slack requests dispatched through `app.dispatch` (the path
an HTTP request takes). Web API calls (chat.postMessage, views.open, ...) and respond() are
answered in-process by `ConsoleSlack` and printed as text (bot/console/render.py): nothing
leaves the machine.

Parts: session.py (ConsoleSession: dispatching typed lines, answering Slack's calls, showing
what comes back; its docstring lists the console commands), slack.py (ConsoleSlack, the
in-process Web API), render.py (Block Kit as text), payloads.py (modal state and action values
for :submit and :click), clock.py (--now and :tick times). This module runs a session: the demo,
who you act as, the first screen.

Exit codes: 0 success, 1 a command failed at runtime, 2 bad usage (unknown console command).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from typing import IO

from rich.console import Console

from bot.clock import utcnow
from bot.config import Settings
from bot.console.clock import ReadTime, parse_now, parse_when, read_now
from bot.console.session import ConsoleOptions, ConsoleSession
from core.db import UnitOfWork, make_engine
from core.deals.demo import DEMO_MANAGER, DEMO_NOW, DEMO_REP, DemoUser, claim_demo_user, demo_users, load_demo_org
from core.tables import Role

__all__ = [
    "ConsoleOptions", "ConsoleSession", "ReadTime", "parse_now", "parse_when", "read_now", "run_console",
]


def run_console(settings: Settings, options: ConsoleOptions, stdin: IO[str], out: Console | None = None) -> int:
    """Run the console over `stdin` (a script when not a terminal); return the exit code."""
    out = out or Console(width=options.width, highlight=False, soft_wrap=True)
    engine = make_engine(settings.database_url)
    uow = UnitOfWork(engine)
    try:
        if options.demo:
            if options.now is None:
                note = "a Monday inside the demo data (--now sets another time)"
                options = dataclasses.replace(options, now=DEMO_NOW, now_note=note)
            report = load_demo_org(uow, options.team_id, options.now or utcnow())
            out.print(
                f"Demo organisation loaded: {report.created} deals created, {report.unchanged} unchanged.",
                markup=False,
            )
            for name, (probability, won, closed) in report.stage_probabilities.items():
                out.print(f"Stage {name} added at {probability} % ({won} won of {closed} imported deals that "
                          "reached it and closed).", markup=False)
        who = options.who if options.who is not None else (DEMO_MANAGER if options.demo else None)
        person: DemoUser | None = None
        if who is not None:
            person = claim_demo_user(uow, options.team_id, who)
            if person is None and (not who.strip() or any(ch.isspace() for ch in who.strip())):
                out.print(f"--as {who!r}: nobody of that name here. {_people_hint(uow, options.team_id)}",
                          style="yellow", markup=False)
                return 2
            # Not a person's name: a Slack id, used as it is.
            options = dataclasses.replace(options, user_id=person.slack_id if person else who.strip())
        session = ConsoleSession(settings, options, out, uow)
        session.introduce()
        for line in _intro(uow, options, person):
            out.print(line, markup=False, highlight=False)
        interactive = stdin.isatty()
        if interactive:
            with contextlib.suppress(ImportError):  # readline is missing on some platforms (Windows)
                import readline  # noqa: F401  # line editing and history for input()
            out.print("salesbot console - type /deal help, :help, or :quit", markup=False)
        while True:
            if interactive:
                try:
                    line = input("salesbot> ")
                except EOFError:
                    break
            else:
                line = stdin.readline()
                if not line:
                    break
                out.print(f"> {line.rstrip()}", style="dim", markup=False)
            if not session.handle(line):
                break
        return session.exit_code()
    except KeyboardInterrupt:
        return 0
    finally:
        engine.dispose()


def _people_hint(uow: UnitOfWork, team_id: str) -> str:
    people = demo_users(uow, team_id)
    if not people:
        return "Give a Slack id (e.g. --as U123), or load the demo with --demo."
    managers = [p.name for p in people if p.role == Role.MANAGER][:6]
    reps = [p.name for p in people if p.role != Role.MANAGER][:3]
    return f"The managers: {', '.join(managers)}; reps, e.g. {', '.join(reps)} (--as \"Name\")."


def _intro(uow: UnitOfWork, options: ConsoleOptions, person: DemoUser | None) -> list[str]:
    """The first screen: who you are, how to be someone else, and the clock."""
    lines: list[str] = []
    if person is not None:
        role = {Role.MANAGER: "manager", Role.ADMIN: "admin"}.get(person.role, "rep")
        team = f" of team {person.team}" if person.team else ""
        lines.append(f"You are {person.name} ({role}{team}), Slack id {person.slack_id}.")
    elif options.demo:
        lines.append(f"You are {options.user_id}, not one of the demo's people.")
    if options.demo:
        others = [p for p in demo_users(uow, options.team_id) if person is None or p.slack_id != person.slack_id]
        reps = [p for p in others if p.role != Role.MANAGER]
        rep = next((p for p in reps if p.name == DEMO_REP), reps[0] if reps else None)
        manager = next((p for p in others if p.role == Role.MANAGER), None)
        examples = " or ".join(f'--as "{p.name}" ({"a manager" if p is manager else "a rep"})'
                               for p in (rep, manager) if p is not None)
        lines.append(f"Be another demo user with --as and a name or Slack id, e.g. {examples}.")
    if options.now is not None:
        note = options.now_note or "fixed by the caller"
        lines.append(f"The clock is at {options.now:%A %Y-%m-%d %H:%M} UTC: {note}.")
    if options.demo:
        lines.append("Try /pipeline, /pipeline forecast, /pipeline digest, :home or :help.")
    return lines


def main_stdin() -> int:  # pragma: no cover - convenience for python -m
    from bot.config import load_settings

    return run_console(load_settings(), ConsoleOptions(), sys.stdin)
