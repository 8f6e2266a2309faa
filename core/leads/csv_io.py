"""Leads to and from CSV: `salesbot import leads FILE.csv` and `salesbot export leads`.

Columns are found by name (core.csv_mapping: case, spaces, dashes and underscores ignored);
every column that is not a lead field is kept in the lead's free attributes, so a marketing
export loses nothing and the predictive model can learn from it. A `Converted` column of
1 / 0 (the X Education export) becomes the status converted / disqualified: closed leads to
learn from. A row is matched to an existing lead by email (any case), else by its id column,
so importing the same file twice changes nothing the second time.

Imported leads are scored but raise no hot-lead alerts: history is not news.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select, update

from core import csv_mapping as cm
from core.csv_mapping import RowError
from core.db import UnitOfWork
from core.deals.import_rows import ImportReport
from core.errors import InvalidInput, NotFound
from core.i18n import N_, _, ngettext
from core.leads import predictive
from core.leads.hot import is_hot
from core.leads.intake import ScoringContext, apply_fields, clean_lead, lead_fields
from core.leads.routing import TeamPicker
from core.tables import Lead, LeadEvent, LeadStatus, User, Workspace
from core.workspace.users import owner_by_name

Source = str | Path | TextIO
Progress = Callable[[int, int], None]

LEAD_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "prospect_id", "lead_id", "id", "ref"),
    "number": ("lead_number",),
    "name": ("name", "lead_name", "full_name", "contact", "contact_name"),
    "email": ("email", "email_address", "e_mail"),
    "company": ("company", "account", "organisation", "organization"),
    "title": ("title", "job_title", "position"),
    "phone": ("phone", "phone_number", "mobile"),
    "source": ("source", "lead_source"),
    "country": ("country",),
    "industry": ("industry", "sector", "specialization", "specialisation"),
    "employees": ("employees", "company_size", "employee_count", "headcount"),
    "owner": ("owner", "lead_owner"),
    "status": ("status", "lead_status", "converted"),
    "created_at": ("created_at", "created", "create_date"),
}
# Computed by salesbot itself: read back from our own export, never trusted from a file.
COMPUTED = ("score", "hot")
EXPORT_COLUMNS = (
    "ref",
    "name",
    "email",
    "company",
    "title",
    "source",
    "country",
    "industry",
    "employees",
    "owner",
    "status",
    "score",
    "hot",
    "created_at",
)
_STATUS = {
    "1": LeadStatus.CONVERTED,
    "0": LeadStatus.DISQUALIFIED,
    "yes": LeadStatus.CONVERTED,
    "no": LeadStatus.DISQUALIFIED,
    "true": LeadStatus.CONVERTED,
    "false": LeadStatus.DISQUALIFIED,
    **{s.value: s for s in LeadStatus},
}


def _parse_row(
    headers: list[str], cmap: cm.ColumnMap, row: list[str], number: int
) -> tuple[dict[str, Any], list[RowError]]:
    """One CSV row -> lead fields (+ owner, status, created_at) or its errors."""
    errors: list[RowError] = []
    data: dict[str, Any] = {}
    for field in (
        "external_id",
        "name",
        "email",
        "company",
        "title",
        "phone",
        "source",
        "country",
        "industry",
        "employees",
    ):
        value = cm.cell(row, cmap, field)
        if value:
            data[field] = value
    used = set(cmap.index.values())
    attrs = {
        h: row[i].strip()
        for i, h in enumerate(headers)
        if i not in used and i < len(row) and row[i].strip() and cm.header_key(h) not in COMPUTED
    }
    if attrs:
        data["attributes"] = attrs
    if "name" not in data and "email" not in data:
        # Exports without names (the X Education one) are still leads: call them by number or id.
        num = cm.cell(row, cmap, "number")
        if num or data.get("external_id"):
            data["name"] = f"Lead {num or data['external_id']}"
    extra: dict[str, Any] = {}
    try:
        fields = clean_lead(data)
    except InvalidInput as err:
        column = cmap.header_of(err.field) if err.field in cmap.index else (err.field or "")
        value = cm.cell(row, cmap, err.field) if err.field in cmap.index else ""
        errors.append(RowError(number, column, value, err.message))
        fields = {}
    status = cm.cell(row, cmap, "status").casefold()
    if status:
        if status not in _STATUS:
            errors.append(
                RowError(
                    number,
                    cmap.header_of("status"),
                    status,
                    _("status should be one of {statuses} (or 1/0)").format(
                        statuses=", ".join(s.value for s in LeadStatus)),
                )
            )
        else:
            extra["status"] = _STATUS[status]
    created = cm.cell(row, cmap, "created_at")
    if created:
        try:
            at = datetime.fromisoformat(created.replace("Z", "+00:00"))
            extra["created_at"] = at if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            errors.append(RowError(number, cmap.header_of("created_at"), created, _("not an ISO date or time")))
    owner = cm.cell(row, cmap, "owner")
    if owner:
        extra["owner"] = owner
    return {**fields, "_extra": extra}, errors


def read_leads(source: Source) -> tuple[list[dict[str, Any]], list[RowError], cm.ColumnMap]:
    """Parse a leads CSV (nothing written): lead dicts, row errors, and the column map."""
    headers, rows = cm.read_csv(source, N_("leads file"))
    cmap = cm.map_columns(headers, LEAD_ALIASES)
    parsed, errors = [], []
    for i, row in enumerate(rows, start=2):
        if not row:
            continue
        lead, errs = _parse_row(headers, cmap, row, i)
        errors.extend(errs)
        if not errs:
            lead["_row"] = i
            parsed.append(lead)
    return parsed, errors, cmap


def training_rows(source: Source, exclude: Sequence[str] = ()) -> tuple[list[dict[str, Any]], list[int]]:
    """Feature rows and outcomes (converted = 1, disqualified = 0) of a leads CSV, for `leads evaluate`."""
    parsed, errors, __ = read_leads(source)
    if errors:
        first = errors[0]
        raise InvalidInput(ngettext("row {row}, {column}: {reason} ({n} bad row)",
                                    "row {row}, {column}: {reason} ({n} bad rows)", len(errors)).format(
            row=first.row, column=first.column, reason=first.reason, n=len(errors)))
    rows, labels = [], []
    for lead in parsed:
        status = lead["_extra"].get("status")
        if status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
            rows.append(predictive.feature_values(lead, exclude))
            labels.append(1 if status == LeadStatus.CONVERTED else 0)
    if not rows:
        raise InvalidInput(
            _("No closed leads in the file: it needs a status (converted/disqualified) or Converted (1/0) column.")
        )
    return rows, labels


def _owner_id(session: Any, workspace_id: int, owner: str, now: datetime, cache: dict[str, int]) -> int:
    if owner not in cache:
        token = cm.owner_id_token(owner)
        user = (
            session.scalar(select(User).where(User.workspace_id == workspace_id, User.slack_id == token))
            if token else None
        )
        cache[owner] = (user or owner_by_name(session, workspace_id, owner, now)).id
    return cache[owner]


def import_leads(
    uow: UnitOfWork,
    workspace_id: int,
    path: Source,
    *,
    now: datetime,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import leads from a CSV: all-or-nothing unless `skip_bad_rows`; row errors in the report."""
    parsed, errors, __ = read_leads(path)
    report = ImportReport(errors=errors, ignored_columns=[])
    total = len(parsed) + len({e.row for e in errors})
    if progress:
        progress(0, total)
    if errors and not skip_bad_rows:
        return report
    report.skipped = len({e.row for e in errors})
    with uow.transaction() as session:
        ws = session.execute(
            select(Workspace).where(Workspace.id == workspace_id).with_for_update()
        ).scalar_one_or_none()
        if ws is None:
            raise NotFound(_("No workspace with id {id}.").format(id=workspace_id))
        ctx = ScoringContext(session, ws)
        picker = TeamPicker(session, ws.id)
        by_email = {
            k: lid
            for k, lid in session.execute(
                select(Lead.email_key, Lead.id).where(Lead.workspace_id == ws.id, Lead.email_key.is_not(None))
            )
        }
        by_ext = {
            k: lid
            for k, lid in session.execute(
                select(Lead.external_id, Lead.id).where(Lead.workspace_id == ws.id, Lead.external_id.is_not(None))
            )
        }
        owners: dict[str, int] = {}
        new_rows: list[dict[str, Any]] = []
        seen_in_file: dict[str, dict[str, Any]] = {}
        for done, lead in enumerate(parsed, start=1):
            extra = lead.pop("_extra")
            lead.pop("_row")
            key = (lead.get("email") or "").casefold() or None
            existing_id = (by_email.get(key) if key else None) or by_ext.get(lead.get("external_id"))
            if existing_id is None and key and key in seen_in_file:
                seen_in_file[key].update(lead)  # the same email twice in one file: one lead
                report.updated += 1
                continue
            if existing_id is not None:
                row = session.get_one(Lead, existing_id)
                before = lead_fields(row)
                apply_fields(row, lead)
                old_status = row.status
                if "status" in extra:
                    row.status = extra["status"]
                if lead_fields(row) == before and row.status == old_status:
                    report.unchanged += 1
                else:
                    row.updated_at = now
                    _score(session, ctx, row, now)
                    report.updated += 1
            else:
                values = dict(lead)
                values["_extra"] = extra
                new_rows.append(values)
                if key:
                    seen_in_file[key] = values
            if progress and done % 500 == 0:
                progress(done, total)
        _insert_new(session, ws, ctx, picker, new_rows, owners, now)
        report.created = len(new_rows)
        report.written = True
    if progress:
        progress(total, total)
    return report


def _score(session: Any, ctx: ScoringContext, lead: Lead, now: datetime) -> None:
    events = session.execute(select(LeadEvent.kind, LeadEvent.at).where(LeadEvent.lead_id == lead.id)).all()
    _apply_score(ctx, lead, [(k, at) for k, at in events], now)


def _apply_score(ctx: ScoringContext, lead: Lead, events: list[tuple[str, datetime]], now: datetime) -> None:
    fields = lead_fields(lead)
    result = ctx.scorer.score(fields, events, now)
    lead.score, lead.score_reasons = result.points, [r.to_json() for r in result.top(10)]
    if ctx.model is not None:
        lead.predicted = round(100 * predictive.predict(ctx.model, predictive.feature_values(fields)).probability)
    hot = is_hot(lead.status, lead.score, ctx.ws.hot_lead_threshold)
    if hot != bool(lead.hot):
        lead.hot, lead.hot_since = hot, (now if hot else None)


def _insert_new(
    session: Any,
    ws: Workspace,
    ctx: ScoringContext,
    picker: TeamPicker,
    rows: list[dict[str, Any]],
    owners: dict[str, int],
    now: datetime,
) -> None:
    if not rows:
        return
    # Reserve a block of numbers in one statement.
    last = session.execute(
        update(Workspace)
        .where(Workspace.id == ws.id)
        .values(next_lead_number=Workspace.next_lead_number + len(rows))
        .returning(Workspace.next_lead_number)
    ).scalar_one()
    first = int(last) - len(rows)
    objects = []
    for i, values in enumerate(rows):
        extra = values.pop("_extra")
        lead = Lead(
            workspace_id=ws.id,
            number=first + i,
            name="",
            attributes={},
            status=LeadStatus.NEW,
            score=0,
            score_reasons=[],
            hot=False,
            created_at=extra.get("created_at", now),
            updated_at=now,
        )
        for field, value in values.items():
            setattr(lead, field, value)
        if lead.email:
            lead.email_key = lead.email.casefold()
        if not lead.name:
            lead.name = (lead.email or "").split("@")[0]
        if "owner" in extra:
            lead.owner_id = _owner_id(session, ws.id, extra["owner"], now, owners)
        lead.status = extra.get("status", LeadStatus.ASSIGNED if lead.owner_id else LeadStatus.NEW)
        lead.team_id = picker.pick(values)
        _apply_score(ctx, lead, [], now)
        objects.append(lead)
    session.add_all(objects)
    session.flush()


def export_rows(uow: UnitOfWork, workspace_id: int) -> Iterable[list[str]]:
    """The rows of `salesbot export leads` (header first)."""
    yield list(EXPORT_COLUMNS)
    with uow.read() as session:
        users = {
            u.id: (u.slack_id or u.name) for u in session.scalars(select(User).where(User.workspace_id == workspace_id))
        }
        for lead in session.scalars(select(Lead).where(Lead.workspace_id == workspace_id).order_by(Lead.number)):
            yield [
                lead.ref,
                lead.name,
                lead.email or "",
                lead.company or "",
                lead.title or "",
                lead.source or "",
                lead.country or "",
                lead.industry or "",
                "" if lead.employees is None else str(lead.employees),
                users.get(lead.owner_id, "") if lead.owner_id else "",
                LeadStatus(lead.status).value,
                str(lead.score),
                "yes" if lead.hot else "no",
                lead.created_at.isoformat(),
            ]


def export_leads(uow: UnitOfWork, workspace_id: int, out: TextIO) -> int:
    """Write the workspace's leads as CSV (SPEC section 2 columns); return how many."""
    return cm.write_rows(out, export_rows(uow, workspace_id)) - 1


def as_mapping(report: ImportReport) -> Mapping[str, Any]:
    """The report as plain data (for tests and JSON output)."""
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "errors": [e.__dict__ for e in report.errors],
    }
