"""Finding a deal from a few typed letters: the "Add to deal" picker (an external select).

A ref (`D-12`, `12`, `#12`) finds that deal; other text matches the title or the account.
Only deals the actor may read exist here (SPEC section 7); open deals come first, then the
most recently changed.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, or_, select

from core.db import UnitOfWork
from core.deals.queries import _VIEW_COLUMNS, REF_RE, DealView, _readable_by, _view_of_row
from core.tables import Deal, DealStatus, Stage, User
from core.text import casefold_for_match, loose_key
from core.workspace.users import Actor

MAX_QUERY = 100


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_deals(uow: UnitOfWork, actor: Actor, query: str, *, limit: int = 20) -> list[DealView]:
    """Up to `limit` deals the actor may read whose ref, title or account matches `query`."""
    text = " ".join(query.split())[:MAX_QUERY]
    readable = [Deal.workspace_id == actor.workspace_id]
    if not actor.is_admin:
        readable.append(_readable_by(actor))
    conds = list(readable)
    if text:
        pattern = _like(text)
        words: list[ColumnElement[bool]] = [Deal.title.ilike(pattern, escape="\\"),
                                            Deal.account.ilike(pattern, escape="\\")]
        ref = REF_RE.match(text)
        if ref:
            words.append(Deal.number == int(ref[1]))
        conds.append(or_(*words))
    with uow.read() as session:
        found = [_view_of_row(row) for row in session.execute(_listing(conds, limit))]
        if found or not text:
            return found
        # SQL's case folding is ASCII-only on SQLite and follows no language: "istanbul" finds
        # "İSTANBUL Bayi" here, by the reader's case rules, then with ı = i.
        rows = session.execute(select(Deal.id, Deal.title, Deal.account).where(*readable)).all()
        ids: list[int] = []
        for key in (casefold_for_match, loose_key):
            wanted = key(text)
            ids = [i for i, title, account in rows if wanted in key(title or "") or wanted in key(account or "")]
            if ids:
                break
        if not ids:
            return []
        return [_view_of_row(row) for row in session.execute(_listing([*readable, Deal.id.in_(ids[:500])], limit))]


def _listing(conds: list[ColumnElement[bool]], limit: int) -> Any:
    return (
        select(*_VIEW_COLUMNS)
        .select_from(Deal)
        .join(Stage, Stage.id == Deal.stage_id)
        .join(User, User.id == Deal.owner_id, isouter=True)
        .where(*conds)
        .order_by(case((Deal.status == DealStatus.OPEN, 0), else_=1), Deal.updated_at.desc(), Deal.number.desc())
        .limit(limit)
    )
