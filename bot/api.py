"""The marketplace's API: its systems push contracts in as they change (``POST /api/v1/contracts``).

The body is the document ``refundbot import`` reads, as JSON, and it is checked the same way: every problem at
once, each named by its JSON path, and nothing applied unless all of it is. It is signed as Slack signs its
requests, with slack_sdk's own verifier: ``X-Refundbot-Request-Timestamp`` (Unix seconds) and
``X-Refundbot-Signature: v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the secret of the key that
``X-Refundbot-Key-Id`` names (MARKETPLACE_API_KEYS: two may be active at once, so a secret rotates without
downtime, and a key may be scoped to its workspaces), or without that header with MARKETPLACE_API_SECRET. A
timestamp more than five minutes off is stale. A push is idempotent by its content: the same signed request
again (a retry within the same second) is answered 200 with everything unchanged and applied once, and a
different body under a signature already used does not match it. Answers are JSON: 200 with what changed, 400
for a body that is not JSON, 401 unsigned, stale or unknown key, 403 a workspace the key may not push for, 422
with the problems, 503 while the database is away (send it again as it was).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.blocks import refusals
from bot.domain.policy import Policy
from bot.services.importing import ImportFile, ImportRejected, import_contracts, read_document
from bot.services.ports import StorageUnavailable, UnitOfWork
from storage.api_requests import ApiRequests

PATH = "/api/v1/contracts"
OPENAPI_PATH = "/api/v1/openapi.json"
TOLERANCE = timedelta(minutes=5)
# Both ways: the marketplace signs its pushes so, and refund-bot its payouts (``bot.payouts``).
TIMESTAMP_HEADER = "X-Refundbot-Request-Timestamp"
SIGNATURE_HEADER = "X-Refundbot-Signature"
KEY_HEADER = "X-Refundbot-Key-Id"
Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Key:
    """One signing key: its secret, and the workspaces it may push for (None: any)."""

    secret: str
    teams: frozenset[str] | None = None


class ContractsApi:
    def __init__(
        self,
        keys: Mapping[str | None, Key],
        uow: Callable[[], UnitOfWork],
        requests: ApiRequests,
        clock: Callable[[], datetime],
        policy: Policy,
    ) -> None:
        """``keys`` by id; the one under None (MARKETPLACE_API_SECRET) signs requests that name no key."""
        self.keys = {name: (key, SignatureVerifier(key.secret)) for name, key in keys.items()}
        self.uow = uow
        self.requests = requests
        self.clock = clock
        self.policy = policy

    def __call__(self, headers: dict[str, str], body: str) -> Answer:
        stamp = headers.get(TIMESTAMP_HEADER.lower(), "")
        signature = headers.get(SIGNATURE_HEADER.lower(), "")
        named = headers.get(KEY_HEADER.lower()) or None
        if not stamp or not signature:
            return 401, _error("unsigned", "sign the body: X-Refundbot-Request-Timestamp and X-Refundbot-Signature")
        if named not in self.keys:
            why = f"no key {named!r} is active" if named else "name the key that signed it: X-Refundbot-Key-Id"
            return 401, _error("unknown_key", why)
        key, verifier = self.keys[named]
        try:
            age = abs(time.time() - int(stamp))
        except ValueError:
            return 401, _error("bad_signature", "X-Refundbot-Request-Timestamp must be Unix seconds")
        if age > TOLERANCE.total_seconds():
            return 401, _error("stale", "the timestamp is more than 5 minutes off; sign the request again now")
        if not verifier.is_valid(body=body, timestamp=stamp, signature=signature):
            which = f"key {named!r}" if named else "MARKETPLACE_API_SECRET"
            return 401, _error("bad_signature", f"the signature does not match the body and {which}")
        try:
            document = json.loads(body, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            return 400, _error("invalid_json", f"the body is not JSON: {exc}")
        try:
            parsed = read_document(document)
        except ImportRejected as rejected:
            return 422, _error("rejected", "nothing was imported", problems=rejected.problems(refusals.plain))
        if key.teams is not None and parsed.team_id not in key.teams:
            return 403, _error("forbidden", f"key {named!r} may not push for workspace {parsed.team_id}")
        now = self.clock()
        try:
            if not self.requests.first_time(f"{named}:{signature}", now, 2 * TOLERANCE):
                return 200, _taken(parsed)
            report = import_contracts(parsed, self.uow(), now, self.policy)
        except ImportRejected as rejected:
            self.requests.forget(f"{named}:{signature}")
            return 422, _error("rejected", "nothing was imported", problems=rejected.problems(refusals.plain))
        except StorageUnavailable:
            self.requests.forget(f"{named}:{signature}")
            return 503, _error("unavailable", "the database is unavailable; send the request again in a minute")
        return 200, {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}


def _taken(document: ImportFile) -> dict[str, Any]:
    """The answer to a signed request already taken: applied once, so this time everything is unchanged. It is
    not applied again, so replaying an older push cannot undo a newer one."""
    items = sum(len(contract.milestones) + len(contract.timesheets) for contract in document.contracts)
    nothing = {"contracts": 0, "items": 0}
    return {"created": nothing, "updated": nothing, "unchanged": {"contracts": len(document.contracts), "items": items}}


def _error(code: str, message: str, **more: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **more}


_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "string"}, "description": "`$.path: what is wrong`"},
    },
}
_COUNTS = {"type": "object", "properties": {"contracts": {"type": "integer"}, "items": {"type": "integer"}}}
_HEADERS = [
    {"name": "X-Refundbot-Request-Timestamp", "in": "header", "required": True, "schema": {"type": "string"}},
    {
        "name": "X-Refundbot-Signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "pattern": "^v0=[0-9a-f]{64}$"},
    },
    {
        "name": KEY_HEADER,
        "in": "header",
        "required": False,
        "description": "The key that signed it (MARKETPLACE_API_KEYS); without it, MARKETPLACE_API_SECRET",
        "schema": {"type": "string"},
    },
]


def openapi() -> dict[str, Any]:
    """The API described for the marketplace's developers, its document schema taken from the model that checks
    it, so the two cannot drift apart."""
    schema = ImportFile.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    components = schema.pop("$defs", {}) | {"ImportFile": schema, "Error": _ERROR, "Counts": _COUNTS}
    push = {
        "summary": "Create or update contracts, milestones and timesheets (idempotent)",
        "description": __doc__,
        "parameters": _HEADERS,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportFile"}}},
        },
        "responses": _responses(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "refund-bot marketplace API", "version": "1"},
        "paths": {PATH: {"post": push}},
        "components": {"schemas": components},
    }


def _responses() -> dict[str, Any]:
    def answer(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": {"$ref": _FAILED}}}}

    counts = {key: {"$ref": "#/components/schemas/Counts"} for key in ("created", "updated", "unchanged")}
    return {
        "200": {
            "description": "Applied: how many contracts and items were created, updated, unchanged",
            "content": {"application/json": {"schema": {"type": "object", "properties": counts}}},
        },
        "400": answer("The body is not JSON"),
        "401": answer("Unsigned, stale, badly signed, or by a key that is not active"),
        "403": answer("The key may not push for the document's workspace"),
        "413": {"description": "The body is over 1 MiB: send fewer contracts at a time"},
        "422": answer("Nothing applied: every problem, each with its JSON path"),
        "503": answer("The database is unavailable: send the same request again"),
    }


_FAILED = "#/components/schemas/Error"
