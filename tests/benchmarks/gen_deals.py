"""Write a large, realistic deals CSV for the import benchmarks (deterministic: same seed, same file).

    python -m tests.benchmarks.gen_deals out.csv --rows 100000 --seed 7
"""
from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

HEADER = ("id", "title", "owner", "stage", "amount", "close_date", "account", "created", "source", "next_step")
STAGES = (("Prospecting", 18), ("Qualified", 14), ("Proposal", 10), ("Negotiation", 6), ("Won", 32), ("Lost", 20))
PRODUCTS = ("Renewal", "Expansion", "Pilot", "Platform", "Support plan", "Training", "Licences")
SOURCES = ("inbound", "referral", "outbound", "partner", "event", "")
FIRST = ("Ana", "Bob", "Mia", "Sam", "Lee", "Kai", "Noa", "Eli", "Ava", "Max", "Zoe", "Ian", "Uma", "Tom")
LAST = ("Stone", "Reed", "Park", "Silva", "Kaya", "Novak", "Ito", "Berg", "Lund", "Marsh")


def owners(count: int) -> list[str]:
    names = [f"{f} {last}" for last in LAST for f in FIRST]
    return names[:count]


def generate(path: Path, rows: int = 100_000, seed: int = 7, n_owners: int = 100) -> Path:
    """Write `rows` deals to `path`: ids G000001.., 100 owners, 2,000 accounts, every stage."""
    rnd = random.Random(seed)
    reps = owners(n_owners)
    stage_names = [s for s, _ in STAGES]
    weights = [w for _, w in STAGES]
    start = date(2024, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(HEADER)
        for i in range(1, rows + 1):
            stage = rnd.choices(stage_names, weights)[0]
            created = start + timedelta(days=rnd.randrange(900))
            close = created + timedelta(days=rnd.randrange(10, 180))
            account = f"Account {rnd.randrange(2000):04d}"
            amount = f"{rnd.randrange(5, 2000) * 50}" if rnd.random() > 0.05 else ""
            out.writerow(
                (f"G{i:06d}", f"{rnd.choice(PRODUCTS)} - {account}", rnd.choice(reps), stage, amount,
                 close.isoformat(), account, created.isoformat(), rnd.choice(SOURCES),
                 "call back" if stage not in ("Won", "Lost") and rnd.random() < 0.3 else "")
            )
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.out, args.rows, args.seed)
