"""Reading a spreadsheet export: finding our fields among its headers, and its values.

Headers are matched case-, space-, dash- and underscore-insensitively against the
aliases below, so `Close Date`, `close_date` and `CLOSE-DATE` are one column. Values are
read strictly (ISO dates, plain or `en`-formatted amounts): a CSV is data, and a wrong
guess at `03/04/2017` would silently move a deal by a month.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from core.errors import InvalidInput
from core.i18n import N_, _

# Field -> accepted headers, best first (when a file has two, the earlier alias wins).
DEAL_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "id", "ref", "opportunity_id", "deal_id", "record_id"),
    "title": ("title", "deal", "deal_name", "opportunity", "opportunity_name", "name"),
    "owner": ("owner", "sales_agent", "rep", "sales_rep", "agent", "deal_owner"),
    "team": ("team",),
    "stage": ("stage", "deal_stage", "status"),
    "amount": ("amount", "close_value", "value", "deal_value"),
    "expected_close": ("expected_close", "close_date", "close", "expected_close_date"),
    "closed_at": ("closed_at", "closed", "date_closed", "closed_date"),
    "account": ("account", "company", "account_name"),
    "created": ("created_at", "created", "create_date", "created_date"),
    "engaged": ("engage_date", "engaged_at", "engaged", "engagement_date"),
    "currency": ("currency",),
    "contact": ("contact", "contact_name"),
    "product": ("product",),
    "next_step": ("next_step",),
    "source": ("source", "lead_source"),
    "lost_reason": ("lost_reason", "loss_reason"),
}
# A deal needs something to call it by (a title, or what we build one from) and a stage.
TITLE_FIELDS = ("title", "product", "account", "external_id")
REQUIRED_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("title", TITLE_FIELDS),
    ("stage", ("stage",)),
)
MAX_LENGTHS = {
    "external_id": 100, "title": 200, "owner": 200, "team": 100, "account": 200, "contact": 200,
    "product": 100, "next_step": 500, "source": 100, "lost_reason": 500, "stage": 100,
}
_PLAIN_AMOUNT = re.compile(r"\d{1,13}(\.\d{1,2})?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Date-only values become 12:00 UTC: the same calendar day in every time zone from
# UTC-11 to UTC+11, so a deal closed on 2017-03-31 counts in Q1 wherever it is read.
DATE_ONLY_TIME = time(12, 0)


def header_key(header: str) -> str:
    """`Close Date` -> `closedate`: what headers are compared by."""
    return re.sub(r"[\s_\-.]+", "", header.strip().lstrip("\ufeff")).casefold()


@dataclass(frozen=True)
class ColumnMap:
    """Which column index holds which field, and the headers we did not use."""

    index: dict[str, int]
    headers: list[str]
    ignored: list[str]

    def header_of(self, field: str) -> str:
        return self.headers[self.index[field]]


def map_columns(headers: list[str], aliases: dict[str, tuple[str, ...]] = DEAL_ALIASES) -> ColumnMap:
    """Match headers to fields; raise InvalidInput naming a missing required column."""
    keys = [header_key(h) for h in headers]
    index: dict[str, int] = {}
    taken: set[int] = set()
    for field, names in aliases.items():
        for name in names:
            key = header_key(name)
            if key in keys and keys.index(key) not in taken:
                index[field] = keys.index(key)
                taken.add(index[field])
                break
    if aliases is DEAL_ALIASES:
        for label, group in REQUIRED_GROUPS:
            if not any(f in index for f in group):
                accepted = ", ".join(a for f in group for a in aliases[f])
                raise InvalidInput(
                    _('Missing column "{column}": the file needs one of these headers: {accepted}. '
                      "Headers found: {found}.").format(
                        column=label, accepted=accepted, found=", ".join(headers) or _("(none)")),
                    field=label,
                )
    ignored = [h for i, h in enumerate(headers) if i not in taken]
    return ColumnMap(index=index, headers=headers, ignored=ignored)


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), =cmd|...).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _needs_guard(text: str) -> bool:
    # A cell that already starts with the guard quote before a formula start is guarded too,
    # so that unguard(guard(x)) == x for every x (a title that really is `'=1+1` included).
    return text.lstrip("'").startswith(FORMULA_STARTS)


def guard_cell(value: str) -> str:
    """A CSV cell a spreadsheet opens as text: `'` before a cell that would start a formula.

    Every exported cell goes through this, numbers included: ours never start with a sign
    (amounts and employee counts are never negative, dates are ISO), and a negative score,
    written `'-3`, shows as text in a spreadsheet and is recomputed on import anyway.
    """
    return "'" + value if _needs_guard(value) else value


def unguard_cell(value: str) -> str:
    """The value `guard_cell` wrote (its one `'` removed); any other cell as it is."""
    return value[1:] if value.startswith("'") and _needs_guard(value[1:]) else value


def write_rows(out: TextIO, rows: Iterable[Sequence[Any]]) -> int:
    """Write `rows` as CSV with every cell guarded; returns the number of rows written."""
    writer = csv.writer(out, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow([guard_cell("" if cell is None else str(cell)) for cell in row])
        count += 1
    return count


def read_csv(path_or_file: str | Path | TextIO, what: str = N_("file")) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of a comma-separated file; InvalidInput if it has no data.

    A file whose header holds no comma but a `;` or a tab is refused with that said: the
    amounts in such files usually use `,` as the decimal mark, and reading them as `en`
    would be wrong.
    """
    if isinstance(path_or_file, (str, Path)):
        path = Path(path_or_file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise InvalidInput(_("No such file: {path}").format(path=path)) from None
        except UnicodeDecodeError:
            raise InvalidInput(_("{path} is not UTF-8 text: save it as CSV UTF-8 and try again.").format(
                path=path)) from None
        name = path.name
    else:
        text = path_or_file.read().lstrip("\ufeff")
        name = getattr(path_or_file, "name", None) or _(what)
    # Blank lines stay in place as [] so that row numbers in error reports match the
    # spreadsheet's; callers skip them with `if not row`.
    # Cells an export guarded against formulas (guard_cell) get their exact value back.
    rows = [
        [unguard_cell(c) for c in row] if any(c.strip() for c in row) else []
        for row in csv.reader(io.StringIO(text, newline=""))
    ]
    while rows and not rows[0]:
        rows.pop(0)
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        raise InvalidInput(_("{name} is empty: expected a header row (e.g. title,stage,amount) and data rows.").format(
            name=name))
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    if len(header) == 1:
        for mark, label in ((";", N_("semicolons")), ("\t", N_("tabs")), ("|", N_("pipes"))):
            if mark in header[0]:
                raise InvalidInput(
                    _("{name} seems to use {separator} between columns; salesbot reads comma-separated "
                      "files. Save it as CSV (comma delimited) and try again.").format(name=name, separator=_(label))
                )
    if len(rows) == 1:
        raise InvalidInput(_("{name} has a header row but no data rows: nothing to import.").format(name=name))
    return header, rows[1:]


def cell(row: list[str], cmap: ColumnMap, field: str) -> str:
    """The stripped value of a field in a row ('' when the column is absent or short)."""
    i = cmap.index.get(field)
    if i is None or i >= len(row):
        return ""
    return row[i].strip()


def parse_csv_amount(text: str, currency: str) -> tuple[Decimal, str]:
    """Amount and currency of a cell; InvalidInput with the reason when it is not one."""
    if _PLAIN_AMOUNT.fullmatch(text):  # the common case, without Babel's cost
        return Decimal(text).quantize(Decimal("0.01")), currency
    from core.money import parse_amount

    money = parse_amount(text, "en", currency)
    return money.amount, money.currency


def parse_csv_datetime(text: str) -> datetime:
    """ISO date (`2017-03-01`, read as 12:00 UTC) or ISO date-time (naive means UTC)."""
    if _ISO_DATE.fullmatch(text):
        try:
            return datetime.combine(date.fromisoformat(text), DATE_ONLY_TIME, tzinfo=UTC)
        except ValueError:
            raise InvalidInput(_("{text} is not a real date (check the day and month).").format(text=text)) from None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(_("not a date: use YYYY-MM-DD, e.g. 2017-03-01")) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_csv_date(text: str) -> date:
    """An ISO date (a date-time is cut to its UTC date)."""
    return parse_csv_datetime(text).date()


def normal_name(name: str) -> str:
    """`GTX Pro` and `GTXPro` are one product: compare names without case or spaces."""
    return re.sub(r"[\s_\-]+", "", name).casefold()


_ID_TOKEN = re.compile(r"[^A-Za-z0-9]*([A-Za-z0-9]+)")


def owner_id_token(cell: str) -> str | None:
    """The user id an owner cell may carry: its first run of ASCII letters and digits, whatever
    punctuation surrounds it. `U123`, `@U123` and the decorated forms a chat app puts around an
    id when it is copied all give `U123`; a name gives its first word, which matches no user id.
    The importers look the token up among the workspace's known ids, else take the cell as a name.
    """
    match = _ID_TOKEN.match(cell.strip())
    return match.group(1) if match else None


@dataclass(frozen=True)
class RowError:
    """A bad cell: row as a spreadsheet shows it (the header is row 1), column, value, why.

    `kind` names errors a caller may explain as a whole (e.g. core.deals.import_rows.UNKNOWN_STAGE:
    a stage the pipeline lacks, which `create_stages` would add).
    """

    row: int
    column: str
    value: str
    reason: str
    kind: str = ""
