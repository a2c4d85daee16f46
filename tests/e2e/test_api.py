"""POST /api/v1/contracts over real HTTP, as the marketplace's systems call it: signed pushes applied once and
idempotently; bad signatures, stale and replayed requests, and bad documents refused with JSON that says why,
nothing half-written."""

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from storage.tables import ContractRow, MilestoneRow
from tests.e2e.conftest import running_bot

API_SECRET = "marketplace-secret"
CONTRACT = {
    "id": "P-1",
    "title": "Pushed in",
    "kind": "fixed_price",
    "currency": "EUR",
    "client": "U0CLIENT01",
    "freelancer": "U0FREELA01",
    "milestones": [
        {"id": "M-1", "title": "Draft", "amount": "120.50", "status": "released", "released_at": "2026-11-20T10:00:00Z"}
    ],
}


@pytest.fixture
def pushed(database_url, standin):
    with running_bot(database_url, standin, marketplace_api_secret=API_SECRET) as bot:
        yield bot


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{url}/api/v1/contracts", data=body.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def signed(body: str, secret: str = API_SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(at if at is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Refundbot-Request-Timestamp": stamp, "X-Refundbot-Signature": signature}


def document(*contracts: dict[str, Any]) -> str:
    return json.dumps({"team_id": "T0DEMO01", "contracts": list(contracts)})


def test_a_signed_push_is_applied_and_pushing_it_again_changes_nothing(pushed):
    body = document(CONTRACT)
    first = int(time.time())
    assert post(pushed.url, body, signed(body, at=first)) == (
        200,
        {
            "created": {"contracts": 1, "items": 1},
            "updated": {"contracts": 0, "items": 0},
            "unchanged": {"contracts": 0, "items": 0},
        },
    )
    assert pushed.count(ContractRow, id="P-1") == 1
    # The marketplace's retry of the same document, signed again: another timestamp (whatever second the clock is in
    # by now), so another signature, not a replay.
    status, again = post(pushed.url, body, signed(body, at=first - 1))
    assert (status, again["unchanged"]) == (200, {"contracts": 1, "items": 1})
    changed = document(CONTRACT | {"title": "Renamed"})
    assert post(pushed.url, changed, signed(changed))[1]["updated"] == {"contracts": 1, "items": 0}


def test_unsigned_badly_signed_stale_and_replayed_requests_are_refused(pushed):
    body = document(CONTRACT)
    assert post(pushed.url, body, {})[0] == 401
    assert post(pushed.url, body, {})[1]["error"] == "unsigned"
    assert post(pushed.url, body, signed(body, "not-the-secret")) == (
        401,
        {"error": "bad_signature", "message": "the signature does not match the body and MARKETPLACE_API_SECRET"},
    )
    tampered = body.replace("120.50", "1.00")
    assert post(pushed.url, tampered, signed(body))[1]["error"] == "bad_signature"
    assert post(pushed.url, body, signed(body, at=int(time.time()) - 600))[1]["error"] == "stale"
    assert pushed.count(ContractRow, id="P-1") == 0


def test_the_same_signed_push_again_is_unchanged_and_a_replay_never_undoes_a_newer_push(pushed):
    body = document(CONTRACT)
    headers = signed(body)
    assert post(pushed.url, body, headers)[1]["created"] == {"contracts": 1, "items": 1}
    nothing = {"contracts": 0, "items": 0}
    again = (200, {"created": nothing, "updated": nothing, "unchanged": {"contracts": 1, "items": 1}})
    assert post(pushed.url, body, headers) == again  # the marketplace's retry within the same second
    renamed = document(CONTRACT | {"title": "Renamed"})
    assert post(pushed.url, renamed, signed(renamed))[1]["updated"] == {"contracts": 1, "items": 0}
    assert post(pushed.url, body, headers) == again  # the older push, replayed: taken once, not applied again
    with pushed.instance.runtime.sessions() as session:
        assert session.get(ContractRow, ("T0DEMO01", "P-1")).title == "Renamed"
    other = document(CONTRACT | {"title": "Forged"})
    assert post(pushed.url, other, headers)[1]["error"] == "bad_signature"  # another body, a signature reused


KEYS = '{"old": {"secret": "old-secret-0123456789"}, "new": {"secret": "new-secret-0123456789"}, ' + (
    '"acme": {"secret": "acme-secret-0123456789", "teams": ["T0ACME001"]}}'
)


def keyed(body: str, key: str, secret: str) -> dict[str, str]:
    return signed(body, secret) | {"X-Refundbot-Key-Id": key}


def test_keys_rotate_without_downtime_and_a_scoped_key_pushes_only_for_its_workspaces(database_url, standin):
    with running_bot(database_url, standin, marketplace_api_keys=json.loads(KEYS)) as bot:
        body = document(CONTRACT)
        assert post(bot.url, body, keyed(body, "old", "old-secret-0123456789"))[0] == 200
        renamed = document(CONTRACT | {"title": "Renamed"})
        assert post(bot.url, renamed, keyed(renamed, "new", "new-secret-0123456789"))[0] == 200  # both active
        assert post(bot.url, body, keyed(body, "new", "old-secret-0123456789"))[1]["error"] == "bad_signature"
        assert post(bot.url, body, keyed(body, "gone", "old-secret-0123456789")) == (
            401,
            {"error": "unknown_key", "message": "no key 'gone' is active"},
        )
        assert post(bot.url, body, signed(body, "old-secret-0123456789"))[1]["error"] == "unknown_key"  # no id
        assert post(bot.url, body, keyed(body, "acme", "acme-secret-0123456789")) == (
            403,
            {"error": "forbidden", "message": "key 'acme' may not push for workspace T0DEMO01"},
        )
        acme = body.replace("T0DEMO01", "T0ACME001")
        assert post(bot.url, acme, keyed(acme, "acme", "acme-secret-0123456789"))[0] == 200


def test_a_bad_document_gets_every_problem_by_json_path_and_nothing_is_written(pushed):
    bad = document(
        CONTRACT | {"milestones": [CONTRACT["milestones"][0] | {"amount": "1.001"}]},
        CONTRACT | {"id": "P-2", "client": "bob", "currency": "XXX"},
    )
    status, answer = post(pushed.url, bad, signed(bad))
    assert status == 422
    assert answer["error"] == "rejected"
    assert answer["problems"] == [
        "$.contracts[0].milestones[0].amount: EUR amounts take at most 2 decimals; “1.001” has more.",
        "$.contracts[1].client: 'bob' is not a Slack user id (they look like U0123ABCD)",
        "$.contracts[1].currency: “XXX” is not an ISO 4217 currency with a minor unit.",
    ]
    assert pushed.count(ContractRow, id="P-1") + pushed.count(ContractRow, id="P-2") == 0
    assert post(pushed.url, "{not json", signed("{not json"))[1]["error"] == "invalid_json"


def test_a_contract_that_changes_kind_or_currency_is_refused_with_the_reason(pushed):
    body = document(CONTRACT)
    assert post(pushed.url, body, signed(body))[0] == 200
    usd = document(CONTRACT | {"currency": "USD"}, CONTRACT | {"id": "P-3"})
    status, answer = post(pushed.url, usd, signed(usd))
    assert (status, answer["problems"]) == (
        422,
        ["$.contracts[0]: kind and currency cannot change once imported (stored: fixed_price in EUR)"],
    )
    assert pushed.count(ContractRow, id="P-3") == 0  # nothing of the document applied
    assert pushed.count(MilestoneRow, contract_id="P-1") == 1


def test_the_api_is_described_by_the_openapi_document_it_serves(pushed):
    with urllib.request.urlopen(f"{pushed.url}/api/v1/openapi.json", timeout=10) as response:
        described = json.loads(response.read())
    operation = described["paths"]["/api/v1/contracts"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "413", "422", "503"}
    contract = described["components"]["schemas"]["ContractIn"]
    assert {"id", "kind", "currency", "client", "freelancer", "milestones"} <= set(contract["properties"])


def test_without_a_secret_there_is_no_api(bot):
    body = document(CONTRACT)
    request = urllib.request.Request(f"{bot.url}/api/v1/contracts", data=body.encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404
