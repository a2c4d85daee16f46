"""The payouts relay: delivers each ledger entry to the marketplace's payments endpoint (PAYMENTS_WEBHOOK_URL).

Entries wait in the outbox, queued in the transaction that decided them (``bot.services.payments.Webhook``), in
streams of their own so that Slack's messages never wait on the marketplace. Each is POSTed as JSON, signed as
the push API is (``bot.api``: HMAC-SHA256 over ``v0:{timestamp}:{body}``), with an ``Idempotency-Key`` that is
the entry's for ever: delivery is at least once, and the marketplace pays an entry once however often it hears
of it. What the endpoint answers:

- 2xx: accepted, unless its JSON says ``{"status": "refused", "reason": ...}``; a ``reference`` is kept.
- 422: refused, with the ``reason`` of its JSON body (or its text).
- 408, 409, 425, 429, 5xx, no answer: tried again later, with back-off (a ``Retry-After`` is followed).
- anything else (a bad secret's 401, a wrong URL's 404, a redirect): the operator must act, so the entry is
  parked as dead at once, shown by `refundbot outbox` and sent again by `refundbot outbox retry --dead`.

An answer is recorded on its entry (``bot.services.payouts``) before the row is settled; a crash in between
sends it again, under the same key, and the second answer changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.error import HTTPError, URLError

from slack_sdk.signature import SignatureVerifier
from sqlalchemy.orm import Session, sessionmaker

from bot.api import SIGNATURE_HEADER, TIMESTAMP_HEADER
from bot.domain.vocabulary import PAYOUT_REASON_LIMIT, LedgerKind
from bot.lanes import Dead, LaneWorker, Later, NoRedirects
from bot.services.core import Deps
from bot.services.payouts import record_answer
from bot.services.ports import Outcome, PayoutAnswer
from storage.outbox import Lane, LeasedMessage

log = logging.getLogger("refundbot.payouts")

FIRST_WAIT = timedelta(seconds=10)
MAX_WAIT = timedelta(minutes=30)
# About six hours of trying (10 s, 20 s, … then every 30 min) before an entry waits for the operator.
MAX_ATTEMPTS = 20
TRANSIENT = frozenset({408, 409, 425, 429})
ANSWER_LIMIT = 64_000


@dataclass(frozen=True)
class Answered:
    outcome: Outcome
    reason: str | None = None
    reference: str | None = None


class PayoutSender(LaneWorker):
    lane = Lane.PAYOUTS
    log = log

    def __init__(
        self,
        sessions: sessionmaker[Session],
        deps: Deps,
        url: str,
        secret: str,
        *,
        owner: str,
        clock: Callable[[], datetime],
        lease: timedelta = timedelta(seconds=60),
        batch: int = 20,
        timeout: float = 10.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        super().__init__(
            sessions,
            owner=owner,
            clock=clock,
            lease=lease,
            batch=batch,
            max_attempts=max_attempts,
            first_wait=FIRST_WAIT,
            max_wait=MAX_WAIT,
        )
        self.deps = deps
        self.url = url
        self.signer = SignatureVerifier(secret)
        self.timeout = timeout
        self._opener = urllib.request.build_opener(NoRedirects())

    def describe(self, row: LeasedMessage) -> str:
        return f"payout {row.view['id']}"

    def work(self, row: LeasedMessage) -> None:
        answered = self.post(row.view)
        entry = row.view
        answer = PayoutAnswer(
            entry_id=int(entry["entry_id"]),
            case_id=str(entry["case"]),
            kind=LedgerKind(entry["type"]),
            amount_minor=int(entry["amount"]["minor"]),
            currency=str(entry["amount"]["currency"]),
            outcome=answered.outcome,
            reason=answered.reason,
            reference=answered.reference,
            at=self.clock(),
        )
        if record_answer(self.deps, row.team_id, answer) and answered.outcome == "refused":
            log.warning("payouts: the marketplace refused %s: %s; the case is on hold", entry["id"], answered.reason)

    def post(self, entry: dict[str, Any]) -> Answered:
        """One signed POST of one entry, and what its answer means."""
        body = json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))  # the receiver checks it against its own clock, not the app's
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "refund-bot",
                "Idempotency-Key": entry["id"],
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: self.signer.generate_signature(timestamp=timestamp, body=body),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, text = response.status, response.read(ANSWER_LIMIT)
        except HTTPError as exc:
            status, text = exc.code, exc.read(ANSWER_LIMIT)
            if status in TRANSIENT or status >= 500:
                raise Later(f"answered {status}: {_said(text)}", _retry_after(exc.headers.get("Retry-After"))) from None
            if status != 422:
                raise Dead(f"answered {status}: {_said(text)}") from None
            return Answered("refused", _reason(text))
        except (URLError, TimeoutError, OSError) as exc:
            raise Later(f"no answer: {getattr(exc, 'reason', exc)}") from None
        return _accepted_or_refused(status, text)


def _said(text: bytes) -> str:
    return " ".join(text.decode("utf-8", "replace").split())[:300] or "(no body)"


def _json(text: bytes) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _reason(text: bytes) -> str:
    found = _json(text)
    reason = found.get("reason") or found.get("error") or _said(text)
    return " ".join(str(reason).split())[:PAYOUT_REASON_LIMIT]


def _accepted_or_refused(status: int, text: bytes) -> Answered:
    found = _json(text)
    said = found.get("status", "accepted")
    reference = found.get("reference")
    reference = str(reference)[:100] if reference is not None else None
    if said == "accepted":
        return Answered("accepted", reference=reference)
    if said == "refused":
        return Answered("refused", _reason(text), reference)
    raise Dead(f"answered {status} with a status refund-bot does not know: {str(said)[:100]!r}")


def _retry_after(value: str | None) -> timedelta | None:
    """Seconds, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        return parsedate_to_datetime(value) - datetime.now(parsedate_to_datetime(value).tzinfo)
    except (TypeError, ValueError):
        return None
