"""Messages still queued (pending or dead) in shapes of older releases, brought to today's, so that reading them
needs no second copy of the rules: a case view without the domain's decisions (``moves``, ``at_stake_minor``,
``by_deadline``) gets them, derived as that release's builders did; a reminder naming its reader names the
reader's role; a Home tab holding every open case holds the first 20 of each part and how many more.

The rules are frozen here as they were: this migration must mean the same whatever the code becomes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 23:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before runs on this schema, and this one's reads what that code writes.
EXPAND_ONLY = True

OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("surface", sa.String),
    sa.column("status", sa.String),
    sa.column("view", sa.JSON),
)
HOME_SHOWN = 20
SCHEDULER = "scheduler"
BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(OUTBOX.c.id, OUTBOX.c.surface, OUTBOX.c.view)
            .where(OUTBOX.c.status.in_(("pending", "dead")), OUTBOX.c.id > last)
            .order_by(OUTBOX.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row_id, surface, view in rows:
            upgraded = _upgraded(surface, view)
            if upgraded != view:
                bind.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row_id).values(view=upgraded))
        last = rows[-1][0]


def downgrade() -> None:
    """Nothing to undo: the releases before read today's shapes too (their fields are a superset)."""


def _upgraded(surface: str, view: Any) -> Any:
    if not isinstance(view, dict):
        return view
    if surface == "home" and isinstance(view.get("cases"), list):
        return _bounded_home(view)
    view = _with_moves(view)
    if surface == "reminder" and "reader" in view and "role" not in view:
        view = dict(view)
        reader = view.pop("reader")
        view["role"] = "client" if reader == view.get("client_id") else "freelancer"
    return view


def _is_case(view: dict[str, Any]) -> bool:
    return all(key in view for key in ("state", "client_id", "freelancer_id", "requested_minor"))


def _with_moves(data: dict[str, Any]) -> dict[str, Any]:
    """A case view queued before views carried the domain's decisions: derived from its fields as the builders of
    that release read them."""
    if not _is_case(data) or "moves" in data:
        return data
    state, stage, waiting = data["state"], data.get("stage", "request"), data.get("waiting_on") or []
    client, freelancer = data["client_id"], data["freelancer_id"]
    is_open = data.get("open", True)
    moves: dict[str, list[str]] = {"client": [], "freelancer": []}
    for role, user in (("client", client), ("freelancer", freelancer)):
        if user in waiting:
            move = {
                "awaiting_freelancer": "answer" if stage == "request" else "respond",
                "freelancer_disputed": "answer_position",
                "proposed": "answer_proposal",
                "arbitration_offered": "arbitrate",
            }.get(state, "ask_again" if state in ("declined", "lapsed", "adjusted") else None)
            moves[role] += [move] if move else []
            if is_open and data.get("due_at") and role not in (data.get("extended_by") or []):
                moves[role].append("extend")
        if is_open:
            moves[role].append("add_evidence")
    if is_open and state != "arbitration":
        moves["client"].append("withdraw")
    mediator = data.get("mediator_id")
    if is_open and mediator is None and state in ("unassigned", "in_review"):
        moves["mediator"] = ["claim"]
    elif is_open and mediator is not None:
        only = {"claimed": ["propose", "release"], "in_review": ["decide", "release"], "arbitration": ["award"]}
        moves["mediator"] = [*only.get(state, []), "ask", "reassign"]
    disputed = data.get("disputed_minor")
    at_stake = disputed if disputed is not None else data["requested_minor"] - data["refunded_minor"]
    return data | {"moves": moves, "at_stake_minor": at_stake, "by_deadline": data.get("updated_by") == SCHEDULER}


def _bounded_home(view: dict[str, Any]) -> dict[str, Any]:
    """Every open case of a person, as the Home tab showed them once it was bounded."""
    user = view.get("user")
    cases = [_with_moves(case) for case in view["cases"] if isinstance(case, dict)]
    waiting = [c for c in cases if c.get("state") == "awaiting_freelancer" and c.get("freelancer_id") == user]
    ids = {c.get("id") for c in waiting}
    others = [c for c in cases if c.get("id") not in ids]
    more = max(len(waiting) - HOME_SHOWN, 0) + max(len(others) - HOME_SHOWN, 0)
    return {"user": user, "waiting": waiting[:HOME_SHOWN], "others": others[:HOME_SHOWN], "more": more}
