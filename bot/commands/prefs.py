"""`/salesbot prefs`: show or change one's notification preferences; admins see anyone's.

    /salesbot prefs                               show mine
    /salesbot prefs @user                         show theirs (admins)
    /salesbot prefs mute stale [slipped …]        /salesbot prefs unmute stale
    /salesbot prefs channel #sales-alerts         /salesbot prefs channel dm
    /salesbot prefs hours 09:00-18:00 [mon-fri]   /salesbot prefs days sun-thu
    /salesbot prefs digest friday                 (managers)
    /salesbot prefs away until 2026-12-24         /salesbot prefs back
"""
from __future__ import annotations

from bot.commands import Request
from bot.commands.parsing import Args
from bot.views.prefs import prefs_message, prefs_saved
from core.errors import InvalidInput
from core.i18n import _
from core.notify.preferences import PrefsChange, get_prefs, set_prefs


def _usage() -> str:
    return _("Use `/salesbot prefs`, `/salesbot prefs mute stale`, `/salesbot prefs unmute stale`, "
             "`/salesbot prefs channel #sales-alerts` (or `channel dm`), `/salesbot prefs hours 09:00-18:00 mon-fri`, "
             "`/salesbot prefs digest friday`, `/salesbot prefs away until 2026-12-24` or `/salesbot prefs back`.")


def change_of(args: Args) -> PrefsChange | None:
    """The change a `/salesbot prefs …` text asks for (None: just show)."""
    words = [t.value for t in args.words]
    if not words:
        if args.channels:
            raise InvalidInput(_usage())
        return None
    verb, rest = words[0].lower(), words[1:]
    if verb in ("mute", "unmute"):
        if not rest:
            raise InvalidInput(_("Which kind? Kinds: followups, stale, slipped, hot, digest."), "muted")
        return PrefsChange(mute=tuple(rest)) if verb == "mute" else PrefsChange(unmute=tuple(rest))
    if verb == "channel":
        if args.channels and not rest:
            return PrefsChange(channel=args.channels[0])
        if [w.lower() for w in rest] == ["dm"]:
            return PrefsChange(channel="dm")
        return PrefsChange(channel=" ".join(rest) or "?")  # refused by core: not a channel it knows
    if verb == "dm" and not rest:
        return PrefsChange(channel="dm")
    if verb == "hours" and rest:
        return PrefsChange(hours=rest[0], days=" ".join(rest[1:]) or None)
    if verb == "days" and rest:
        return PrefsChange(days=" ".join(rest))
    if verb == "digest" and len(rest) == 1:
        return PrefsChange(digest_day=rest[0])
    if verb == "away":
        if rest and rest[0].lower() == "until":
            rest = rest[1:]
        if not rest:
            raise InvalidInput(_("Until when? e.g. `/salesbot prefs away until 2026-12-24` (your last day away)."),
                               "away_until")
        return PrefsChange(away_until=" ".join(rest))
    if verb == "back" and not rest:
        return PrefsChange(away_until="off")
    raise InvalidInput(_usage())


def run(req: Request, args: Args) -> None:
    """`/salesbot prefs …` (the rest of the text after `prefs`)."""
    if len(args.users) > 1:
        raise InvalidInput(_("Mention one person."), "user")
    whose = args.users[0] if args.users else None
    change = change_of(args)
    if change is None:
        view = get_prefs(req.uow, req.actor, whose)
        req.answer(prefs_message(view, own=view.user_id == req.actor.user_id))
        return
    req.answer(prefs_saved(set_prefs(req.uow, req.actor, change, req.now, whose)))
