"""`/pipeline`: open pipeline by stage — count, amount, weighted — with totals."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.views.common import Message, amount_text, context, escape, header, message, missing_rates_note, section
from core import formatting
from core.i18n import _, ngettext
from core.insight.kpis import StageTotal, open_total
from core.workspace.users import Actor


def pipeline_message(stages: Sequence[StageTotal], actor: Actor, label: str) -> Message:
    """One line a stage, then the totals (core.insight.kpis.open_total); amounts in the base currency."""
    cur = actor.currency
    t = open_total(list(stages))

    def m(amount: Decimal, approx: bool) -> str:
        return amount_text(amount, cur, None, approx)

    def deals(n: int) -> str:
        return ngettext("{n} deal", "{n} deals", n).format(n=formatting.number(n))

    lines = [
        f"*{escape(s.stage)}* ({formatting.probability(s.probability)}) — {deals(s.count)} · "
        f"{m(s.amount, s.approx)} · " + _("weighted {amount}").format(amount=m(s.weighted, s.approx))
        for s in stages[:40]
    ]
    open_deals = ngettext("{n} open deal", "{n} open deals", t.count).format(n=formatting.number(t.count))
    total = "*{}* — {} · {} · {}".format(_("Total"), open_deals, m(t.amount, t.approx),
                                         _("weighted {amount}").format(amount=m(t.weighted, t.approx)))
    blocks = [header(_("Open pipeline: {label}").format(label=escape(label)))]
    # Sections hold 3000 characters: 40 stages of ~120 characters split over a few.
    for start in range(0, len(lines), 20):
        blocks.append(section("\n".join(lines[start : start + 20])))
    blocks.append(section(total))
    note = missing_rates_note(t.missing)
    if note:
        blocks.append(context(note))
    if t.count == 0:
        blocks.append(context(_("No open deals here yet. Create one with {command}.").format(
            command="`/deal new Acme 12k`")))
    text = _("Open pipeline ({label}): {deals}, {amount}, weighted {weighted}").format(
        label=escape(label), deals=deals(t.count), amount=m(t.amount, t.approx), weighted=m(t.weighted, t.approx))
    return message(text, blocks)
