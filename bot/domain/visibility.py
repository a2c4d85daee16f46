"""Who may read what (design §6), in one place: the notifier decides where a message goes by it, the read models
what a view holds, and the blocks how an item is labelled.

Two audiences read a case: its parties (their DMs, the case thread, their Home) and its mediators (the case card,
its thread, the desk). Mediators read everything. Parties never read mediator-only evidence (its words, links or
files) nor either party's record across other cases, which only the case card carries; an outcome that cites a
mediator-only item shows them its number and author alone.
"""

from __future__ import annotations

from typing import Any

from bot.domain.events import Evidence
from bot.domain.vocabulary import Visibility


def party_may_read(item: Evidence) -> bool:
    return item.visibility is Visibility.BOTH_SIDES


def cited_for_parties(item: Evidence) -> dict[str, Any]:
    """An item an outcome relied on, as the parties may read it."""
    readable = party_may_read(item)
    return {
        "seq": item.seq,
        "role": item.role,
        "mediator_only": not readable,
        "text": item.text if readable else None,
        "links": list(item.links) if readable else [],
        "files": [{"name": each.name, "sha256": each.sha256} for each in item.files] if readable else [],
    }
