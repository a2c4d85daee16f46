"""Who may read what (design §6), in one place: the notifier decides where a message goes by it, the read models
what a view holds, and the blocks how an item is labelled.

Two audiences read a case: its parties (their DMs, the case thread, their Home) and its mediators (the case card,
its thread, the desk). Mediators read everything. Parties never read mediator-only evidence (its words, links or
files) nor either party's record across other cases; an outcome that cites a mediator-only item shows them its
number and author alone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.domain.events import Evidence
from bot.domain.vocabulary import Visibility


class Audience(StrEnum):
    PARTIES = "parties"
    MEDIATORS = "mediators"


def may_read(audience: Audience, item: Evidence) -> bool:
    return audience is Audience.MEDIATORS or item.visibility is Visibility.BOTH_SIDES


def party_may_read(item: Evidence) -> bool:
    return may_read(Audience.PARTIES, item)


def reads_records(audience: Audience) -> bool:
    """The parties' records (how often each asked, won, was flagged) are for the mediators' eyes only."""
    return audience is Audience.MEDIATORS


def cited(item: Evidence, audience: Audience) -> dict[str, Any]:
    """An item an outcome relied on, as ``audience`` may read it."""
    readable = may_read(audience, item)
    return {
        "seq": item.seq,
        "role": item.role,
        "mediator_only": item.visibility is Visibility.MEDIATOR_ONLY,
        "text": item.text if readable else None,
        "links": list(item.links) if readable else [],
    }
