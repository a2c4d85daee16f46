"""The push API's use of the database, at the points where it can fail: a push whose import the database
drops mid-way is answered 503 with nothing written, and the very same signed request is taken when sent again,
once."""

import json
import time

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.api import ContractsApi, Key
from storage.api_requests import ApiRequests
from storage.tables import ContractRow
from storage.uow import SqlUnitOfWork
from tests.integration.conftest import NOW

SECRET = "marketplace-secret"
BODY = json.dumps(
    {
        "team_id": "T0DEMO01",
        "contracts": [
            {
                "id": "P-1",
                "title": "Pushed",
                "kind": "fixed_price",
                "currency": "USD",
                "client": "U0CLIENT01",
                "freelancer": "U0FREELA01",
            }
        ],
    }
)


class DropsAtCommit(SqlUnitOfWork):
    """The database goes away as the import commits."""

    def commit(self) -> None:
        raise OperationalError("COMMIT", None, Exception("server closed the connection unexpectedly"))


def headers(body: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "x-refundbot-request-timestamp": stamp,
        "x-refundbot-signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body),
    }


def test_a_push_the_database_drops_is_503_with_nothing_written_and_the_same_request_is_taken_again(sessions, policy):
    signed = headers(BODY)
    failing = ContractsApi(
        {None: Key(SECRET)}, lambda: DropsAtCommit(sessions), ApiRequests(sessions), lambda: NOW, policy
    )
    status, answer = failing(signed, BODY)
    assert (status, answer["error"]) == (503, "unavailable")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ContractRow)) == 0

    working = ContractsApi(
        {None: Key(SECRET)}, lambda: SqlUnitOfWork(sessions), ApiRequests(sessions), lambda: NOW, policy
    )
    status, answer = working(signed, BODY)  # the marketplace's retry of exactly what it sent
    assert (status, answer["created"]) == (200, {"contracts": 1, "items": 0})
    status, again = working(signed, BODY)  # and now it is taken: again changes nothing
    assert (status, again["created"], again["unchanged"]) == (
        200,
        {"contracts": 0, "items": 0},
        {"contracts": 1, "items": 0},
    )
