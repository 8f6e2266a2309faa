"""`salesbot rates import FILE.csv` run as the installed command, against SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, select

from core.tables import ExchangeRate
from tests.e2e.test_cli_data import run

GOOD = "date,currency,rate\n2017-01-01,EUR,1.05\n2017-07-01,EUR,1.14\n2017-01-01,TRY,0.28\n"


def _rates(db_url: str) -> list[tuple[str, date, Decimal]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [(c, d, Decimal(r)) for c, d, r in conn.execute(
                select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.rate)
                .order_by(ExchangeRate.currency, ExchangeRate.valid_from))]
    finally:
        engine.dispose()


def test_rates_import_then_again_changes_nothing(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(GOOD, encoding="utf-8")
    done = run(db_url, "rates", "import", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Imported rates into USD: 3 created, 0 updated, 0 unchanged."
    rows = _rates(db_url)
    assert rows == [("EUR", date(2017, 1, 1), Decimal("1.05")), ("EUR", date(2017, 7, 1), Decimal("1.14")),
                    ("TRY", date(2017, 1, 1), Decimal("0.28"))]
    again = run(db_url, "rates", "import", str(path), cwd=tmp_path)
    assert again.returncode == 0 and "0 created, 0 updated, 3 unchanged" in again.stdout
    assert _rates(db_url) == rows


def test_a_bad_rates_file_names_row_column_reason_and_imports_nothing(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(GOOD + "2017-02-30,EUR,1.1\n2017-03-01,XYZ,1.2\n2017-04-01,GBP,0\n2017-05-01,GBP,1.3\n",
                    encoding="utf-8")
    done = run(db_url, "rates", "import", str(path), cwd=tmp_path)
    assert done.returncode == 1
    err = " ".join(done.stderr.split())
    assert "nothing imported: 3 bad row(s)" in err
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in done.stderr.splitlines() if "│" in line]
    found = {(c[0], c[1]) for c in cells if len(c) == 4 and c[0].isdigit()}
    assert {("5", "date"), ("6", "currency"), ("7", "rate")} <= found, done.stderr
    assert "XYZ" in done.stderr and "above zero" in err and "YYYY-MM-DD" in err
    assert _rates(db_url) == []


def test_rates_import_usage_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    missing = run(url, "rates", "import", str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    binary = tmp_path / "rates.csv"
    binary.write_bytes(b"\xff\xfe\x00date")
    done = run(url, "rates", "import", str(binary), cwd=tmp_path)
    assert done.returncode == 1 and "not UTF-8" in done.stderr
