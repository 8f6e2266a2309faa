"""`/pipeline`: open pipeline by stage — count, amount, weighted — with totals."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.views.common import Message, amount_text, context, escape, header, message, missing_rates_note, section
from core.insight.kpis import StageTotal, open_total
from core.workspace.users import Actor


def pipeline_message(stages: Sequence[StageTotal], actor: Actor, label: str) -> Message:
    """One line a stage, then the totals (core.insight.kpis.open_total); amounts in the base currency."""
    cur, loc = actor.currency, actor.locale
    t = open_total(list(stages))

    def m(amount: Decimal, approx: bool) -> str:
        return amount_text(amount, cur, loc, approx)

    lines = [
        f"*{escape(s.stage)}* ({s.probability}%) — {s.count} deal{'s' if s.count != 1 else ''} · "
        f"{m(s.amount, s.approx)} · weighted {m(s.weighted, s.approx)}"
        for s in stages[:40]
    ]
    total = (f"*Total* — {t.count} open deal{'s' if t.count != 1 else ''} · {m(t.amount, t.approx)} · "
             f"weighted {m(t.weighted, t.approx)}")
    blocks = [header(f"Open pipeline: {escape(label)}")]
    # Sections hold 3000 characters: 40 stages of ~120 characters split over a few.
    for start in range(0, len(lines), 20):
        blocks.append(section("\n".join(lines[start : start + 20])))
    blocks.append(section(total))
    note = missing_rates_note(t.missing)
    if note:
        blocks.append(context(note))
    if t.count == 0:
        blocks.append(context("No open deals here yet. Create one with `/deal new Acme 12k`."))
    text = (f"Open pipeline ({escape(label)}): {t.count} deals, {m(t.amount, t.approx)}, "
            f"weighted {m(t.weighted, t.approx)}")
    return message(text, blocks)
