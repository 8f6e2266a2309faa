"""Deal import: header variants, every bad-input path, skip-bad-rows, re-import, history."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.csv_mapping import RowError
from core.db import UnitOfWork
from core.deals.import_rows import ImportReport
from core.deals.importer import import_deals
from core.errors import InvalidInput
from core.tables import Deal, DealChange, DealStatus, Stage, Team, User
from core.workspace.users import Actor
from core.workspace.workspaces import get_or_create_workspace

GOOD = """id,title,owner,stage,amount,close_date,account,created
A1,Acme renewal,Jane Roe,Prospecting,12000,2026-12-15,Acme,2026-10-01
A2,Globex expansion,Jane Roe,Proposal,"$4,500.50",2027-01-10,Globex,2026-11-02
A3,Initech pilot,Sam Poe,won,800,2026-11-20,Initech,2026-09-12
"""


@pytest.fixture
def ws_id(uow: UnitOfWork, now: datetime) -> int:
    with uow.transaction() as s:
        return get_or_create_workspace(s, "T1", now).id


def write(tmp_path: Path, text: str, name: str = "deals.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(uow: UnitOfWork) -> tuple[int, ...]:
    """Row counts of everything an import may touch, and the next deal number."""
    from core.tables import Workspace

    with uow.read() as s:
        counts = tuple(
            int(s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Deal, DealChange, User, Team, Stage)
        )
        numbers = tuple(s.scalars(select(Workspace.next_deal_number).order_by(Workspace.id)))
    return counts + numbers


def deals_by_key(uow: UnitOfWork, ws_id: int) -> dict[str, dict[str, Any]]:
    with uow.read() as s:
        rows = s.execute(
            select(Deal, Stage.name, User.name)
            .join(Stage, Deal.stage_id == Stage.id)
            .outerjoin(User, Deal.owner_id == User.id)
            .where(Deal.workspace_id == ws_id)
        ).all()
        return {
            d.external_id: {
                "number": d.number, "title": d.title, "account": d.account, "amount": d.amount,
                "currency": d.currency, "stage": stage, "status": d.status, "owner": owner,
                "expected_close": d.expected_close, "created_at": d.created_at, "closed_at": d.closed_at,
                "engaged_at": d.engaged_at,
            }
            for d, stage, owner in rows
        }


def test_imports_a_simple_file(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    report = import_deals(uow, ws_id, write(tmp_path, GOOD), now=now, progress=lambda d, t: seen.append((d, t)))
    assert (report.created, report.updated, report.unchanged, report.skipped, report.errors) == (3, 0, 0, 0, [])
    assert report.written and seen[0] == (0, 3) and seen[-1] == (3, 3)
    deals = deals_by_key(uow, ws_id)
    assert deals["A1"]["title"] == "Acme renewal" and deals["A1"]["stage"] == "Prospecting"
    assert deals["A1"]["amount"] == Decimal("12000.00") and deals["A1"]["owner"] == "Jane Roe"
    assert deals["A1"]["expected_close"] == date(2026, 12, 15) and deals["A1"]["closed_at"] is None
    assert deals["A1"]["created_at"] == datetime(2026, 10, 1, 12, tzinfo=UTC)
    assert deals["A2"]["amount"] == Decimal("4500.50")
    assert deals["A3"]["stage"] == "Won" and deals["A3"]["status"] == DealStatus.WON
    assert deals["A3"]["closed_at"] == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert sorted(d["number"] for d in deals.values()) == [1, 2, 3]
    with uow.read() as s:
        owners = s.scalars(select(User).where(User.import_name.is_not(None))).all()
        created = s.scalars(select(DealChange.source).where(DealChange.field == "created")).all()
    assert sorted(u.name for u in owners) == ["Jane Roe", "Sam Poe"] and all(u.slack_id is None for u in owners)
    assert created == ["import"] * 3


@pytest.mark.parametrize(
    "header",
    [
        "Title,Owner,Stage,Amount,Close Date,Company,Created",
        "deal_name,sales_rep,deal_stage,value,expected_close,account,created_at",
        "OPPORTUNITY, REP ,STATUS,Close_Value,close-date,Account Name,engage_date",
        "Deal,Sales Agent,Deal Stage,deal value,Expected Close,company,Create Date",
    ],
)
def test_header_variants(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path, header: str) -> None:
    text = header + "\nBig deal,Jane Roe,Negotiation,1500,2027-02-01,Acme,2026-10-05\n"
    report = import_deals(uow, ws_id, write(tmp_path, text), now=now)
    assert report.created == 1 and report.ignored_columns == []
    (deal,) = deals_by_key(uow, ws_id).values()
    assert (deal["title"], deal["owner"], deal["stage"], deal["amount"]) == (
        "Big deal", "Jane Roe", "Negotiation", Decimal("1500.00"))
    assert (deal["expected_close"], deal["account"]) == (date(2027, 2, 1), "Acme")
    assert deal["created_at"] == datetime(2026, 10, 5, 12, tzinfo=UTC)
    engaged = datetime(2026, 10, 5, 12, tzinfo=UTC) if "engage_date" in header else None
    assert deal["engaged_at"] == engaged


def test_maven_style_rows_build_titles_and_use_list_prices(
    uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path
) -> None:
    pipeline = (
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
        "O1,Ann Lee,GTXPro,Acme,Won,2017-01-02,2017-03-05,4500\n"
        "O2,Ann Lee,GTX Basic,Acme,Lost,2017-01-02,2017-03-06,0\n"
        "O3,Ann Lee,GTX Basic,,Engaging,2017-02-02,,\n"
        "O4,Bo Chan,MG Special,,Prospecting,,,\n"
    )
    products = "product,series,sales_price\nGTX Pro,GTX,4821\nGTX Basic,GTX,550\nMG Special,MG,55\n"
    teams = "sales_agent,manager,regional_office\nAnn Lee,Cy Dee,East\nBo Chan,Cy Dee,East\n"
    report = import_deals(
        uow, ws_id, write(tmp_path, pipeline), now=now, create_stages=True,
        products_csv=write(tmp_path, products, "products.csv"), teams_csv=write(tmp_path, teams, "teams.csv"),
    )
    assert report.created == 4 and report.stages_created == ["Engaging"]
    d = deals_by_key(uow, ws_id)
    assert [d[k]["title"] for k in ("O1", "O2", "O3", "O4")] == [
        "GTXPro - Acme", "GTX Basic - Acme", "GTX Basic - O3", "MG Special - O4"]
    assert [d[k]["amount"] for k in ("O1", "O2", "O3", "O4")] == [
        Decimal("4500.00"), Decimal("550.00"), Decimal("550.00"), Decimal("55.00")]
    assert d["O2"]["status"] == DealStatus.LOST and d["O2"]["closed_at"] == datetime(2017, 3, 6, 12, tzinfo=UTC)
    assert d["O4"]["created_at"] == now and d["O4"]["engaged_at"] is None
    with uow.read() as s:
        team = s.scalar(select(Team).where(Team.name == "Cy Dee"))
        assert team is not None and team.manager is not None and team.manager.name == "Cy Dee"
        members = s.scalars(select(User.name).where(User.team_id == team.id).order_by(User.name)).all()
        engaging = s.scalar(select(Stage).where(Stage.name == "Engaging"))
        won = s.scalar(select(Stage).where(Stage.name == "Won"))
    assert members == ["Ann Lee", "Bo Chan", "Cy Dee"]
    assert engaging is not None and won is not None and engaging.position == won.position - 1
    # Its own history: of the two imported deals that reached it (engaged) and closed, one won.
    assert engaging.probability == 50 and report.stage_probabilities == {"Engaging": (50, 1, 2)}


def test_owner_given_as_slack_id_links_to_that_user(
    uow: UnitOfWork, ana: Actor, now: datetime, tmp_path: Path
) -> None:
    text = "title,stage,owner\nOne,Qualified,UANA\nTwo,Qualified,<@UANA|ana>\n"
    import_deals(uow, ana.workspace_id, write(tmp_path, text), now=now)
    with uow.read() as s:
        owners = s.scalars(select(Deal.owner_id).where(Deal.workspace_id == ana.workspace_id).order_by(Deal.id)).all()
    assert owners == [ana.user_id, ana.user_id]


def test_numbers_continue_after_existing_deals(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    import_deals(uow, ws_id, write(tmp_path, GOOD), now=now)
    import_deals(uow, ws_id, write(tmp_path, "title,stage\nFourth,Qualified\n", "more.csv"), now=now)
    numbers = sorted(d["number"] for d in deals_by_key(uow, ws_id).values())
    assert numbers == [1, 2, 3, 4]


# -- bad input: a clear error, and the database exactly as before -----------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title,owner,amount\nAcme,Jane,100\n", ['Missing column "stage"', "deal_stage", "status"]),
        ("owner,stage,amount\nJane,Won,100\n", ['Missing column "title"', "opportunity", "external_id"]),
        ("", ["is empty"]),
        ("\n\n", ["is empty"]),
        ("title,stage,amount\n", ["no data rows"]),
        ("title;stage;amount\nAcme;Won;100,50\n", ["semicolons", "comma"]),
        ("title\tstage\nAcme\tWon\n", ["tabs"]),
    ],
)
def test_file_level_errors_change_nothing(
    uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path, text: str, expected: list[str]
) -> None:
    before = snapshot(uow)
    with pytest.raises(InvalidInput) as err:
        import_deals(uow, ws_id, write(tmp_path, text), now=now)
    for part in expected:
        assert part in err.value.message
    assert snapshot(uow) == before


def test_missing_file_is_a_clear_error(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="No such file"):
        import_deals(uow, ws_id, tmp_path / "nope.csv", now=now)


@pytest.mark.parametrize(
    ("cell", "column", "reason"),
    [
        ("close_date=2017-02-30", "close_date", "not a real date"),
        ("close_date=31/12/2026", "close_date", "YYYY-MM-DD"),
        ("amount=twelve", "amount", "Couldn't read"),
        ("amount=12,34,5", "amount", "Couldn't read"),
        ("amount=-500", "amount", "negative"),
        ("stage=Closing", "stage", "unknown stage; known stages: Prospecting, Qualified"),
        ("stage=", "stage", "stage is empty"),
        ("currency=dollars", "currency", "ISO 4217"),
        ("currency=XYZ", "currency", "ISO 4217"),
        ("id=A1", "id", "same id is on row 2"),
    ],
)
def test_row_errors_name_row_column_and_reason_and_change_nothing(
    uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path, cell: str, column: str, reason: str
) -> None:
    field, value = cell.split("=", 1)
    header = ["id", "title", "stage", "amount", "close_date", "currency"]
    good = {"id": "A9", "title": "Fine", "stage": "Qualified", "amount": "100", "close_date": "2027-01-01",
            "currency": "USD"}
    bad = {**good, "id": "A8", "title": "Broken", field: value}
    first = dict(good, id="A1", title="First")
    lines = [",".join(header)] + [",".join(f'"{r[h]}"' for h in header) for r in (first, bad, good)]
    before = snapshot(uow)
    report = import_deals(uow, ws_id, write(tmp_path, "\n".join(lines) + "\n"), now=now)
    assert not report.written and report.created == 0
    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.row, error.column, error.value) == (3, column, value)
    assert reason in error.reason
    assert snapshot(uow) == before


def test_all_errors_are_listed_not_only_the_first(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    text = "title,stage,amount,close_date\nA,Qualified,-1,2026-13-01\nB,Nope,1,2026-01-01\nC,Won,1,\n"
    report = import_deals(uow, ws_id, write(tmp_path, text), now=now)
    assert [(e.row, e.column) for e in report.errors] == [(2, "amount"), (2, "close_date"), (3, "stage")]


def test_skip_bad_rows_imports_the_good_ones(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    text = "id,title,stage,amount\nK1,Good,Qualified,10\nK2,Bad,Qualified,-3\nK3,Also good,Won,5\nK4,Bad,Nope,1\n"
    report = import_deals(uow, ws_id, write(tmp_path, text), now=now, skip_bad_rows=True)
    assert report.written and (report.created, report.skipped) == (2, 2)
    assert [e.row for e in report.errors] == [3, 5]
    assert sorted(deals_by_key(uow, ws_id)) == ["K1", "K3"]


def test_unknown_stage_with_create_stages_adds_it(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    text = "title,stage\nA,Discovery\nB,discovery\nC,Demo\n"
    report = import_deals(uow, ws_id, write(tmp_path, text), now=now, create_stages=True)
    assert report.created == 3 and report.stages_created == ["Discovery", "Demo"]
    with uow.read() as s:
        names = s.scalars(select(Stage.name).where(Stage.workspace_id == ws_id).order_by(Stage.position)).all()
    assert names == ["Prospecting", "Qualified", "Proposal", "Negotiation", "Discovery", "Demo", "Won", "Lost"]


def test_stage_aliases(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    text = "title,stage\nA,closed won\nB,Closed-Lost\nC,NEGOTIATION\nD,Closed Won\n"
    import_deals(uow, ws_id, write(tmp_path, text), now=now)
    with uow.read() as s:
        got = s.execute(select(Deal.title, Deal.status).order_by(Deal.title)).all()
    assert [str(st) for _, st in got] == ["won", "lost", "open", "won"]


# -- re-import ---------------------------------------------------------------------------


def test_reimport_is_idempotent(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    no_ids = "title,stage,amount\nSame,Qualified,10\nSame,Qualified,10\nOther,Won,20\n"
    for text in (GOOD, no_ids):
        path = write(tmp_path, text)
        first = import_deals(uow, ws_id, path, now=now)
        before = snapshot(uow)
        data = deals_by_key(uow, ws_id)
        second = import_deals(uow, ws_id, path, now=datetime(2027, 1, 1, tzinfo=UTC))
        assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
        assert snapshot(uow) == before and deals_by_key(uow, ws_id) == data


def test_changed_row_updates_and_writes_history(uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path) -> None:
    import_deals(uow, ws_id, write(tmp_path, GOOD), now=now)
    changed = GOOD.replace(
        "A1,Acme renewal,Jane Roe,Prospecting,12000", "A1,Acme renewal,Sam Poe,Won,15000"
    )
    later = datetime(2026, 12, 1, 9, tzinfo=UTC)
    report = import_deals(uow, ws_id, write(tmp_path, changed), now=later)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    deal = deals_by_key(uow, ws_id)["A1"]
    assert (deal["stage"], deal["status"], deal["amount"], deal["owner"]) == (
        "Won", DealStatus.WON, Decimal("15000.00"), "Sam Poe")
    assert deal["closed_at"] == datetime(2026, 12, 15, 12, tzinfo=UTC)
    with uow.read() as s:
        history = s.execute(
            select(DealChange.field, DealChange.old_value, DealChange.new_value, DealChange.source)
            .where(DealChange.changed_at == later)
            .order_by(DealChange.field)
        ).all()
    assert [tuple(h) for h in history] == [
        ("amount", "12000.00", "15000.00", "import"),
        ("closed_at", None, "2026-12-15T12:00:00+00:00", "import"),
        ("owner", "Jane Roe", "Sam Poe", "import"),
        ("stage", "Prospecting", "Won", "import"),
        ("status", "open", "won", "import"),
    ]


def test_reads_an_open_file_object(uow: UnitOfWork, ws_id: int, now: datetime) -> None:
    report = import_deals(uow, ws_id, io.StringIO("\ufefftitle,stage\nAcme,Qualified\n"), now=now)
    assert report.created == 1


def test_row_error_is_a_plain_record() -> None:
    assert RowError(2, "amount", "-1", "negative") == RowError(2, "amount", "-1", "negative")
    assert ImportReport(created=1, skipped=2).total == 3


@pytest.mark.parametrize(
    ("teams", "products", "expected"),
    [
        ("sales_agent,region\nAnn,East\n", None, "teams file needs the columns sales_agent and manager"),
        ("sales_agent,manager\nAnn,\n", None, "Teams file, row 2"),
        (None, "product,sales_price\nGTX,cheap\n", "Products file, row 2, sales_price 'cheap'"),
        (None, "name,series\nGTX,G\n", "products file needs the columns product and sales_price"),
    ],
)
def test_bad_teams_or_products_file_changes_nothing(
    uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path, teams: str | None, products: str | None,
    expected: str,
) -> None:
    before = snapshot(uow)
    with pytest.raises(InvalidInput) as err:
        import_deals(
            uow, ws_id, write(tmp_path, GOOD), now=now,
            teams_csv=write(tmp_path, teams, "teams.csv") if teams else None,
            products_csv=write(tmp_path, products, "products.csv") if products else None,
        )
    assert expected in err.value.message
    assert snapshot(uow) == before


def test_a_row_wider_than_the_header_is_a_row_error(
    uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path
) -> None:
    report = import_deals(uow, ws_id, write(tmp_path, "title,stage\nA,Qualified\nB,Qualified,extra\n"), now=now)
    assert [(e.row, e.column) for e in report.errors] == [(3, "(row)")]
    assert "has 3 cells, the header has 2" in report.errors[0].reason


def test_currency_column_and_amount_with_a_currency(
    uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path
) -> None:
    text = "id,title,stage,amount,currency\nC1,A,Qualified,100,eur\nC2,B,Qualified,200 GBP,\nC3,C,Qualified,5,\n"
    import_deals(uow, ws_id, write(tmp_path, text), now=now)
    got = {k: (d["amount"], d["currency"]) for k, d in deals_by_key(uow, ws_id).items()}
    assert got == {"C1": (Decimal("100.00"), "EUR"), "C2": (Decimal("200.00"), "GBP"), "C3": (Decimal("5.00"), "USD")}


def test_bulk_written_values_compare_in_sql_like_orm_written_ones(
    uow: UnitOfWork, ana: Actor, now: datetime, tmp_path: Path
) -> None:
    """The bulk path bypasses the ORM: its dates and enums must match what queries bind."""
    from core.deals import deals

    deals.create_deal(uow, ana, title="Made in Slack", now=now)
    import_deals(uow, ana.workspace_id, write(tmp_path, GOOD), now=now)
    with uow.read() as s:
        def count(*where: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(Deal).where(*where)) or 0)

        assert count(Deal.closed_at == datetime(2026, 11, 20, 12, tzinfo=UTC)) == 1
        assert count(Deal.created_at >= datetime(2026, 9, 12, 12, tzinfo=UTC), Deal.created_at < now) == 3
        assert count(Deal.updated_at == now) == 4
        assert count(Deal.status == DealStatus.OPEN) == 3
        assert count(Deal.expected_close == date(2026, 12, 15)) == 1
        changes = s.scalar(select(func.count()).select_from(DealChange).where(DealChange.changed_at == now))
    assert changes == 4


def test_row_numbers_count_blank_lines_as_a_spreadsheet_does(
    uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path
) -> None:
    text = "title,stage,amount\nA,Qualified,1\n\n,,\nB,Nope,1\n\n"
    report = import_deals(uow, ws_id, write(tmp_path, text), now=now)
    assert [(e.row, e.column) for e in report.errors] == [(5, "stage")]
    ok = import_deals(uow, ws_id, write(tmp_path, "title,stage\n\nA,Qualified\n"), now=now)
    assert ok.created == 1 and not ok.errors


def test_rows_sharing_one_error_are_grouped_and_every_unknown_stage_named_once(
    uow: UnitOfWork, ws_id: int, now: datetime, tmp_path: Path
) -> None:
    from core.deals.import_rows import UNKNOWN_STAGE, group_errors

    rows = [f"E{i},Deal {i},Engaging,100,2027-01-01" for i in range(5)]
    rows += ["D1,Dormant one,Dormant,100,2027-01-01", "B1,Bad date,Qualified,100,2017-02-30"]
    rows += [f"N{i},Negative {i},Qualified,-{i + 1},2027-01-01" for i in range(2)]
    report = import_deals(uow, ws_id, write(tmp_path, "id,title,stage,amount,close_date\n" + "\n".join(rows) + "\n"),
                          now=now)
    assert not report.written and report.bad_rows == 9
    groups, singles = group_errors(report.errors)
    assert [(g.kind, g.value, g.count, g.rows[:2]) for g in groups] == [
        (UNKNOWN_STAGE, "Engaging", 5, (2, 3)), (UNKNOWN_STAGE, "Dormant", 1, (7,))]
    # The rest, row by row (two negative amounts differ in value, so they are not one error).
    assert [(e.row, e.column) for e in singles] == [(8, "close_date"), (9, "amount"), (10, "amount")]
    same = [RowError(r, "status", "maybe", "status should be one of …") for r in range(2, 6)]
    groups, singles = group_errors([*same, RowError(6, "created", "x", "not an ISO date")])
    assert [(g.value, g.rows) for g in groups] == [("maybe", (2, 3, 4, 5))] and [e.row for e in singles] == [6]
    assert group_errors(same[:2]) == ([], same[:2])  # two alike stay rows
