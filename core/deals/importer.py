"""Importing deals from a spreadsheet export (CSV), all-or-nothing, fast and repeatable.

How a row becomes a deal (decisions worth knowing):
- Key: the id column (`id`, `ref`, `opportunity_id`, ...) is the deal's external id; a row
  without one gets a key from a hash of its content, so importing the same file twice
  changes nothing the second time (the report says "unchanged").
- Title: the title column, else `product - account`, else `product - id` when the account
  is blank, else the id itself (the Maven data set has no title column).
- Owner: the id of a known user (`U123`, also with punctuation around it, see
  csv_mapping.owner_id_token), else a name kept on an unlinked user
  (core.workspace.users.owner_by_name) that `/salesbot link` ties to Slack later.
- Amount: the amount column. With a products file, an empty amount takes the product's
  list price, and so does a lost deal's 0: the Maven data records 0 as the value of a lost
  deal, but what was lost is the deal at its list price, and a lost amount of 0 would make
  "value lost" reports meaningless.
- Dates: ISO dates are read as 12:00 UTC (see core.csv_mapping). `created` sets created_at;
  `engage_date` sets engaged_at, and created_at too when there is no created column (Maven);
  without either created_at is `now`. Won and lost deals are closed at their closed_at,
  else their close date.
- Re-importing our own export: in a column headed `ref` (ours), `D-42` that no deal carries
  as its external id matches deal number 42, so export -> edit -> import updates deals
  (made in Slack or imported under another id) instead of duplicating them.
- Writes (core.deals.import_writer) are bulk inserts and updates in batches, after one pass of checks that
  touches nothing: stages, users, products and existing keys are preloaded into dicts.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import csv_mapping as cm
from core.clean import clean_name
from core.csv_mapping import RowError
from core.db import UnitOfWork
from core.deals.import_rows import UNKNOWN_STAGE, ImportReport, ParsedRow, Progress, StageResolver
from core.deals.import_writer import resolve_owners, write_deals
from core.errors import InvalidInput, NotFound
from core.i18n import N_, _
from core.money import iso_currencies, to_minor
from core.tables import DealStatus, Role, Stage, Team, Workspace
from core.workspace.users import owner_by_name
from core.workspace.workspaces import default_pipeline, stages_of

Source = str | Path | TextIO


def import_deals(
    uow: UnitOfWork,
    workspace_id: int,
    path_or_file: Source,
    *,
    now: datetime,
    teams_csv: Source | None = None,
    products_csv: Source | None = None,
    create_stages: bool = False,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import deals from a CSV into a workspace's default pipeline.

    A file-level problem (missing file, no header, missing required column, wrong
    delimiter) raises InvalidInput and changes nothing. Bad rows are listed in the report;
    then nothing is written unless `skip_bad_rows`, which imports the good rows.
    """
    headers, rows = cm.read_csv(path_or_file)
    cmap = cm.map_columns(headers)
    prices = read_products(products_csv) if products_csv is not None else {}
    teams = read_teams(teams_csv) if teams_csv is not None else []
    report = ImportReport(ignored_columns=cmap.ignored)
    if progress:
        progress(0, len(rows))
    with uow.transaction() as s:
        ws = s.execute(select(Workspace).where(Workspace.id == workspace_id).with_for_update()).scalar_one_or_none()
        if ws is None:
            raise NotFound(_("No workspace with id {id}.").format(id=workspace_id))
        stages = stages_of(s, default_pipeline(s, workspace_id).id)
        resolver = StageResolver(stages, ws.locale or "en")
        parsed = _parse_rows(rows, cmap, ws, resolver, prices, create_stages, now, report)
        if report.errors and not skip_bad_rows:
            return report
        report.skipped = len({e.row for e in report.errors})
        report.written = True
        if resolver.new_names:
            report.stages_created = _add_stages(s, stages, resolver, parsed, report)
        if teams:
            _apply_teams(s, workspace_id, teams, now)
        owners = resolve_owners(s, workspace_id, parsed, now)
        write_deals(s, ws, parsed, resolver, owners, cmap, now, report, progress, len(rows))
    return report


def _parse_rows(
    rows: list[list[str]],
    cmap: cm.ColumnMap,
    ws: Workspace,
    resolver: StageResolver,
    prices: dict[str, Decimal],
    create_stages: bool,
    now: datetime,
    report: ImportReport,
) -> list[ParsedRow]:
    """Check and convert every row; bad cells go to report.errors, good rows are returned."""
    parsed: list[ParsedRow] = []
    seen_keys: dict[str, int] = {}
    width = len(cmap.headers)
    fields = list(cmap.index.items())
    # Hot loop over up to 100k rows: no ORM attribute access or regex per row where a dict will do.
    default_currency = ws.default_currency
    known_names: set[str] = set()
    product_prices: dict[str, Decimal | None] = {}
    limits = [(f, limit) for f, limit in cm.MAX_LENGTHS.items() if f in cmap.index]
    for offset, row in enumerate(rows):
        if not row:
            continue
        number = offset + 2
        errors_before = len(report.errors)

        def bad(fname: str, value: str, reason: str, number: int = number, kind: str = "") -> None:
            column = cmap.header_of(fname) if fname in cmap.index else fname
            report.errors.append(RowError(number, column, value, reason, kind))

        if len(row) > width:
            report.errors.append(
                RowError(number, "(row)", ",".join(row)[:80],
                         _("has {n} cells, the header has {width}").format(n=len(row), width=width))
            )
            continue
        short = len(row) < width
        val = {f: (row[i].strip() if not short or i < len(row) else "") for f, i in fields}
        for fname, limit in limits:
            if len(val[fname]) > limit:
                bad(fname, val[fname][:40] + "…", _("longer than {limit} characters").format(limit=limit))

        stage_name = " ".join(val.get("stage", "").split())
        if not stage_name:
            bad("stage", "", _("stage is empty; known stages: {stages}").format(stages=resolver.known))
        elif stage_name not in known_names:
            if resolver.find(stage_name) is not None:
                known_names.add(stage_name)
            elif create_stages:
                resolver.new_names.setdefault(resolver.key(stage_name), stage_name)
            else:
                bad("stage", stage_name, _("unknown stage; known stages: {stages}").format(stages=resolver.known),
                    kind=UNKNOWN_STAGE)
        status = resolver.status_of(stage_name)

        currency = (val.get("currency") or default_currency).upper()
        if val.get("currency") and currency not in iso_currencies():
            bad("currency", val["currency"], _("not a currency code: use an ISO 4217 code like USD or EUR"))
        amount: Decimal | None = None
        if val.get("amount"):
            try:
                amount, currency = cm.parse_csv_amount(val["amount"], currency)
            except InvalidInput as err:
                bad("amount", val["amount"], err.message)
        product = val.get("product", "")
        if product not in product_prices:
            product_prices[product] = prices.get(cm.normal_name(product))
        list_price = product_prices[product]
        if list_price is not None and (amount is None or (status == DealStatus.LOST and amount == 0)):
            amount = list_price  # see the module docstring: lost deals keep their list price

        dates: dict[str, datetime | None] = {}
        for fname in ("created", "engaged", "expected_close", "closed_at"):
            if val.get(fname):
                try:
                    dates[fname] = cm.parse_csv_datetime(val[fname])
                except InvalidInput as err:
                    bad(fname, val[fname], err.message)
        engaged = dates.get("engaged")
        created = dates.get("created") or engaged  # Maven has only engage_date: the deal began then
        closed_text = dates.get("closed_at") or dates.get("expected_close")
        expected = dates.get("expected_close")

        external_id = val.get("external_id", "")
        title = val.get("title") or _built_title(val.get("product", ""), val.get("account", ""), external_id)
        if not title:
            bad("title", "", _("no title: give a title, or a product, account or id to build one from"))
        if len(report.errors) > errors_before:
            continue

        key = external_id or "row:" + hashlib.sha1("\x1f".join(row).encode()).hexdigest()[:20]
        if key in seen_keys:
            if external_id:
                bad("external_id", external_id, _("the same id is on row {row}").format(row=seen_keys[key]))
                continue
            occurrence = 2
            while f"{key}#{occurrence}" in seen_keys:
                occurrence += 1
            key = f"{key}#{occurrence}"  # identical rows without an id are distinct deals
        seen_keys[key] = number

        soft: set[str] = set()
        closed_at: datetime | None = None
        if status != DealStatus.OPEN:
            closed_at = closed_text or created or now
            if closed_text is None:
                soft.add("closed_at")
        if created is None:
            soft.add("created_at")
        values: dict[str, Any] = {
            "title": clean_name(title)[:200],
            "account": clean_name(val.get("account") or "") or None,
            "contact": clean_name(val.get("contact") or "") or None,
            "product": val.get("product") or None,
            "amount_minor": None if amount is None else to_minor(amount),
            "currency": currency,
            "expected_close": expected.date() if expected else None,
            "next_step": val.get("next_step") or None,
            "source": val.get("source") or None,
            "lost_reason": val.get("lost_reason") or None,
            "created_at": created or now,
            "engaged_at": engaged,
            "closed_at": closed_at,
            "status": status,
        }
        parsed.append(
            ParsedRow(number, key, values, soft, val.get("owner") or None, val.get("team") or None, stage_name)
        )
    return parsed


def _built_title(product: str, account: str, external_id: str) -> str:
    if product:
        return f"{product} - {account or external_id}" if (account or external_id) else product
    return account or external_id


def measured_probability(parsed: list[ParsedRow], stage_name: str) -> tuple[int, int] | None:
    """(won, closed) of the imported deals that reached `stage_name` and closed; None without any.

    The file holds no stage history, only dates: a deal reached the stage when the file's own
    evidence says so. If the open deals sitting in the stage carry an engaged date (Maven's
    Engaging), engagement is that stage, and the closed deals with an engaged date reached it;
    otherwise every closed deal is taken to have passed through it.
    """
    in_stage = [r for r in parsed if r.stage_name == stage_name]
    engaged_means_stage = bool(in_stage) and all(r.values.get("engaged_at") for r in in_stage)
    closed = [r for r in parsed if r.values.get("status") in (DealStatus.WON, DealStatus.LOST)
              and (r.values.get("engaged_at") or not engaged_means_stage)]
    if not closed:
        return None
    return sum(1 for r in closed if r.values["status"] == DealStatus.WON), len(closed)


def _add_stages(
    s: Session, stages: list[Stage], resolver: StageResolver, parsed: list[ParsedRow], report: ImportReport
) -> list[str]:
    """Unknown stage names become open stages before Won, each with the probability its history gives.

    The probability is the share won of the imported deals that reached the stage and closed
    (measured_probability), kept within 1-99 %. A stage with no closed deal to learn from gets
    one spread by position after the last open stage (one new stage after Negotiation's 75 %: 88 %).
    """
    open_stages = [st for st in stages if not (st.is_won or st.is_lost)]
    terminal = [st for st in stages if st.is_won or st.is_lost]
    base = max((st.probability for st in open_stages), default=0)
    position = max((st.position for st in open_stages), default=-1) + 1
    names = list(resolver.new_names.values())
    for i, name in enumerate(names):
        measured = measured_probability(parsed, name)
        if measured is not None:
            won, closed = measured
            probability = min(max(round(100 * won / closed), 1), 99)
            report.stage_probabilities[name] = (probability, won, closed)
        else:
            probability = min(round(base + (100 - base) * (i + 1) / (len(names) + 1)), 99)
            report.stage_probabilities[name] = (probability, 0, 0)
        stage = Stage(
            workspace_id=stages[0].workspace_id,
            pipeline_id=stages[0].pipeline_id,
            name=name,
            position=position + i,
            probability=probability,
            rotting_days=14,
        )
        s.add(stage)
        resolver.by_key[resolver.key(name)] = stage
    for j, st in enumerate(sorted(terminal, key=lambda t: t.position)):
        st.position = position + len(names) + j
    s.flush()
    return names


def read_products(source: Source) -> dict[str, Decimal]:
    """products.csv (product, series, sales_price) -> list price by normalised product name."""
    headers, rows = cm.read_csv(source, N_("products file"))
    cmap = cm.map_columns(headers, {"product": ("product", "name"), "price": ("sales_price", "price", "list_price")})
    if "product" not in cmap.index or "price" not in cmap.index:
        raise InvalidInput(_("The products file needs the columns product and sales_price."))
    prices: dict[str, Decimal] = {}
    for offset, row in enumerate(rows):
        if not row:
            continue
        name, price = cm.cell(row, cmap, "product"), cm.cell(row, cmap, "price")
        try:
            prices[cm.normal_name(name)] = cm.parse_csv_amount(price, "USD")[0]
        except InvalidInput as err:
            raise InvalidInput(_("Products file, row {row}, sales_price {value}: {reason}").format(
                row=offset + 2, value=repr(price), reason=err.message)) from None
    return prices


def read_teams(source: Source) -> list[tuple[str, str]]:
    """sales_teams.csv (sales_agent, manager, regional_office) -> (agent, manager) pairs."""
    headers, rows = cm.read_csv(source, N_("teams file"))
    cmap = cm.map_columns(headers, {"agent": ("sales_agent", "agent", "rep", "owner"), "manager": ("manager",)})
    if "agent" not in cmap.index or "manager" not in cmap.index:
        raise InvalidInput(_("The teams file needs the columns sales_agent and manager."))
    pairs = []
    for offset, row in enumerate(rows):
        if not row:
            continue
        agent, manager = cm.cell(row, cmap, "agent"), cm.cell(row, cmap, "manager")
        if not agent or not manager:
            raise InvalidInput(_("Teams file, row {row}: both sales_agent and manager are needed.").format(
                row=offset + 2))
        pairs.append((agent, manager))
    return pairs


def _apply_teams(s: Session, workspace_id: int, pairs: list[tuple[str, str]], now: datetime) -> None:
    """One team per manager (named after them, managed by them), holding their agents."""
    teams = {t.name: t for t in s.scalars(select(Team).where(Team.workspace_id == workspace_id))}
    for manager_name in dict.fromkeys(m for __, m in pairs):
        manager = owner_by_name(s, workspace_id, manager_name, now)
        team = teams.get(manager_name)
        if team is None:
            team = Team(workspace_id=workspace_id, name=manager_name, created_at=now)
            s.add(team)
            s.flush()
            teams[manager_name] = team
        team.manager_id = manager.id
        manager.team_id = team.id
        if manager.role == Role.REP:
            manager.role = Role.MANAGER
    for agent_name, manager_name in pairs:
        owner_by_name(s, workspace_id, agent_name, now).team_id = teams[manager_name].id
    s.flush()

