"""`/pipeline`: open pipeline by stage — count, amount, weighted — with totals."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.views.common import Message, context, escape, header, message, money, section
from core.insight.kpis import StageTotal
from core.workspace.users import Actor


def pipeline_message(stages: Sequence[StageTotal], actor: Actor, label: str) -> Message:
    """One line a stage, then the totals; amounts in the workspace currency."""
    cur, loc = actor.currency, actor.locale
    count = sum(s.count for s in stages)
    amount = sum((s.amount for s in stages), Decimal(0))
    weighted = sum((s.weighted for s in stages), Decimal(0))
    lines = [
        f"*{escape(s.stage)}* ({s.probability}%) — {s.count} deal{'s' if s.count != 1 else ''} · "
        f"{money(s.amount, cur, loc)} · weighted {money(s.weighted, cur, loc)}"
        for s in stages[:40]
    ]
    total = (f"*Total* — {count} open deal{'s' if count != 1 else ''} · {money(amount, cur, loc)} · "
             f"weighted {money(weighted, cur, loc)}")
    blocks = [header(f"Open pipeline: {escape(label)}")]
    # Sections hold 3000 characters: 40 stages of ~120 characters split over a few.
    for start in range(0, len(lines), 20):
        blocks.append(section("\n".join(lines[start : start + 20])))
    blocks.append(section(total))
    if count == 0:
        blocks.append(context("No open deals here yet. Create one with `/deal new Acme 12k`."))
    text = (f"Open pipeline ({escape(label)}): {count} deals, {money(amount, cur, loc)}, "
            f"weighted {money(weighted, cur, loc)}")
    return message(text, blocks)
