"""Cases handed out (issue 38) on a real database: one hand-out per workspace at a time, so two at once on
PostgreSQL never both read the same mediator's load; the sweep hands out what still waits."""

import threading
from datetime import timedelta

from bot.domain.policy import Policy
from bot.domain.vocabulary import Assignment
from bot.services import mediation
from bot.services.assignment import hand_out
from bot.services.core import Deps, store
from bot.services.payments import LedgerOnly
from bot.services.roster import Desk, Roster
from tests.integration.conftest import NOW
from tests.integration.test_ports import seed, waiting_case

MEDIATORS = frozenset({"U0MED1", "U0MED2"})


def test_two_hand_outs_at_once_in_one_workspace_take_turns(database_url, uow):
    seed(uow, parts=range(10, 12))
    with uow() as work:
        for n in range(2):
            waiting_case(work, f"R-{n}", f"M-1{n}", NOW - timedelta(hours=2 - n))
        work.commit()
    roster = Roster(Desk(None, MEDIATORS, assignment=Assignment.LEAST_LOADED))
    deps = Deps(uow=uow, clock=lambda: NOW, policy=Policy(), roster=roster)
    handed, other = (
        threading.Event(),
        threading.Thread(target=lambda: (handed.wait(), mediation.hand_out_waiting(deps))),
    )
    other.start()
    with uow() as first:  # an escalation under way in one instance while another sweeps the waiting cases
        case = first.cases.get("T0001", "R-0")
        assert hand_out(roster, first, case, NOW) == "U0MED1"
        store(first, case, LedgerOnly())
        handed.set()
        # Not committed yet: on PostgreSQL the sweep waits for this workspace's turn rather than read U0MED1 as
        # holding nothing (SQLite has one writer at a time). Its wait ends when this commits.
        other.join(timeout=0.5)
        first.commit()
    other.join()
    with uow() as work:
        assert [work.cases.get("T0001", f"R-{n}").mediator_id for n in (0, 1)] == ["U0MED1", "U0MED2"]
    assert mediation.hand_out_waiting(deps) == 0
