"""Workspace setup: the settings of `/salesbot setup` and the stages of `/salesbot pipeline`.

Admins only. Every value is checked before anything is saved; an error names its field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete, func, select

from core.db import UnitOfWork
from core.errors import InvalidInput
from core.i18n import N_, _, ngettext
from core.money import check_currency
from core.tables import Deal, ExchangeRate, Stage, Workspace
from core.text import casefold_for_match as key
from core.workspace.users import Actor, require_admin
from core.workspace.workspaces import default_pipeline, stages_of

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS_TR = ("pazartesi", "salı", "çarşamba", "perşembe", "cuma", "cumartesi", "pazar")
LOCALES = ("en", "tr")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class StageInfo:
    """One stage of the default pipeline."""

    name: str
    probability: int
    rotting_days: int
    is_won: bool
    is_lost: bool
    previous: str | None = None  # `Old -> New` in the pipeline modal renames a stage, deals and all


@dataclass(frozen=True)
class WorkspaceSettings:
    """The settings `/salesbot setup` edits."""

    default_currency: str
    locale: str
    digest_weekday: int
    digest_time: str
    hot_lead_threshold: int
    quiet_start: str
    quiet_end: str
    # exchange rates dropped because the base currency changed (they were into the old base)
    rates_removed: int = 0


# -- settings ---------------------------------------------------------------------------------


def workspace_settings(uow: UnitOfWork, actor: Actor) -> WorkspaceSettings:
    """The workspace's settings as shown in `/salesbot setup`."""
    with uow.read() as session:
        ws = session.get_one(Workspace, actor.workspace_id)
        return WorkspaceSettings(ws.default_currency, ws.locale, ws.digest_weekday, ws.digest_time,
                                 ws.hot_lead_threshold, ws.quiet_start, ws.quiet_end)


def update_workspace_settings(
    uow: UnitOfWork,
    actor: Actor,
    *,
    now: datetime,
    default_currency: str,
    locale: str,
    digest_weekday: int | str,
    digest_time: str,
    hot_lead_threshold: int | str,
    quiet_start: str,
    quiet_end: str,
) -> WorkspaceSettings:
    """Check every value first (errors name their field), then save them all."""
    require_admin(actor, N_("change the workspace settings"))
    currency = check_currency(default_currency, field="default_currency")
    locale = (locale or "").strip().lower()
    if locale not in LOCALES:
        raise InvalidInput(_("Locales: {locales}.").format(locales=", ".join(LOCALES)), field="locale")
    weekday = _weekday(digest_weekday)
    for field, value in (("digest_time", digest_time), ("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        if not _HHMM.fullmatch((value or "").strip()):
            raise InvalidInput(_("Give a time as HH:MM, e.g. 09:00."), field=field)
    try:
        threshold = int(str(hot_lead_threshold).strip())
    except ValueError:
        raise InvalidInput(_("The hot-lead threshold is a score from 1 to 100."), field="hot_lead_threshold") from None
    if not 1 <= threshold <= 100:
        raise InvalidInput(_("The hot-lead threshold is a score from 1 to 100."), field="hot_lead_threshold")
    with uow.transaction() as session:
        ws = session.get_one(Workspace, actor.workspace_id)
        removed = 0
        if currency != ws.default_currency:
            # a rate says 1 unit = rate in the base currency: a new base makes every old rate wrong
            removed = session.execute(
                delete(ExchangeRate).where(ExchangeRate.workspace_id == actor.workspace_id)
            ).rowcount  # type: ignore[attr-defined]
        ws.default_currency, ws.locale, ws.digest_weekday = currency, locale, weekday
        ws.digest_time, ws.quiet_start, ws.quiet_end = digest_time.strip(), quiet_start.strip(), quiet_end.strip()
        ws.hot_lead_threshold = threshold
        session.flush()
    return replace(workspace_settings(uow, actor), rates_removed=removed)


def _weekday(value: int | str) -> int:
    text = key(str(value).strip(), "en")
    if text.isdigit() and 0 <= int(text) <= 6:
        return int(text)
    matches = [i for i, name in enumerate(WEEKDAYS) if text and name.startswith(text[:3])]
    turkish = key(str(value).strip(), "tr")
    if not matches and turkish:  # Turkish day names ("Cuma", "SALI"); "cuma" is a prefix of "cumartesi"
        tr = [i for i, name in enumerate(WEEKDAYS_TR) if name.startswith(turkish)]
        matches = [i for i in tr if WEEKDAYS_TR[i] == turkish] or tr
    if len(matches) != 1:
        raise InvalidInput(_("Pick a weekday, Monday to Sunday."), field="digest_weekday")
    return matches[0]


# -- the pipeline's stages ----------------------------------------------------------------------


def pipeline_stages(uow: UnitOfWork, actor: Actor) -> list[StageInfo]:
    """The default pipeline's stages, in order (open ones, then Won and Lost)."""
    with uow.read() as session:
        pipeline = default_pipeline(session, actor.workspace_id)
        return [StageInfo(s.name, s.probability, s.rotting_days, s.is_won, s.is_lost)
                for s in stages_of(session, pipeline.id)]


def open_stage_names(uow: UnitOfWork, actor: Actor) -> list[str]:
    """The names of the stages a deal can be created in or moved to."""
    return [s.name for s in pipeline_stages(uow, actor) if not (s.is_won or s.is_lost)]


_STAGE_LINE = re.compile(r"\s*(?P<name>[^|,;]+?)\s*[|,;]\s*(?P<prob>\d{1,3})\s*%?\s*(?:[|,;]\s*(?P<days>\d{1,4})"
                         r"\s*(?:d|days?)?\s*)?")


def parse_stage_lines(text: str) -> list[StageInfo]:
    """`Prospecting, 10%, 14 days` one open stage a line (rotting days default to 14).

    `Qualified -> Discovery, 25%` renames the stage Qualified (its deals stay in it).
    """
    stages: list[StageInfo] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        m = _STAGE_LINE.fullmatch(line)
        if not m:
            raise InvalidInput(_('Line {number} "{line}": write `Name, probability%, rotting days`.').format(
                number=number, line=line.strip()[:60]), field="stages")
        probability, days = int(m["prob"]), int(m["days"] or 14)
        if not 0 <= probability <= 100:
            raise InvalidInput(_("Line {number}: a probability is 0 to 100%.").format(number=number), field="stages")
        if not 1 <= days <= 3650:
            raise InvalidInput(_("Line {number}: rotting days go from 1 to 3650.").format(
                number=number), field="stages")
        name = m["name"].strip()
        previous = None
        for arrow in ("->", "→"):
            if arrow in name:
                previous, name = (part.strip() for part in name.split(arrow, 1))
                if not previous or not name:
                    raise InvalidInput(_("Line {number}: rename as `Old name -> New name, 25%`.").format(number=number),
                                       field="stages")
        if len(name) > 100:
            raise InvalidInput(_("Line {number}: stage names go up to 100 characters.").format(number=number),
                               field="stages")
        if key(name) in ("won", "lost", "kazanıldı", "kaybedildi"):
            raise InvalidInput(_("Won and Lost are always there; list only the open stages."), field="stages")
        if any(key(s.name) == key(name) for s in stages):
            raise InvalidInput(_('"{name}" is listed twice.').format(name=name), field="stages")
        if previous and any(key(s.previous or s.name) == key(previous) for s in stages):
            raise InvalidInput(_('"{name}" is listed twice.').format(name=previous), field="stages")
        stages.append(StageInfo(name, probability, days, False, False, previous))
    if not stages:
        raise InvalidInput(_("List at least one open stage."), field="stages")
    if len(stages) > 20:
        raise InvalidInput(_("Keep it to 20 open stages or fewer."), field="stages")
    return stages


def update_pipeline_stages(uow: UnitOfWork, actor: Actor, text: str, *, now: datetime) -> list[StageInfo]:
    """Replace the open stages of the default pipeline (matched by name; Won and Lost stay).

    A stage left out is removed only when no deal is in it; otherwise nothing changes and
    the error says how many deals to move first. `Old -> New` renames a stage in place.
    """
    require_admin(actor, N_("change the pipeline"))
    wanted = parse_stage_lines(text)
    with uow.transaction() as session:
        pipeline = default_pipeline(session, actor.workspace_id)
        current = stages_of(session, pipeline.id)
        by_name = {key(s.name): s for s in current if not s.is_terminal}
        for spec in wanted:
            if spec.previous and key(spec.previous) not in by_name:
                raise InvalidInput(_('There is no open stage "{name}" to rename.').format(name=spec.previous),
                                   field="stages")
        keep = {key(w.previous or w.name) for w in wanted}
        for name, stage in by_name.items():
            if name in keep:
                continue
            held = session.scalar(select(func.count(Deal.id)).where(Deal.stage_id == stage.id)) or 0
            if held:
                raise InvalidInput(ngettext(
                    "{stage} still holds {n} deal; move it to another stage first, or keep the stage.",
                    "{stage} still holds {n} deals; move them to another stage first, or keep the stage.",
                    held).format(stage=stage.name, n=held), field="stages")
            session.delete(stage)
        session.flush()
        # Positions: open stages in the order given, then Won and Lost. Park them out of the
        # way first so no two stages ever share a position mid-update.
        terminal = [s for s in current if s.is_terminal]
        for offset, stage in enumerate(s for s in current if key(s.name) in keep or s.is_terminal):
            stage.position = 1000 + offset
            if not stage.is_terminal:
                stage.name = f"~{stage.id}"  # free every name first: renames may swap names
        session.flush()
        for position, spec in enumerate(wanted):
            found = by_name.get(key(spec.previous or spec.name))
            stage = found if found is not None else Stage(
                workspace_id=actor.workspace_id, pipeline_id=pipeline.id, name=spec.name)
            if found is None:
                session.add(stage)
            stage.name, stage.position = spec.name, position
            stage.probability, stage.rotting_days = spec.probability, spec.rotting_days
        for offset, stage in enumerate(terminal):
            stage.position = len(wanted) + offset
        session.flush()
    return pipeline_stages(uow, actor)
