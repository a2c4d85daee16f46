"""Cases handed out (issue 38): whom each rule picks, who is never picked, what the roster says of each
workspace, and the hand-out through the use cases on the in-memory unit of work."""

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.blocks import ids
from bot.domain.assignment import Standing, pick
from bot.domain.vocabulary import ASSIGNER, Assignment, State
from bot.handlers.mediation import on_decision_submit
from bot.services import disputes, mediation
from bot.services.messages import Surface
from bot.services.ports import StorageUnavailable
from bot.services.roster import Desk, Roster
from tests.unit.conftest import MEDIATOR
from tests.unit.factories import FREELANCER
from tests.unit.test_appeal_services import SECOND, act, rejected
from tests.unit.test_case_appeal import APPEALS
from tests.unit.test_services import ask, ask_to_mediation, last

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
THIRD = "U0MEDIATOR3"


def test_round_robin_picks_whoever_was_handed_a_case_longest_ago_never_first_by_id():
    standings = [Standing("U0B", last_assigned=AT), Standing("U0C"), Standing("U0A", last_assigned=AT - timedelta(1))]
    assert pick(Assignment.ROUND_ROBIN, standings, (), AT) == "U0C"
    assert pick(Assignment.ROUND_ROBIN, standings, {"U0C"}, AT) == "U0A"
    assert pick(Assignment.ROUND_ROBIN, [Standing("U0B"), Standing("U0A")], (), AT) == "U0A"


def test_least_loaded_picks_whoever_holds_fewest_and_the_turn_breaks_ties():
    standings = [Standing("U0A", holds=2), Standing("U0B", 1, AT), Standing("U0C", 1, AT - timedelta(hours=1))]
    assert pick(Assignment.LEAST_LOADED, standings, (), AT) == "U0C"
    assert pick(Assignment.ROUND_ROBIN, standings, (), AT) == "U0A"  # round-robin ignores the load


def test_nobody_away_barred_or_with_the_rule_off_is_picked():
    away = Standing("U0A", away_until=AT + timedelta(days=1))
    assert pick(Assignment.LEAST_LOADED, [away, Standing("U0B", holds=9)], {"U0C"}, AT) == "U0B"
    assert pick(Assignment.LEAST_LOADED, [away], (), AT) is None
    assert pick(Assignment.LEAST_LOADED, [replace(away, away_until=AT)], (), AT) == "U0A"  # back at that instant
    assert pick(Assignment.OFF, [Standing("U0B")], (), AT) is None


@given(
    st.lists(
        st.builds(
            Standing,
            st.sampled_from(["U0A", "U0B", "U0C", "U0D"]),
            st.integers(0, 5),
            st.none() | st.just(AT - timedelta(hours=3)) | st.just(AT - timedelta(hours=1)),
            st.none() | st.just(AT + timedelta(days=1)) | st.just(AT - timedelta(days=1)),
        ),
        unique_by=lambda one: one.user,
    ),
    st.sets(st.sampled_from(["U0A", "U0B", "U0C", "U0D"])),
    st.sampled_from([Assignment.ROUND_ROBIN, Assignment.LEAST_LOADED]),
)
def test_the_one_picked_is_free_and_no_free_mediator_holds_fewer_or_waited_longer(standings, barred, how):
    free = [one for one in standings if one.user not in barred and not one.away(AT)]
    chosen = pick(how, standings, barred, AT)
    assert (chosen is None) == (not free)
    if chosen is not None:
        [one] = [one for one in free if one.user == chosen]
        if how is Assignment.LEAST_LOADED:
            assert all(one.holds <= other.holds for other in free)
        else:
            assert all(one.turn <= other.turn for other in free)


def test_the_roster_says_each_workspaces_rule_and_leads_and_where_cases_are_handed_out():
    desks = {
        "T0B": Desk("C0B", frozenset({"U0MB"}), assignment=Assignment.ROUND_ROBIN, lead_group="S0LEADS"),
        "T0C": Desk("C0C", frozenset({"U0MC"})),
    }
    default = Desk(None, frozenset({"U0MA"}), "S0MEDS", leads=frozenset({"U0LA"}))
    roster = Roster(default, lambda: desks, lambda team, group: {f"U0{team or 'X'}{group}"})
    roster.refresh()
    assert (roster.leads("T0B"), roster.is_lead("T0B", "U0LA")) == (("U0T0BS0LEADS",), False)
    assert (roster.leads("T0A"), roster.is_lead("T0A", "U0LA")) == (("U0LA",), True)
    assert roster.mediators("T0A") == {"U0MA", "U0XS0MEDS"}
    assert [roster.assignment(team) for team in ("T0A", "T0B", "T0C")] == ["off", "round-robin", "off"]
    assert roster.assigning() == ({"T0B"}, set())
    everywhere = Roster(replace(default, assignment=Assignment.LEAST_LOADED), lambda: desks)
    everywhere.refresh()
    assert everywhere.assigning() == (None, {"T0C"})  # every workspace but the one whose own desk does not


def assigning(deps, how=Assignment.ROUND_ROBIN, *mediators: str):
    chosen = frozenset(mediators or (MEDIATOR, SECOND))
    return replace(deps, roster=Roster(Desk(None, chosen, assignment=how)))


def test_an_escalation_is_handed_to_a_mediator_in_its_own_change_and_they_are_told(deps, db):
    deps = assigning(deps)
    ask(deps)
    ask_to_mediation(deps, "R-1")
    with db() as work:
        case = work.cases.get("T0001", "R-1")
        [audit] = [a for a in work.audit.for_case("R-1") if a.actor == ASSIGNER]
    assert (case.state, case.mediator_id, case.claimed_at) == (State.CLAIMED, MEDIATOR, deps.clock())
    assert audit.rationale == "assigned by round-robin"
    assert [d.kind.value for d in case.mediator_deadlines] == ["mediator_action", "mediator_outcome"]
    told = last(db, Surface.MEDIATOR_ASSIGNED)
    assert (told.target.users, told.view["mediator"], told.view["by"]) == ((MEDIATOR,), MEDIATOR, ASSIGNER)
    assert last(db, Surface.CASE_CARD).view["mediator_id"] == MEDIATOR


def test_a_released_case_goes_to_another_mediator_not_back_and_a_lone_one_leaves_it_waiting(deps, db):
    deps = assigning(deps, Assignment.LEAST_LOADED)
    ask(deps)
    ask_to_mediation(deps, "R-1")
    act(deps, MEDIATOR, "release")
    with db() as work:
        assert work.cases.get("T0001", "R-1").mediator_id == SECOND
    act(deps, SECOND, "release")
    with db() as work:
        assert work.cases.get("T0001", "R-1").mediator_id == MEDIATOR
    alone = assigning(deps, Assignment.LEAST_LOADED, MEDIATOR)
    act(alone, MEDIATOR, "release")
    with db() as work:
        case = work.cases.get("T0001", "R-1")
    assert (case.state, case.mediator_id) == (State.UNASSIGNED, None)
    assert mediation.hand_out_waiting(alone) == 0  # the sweep does not hand it back either, while they released it


def test_an_appeal_is_never_handed_to_the_mediator_whose_outcome_it_is(deps, db):
    appeals = replace(deps, policy=APPEALS, roster=Roster(Desk(None, frozenset({MEDIATOR, SECOND}))))
    rejected(appeals)  # MEDIATOR proposed; the client rejected it
    everyone = frozenset({MEDIATOR, SECOND, THIRD})
    handing = replace(appeals, roster=Roster(Desk(None, everyone, assignment=Assignment.ROUND_ROBIN)))
    with db() as work:
        work.mediators.set_away("T0001", THIRD, deps.clock() + timedelta(days=2), deps.clock())
        work.mediators.assigned("T0001", SECOND, deps.clock())  # by the turn alone, MEDIATOR would be next
        work.commit()
    disputes.appeal(handing, "T0001", FREELANCER, "R-1", "The brief asked for two concepts.")
    with db() as work:
        case = work.cases.get("T0001", "R-1")
    assert (case.state, case.mediator_id, case.appeal.first_mediator) == (State.APPEAL_REQUESTED, SECOND, MEDIATOR)
    assert last(db, Surface.CASE_CARD).view["mediator_id"] == SECOND


class GoneAfterHandOut:
    """The database, gone (connection refused) from the moment the case is committed as ``holder``'s."""

    def __init__(self, db, holder: str) -> None:
        self.db, self.holder = db, holder

    def __call__(self):
        with self.db() as work:
            if work.cases.get("T0001", "R-1").mediator_id == self.holder:
                raise StorageUnavailable("connection refused")
        return self.db()


def test_a_leads_hand_out_that_committed_closes_the_form_though_the_desk_is_not_shown_again(deps, db, caplog):
    """The database goes between the hand-out's commit and the desk published again: the lead's form closes, since
    the case was handed over (a "try again" would only be refused, the mediator already holding it); the desk shows
    it when next opened."""
    lead = "U0LEAD0001"
    deps = replace(deps, roster=Roster(Desk(None, frozenset({MEDIATOR, SECOND}), leads=frozenset({lead}))))
    ask(deps)
    ask_to_mediation(deps, "R-1")
    body = {"team": {"id": "T0001"}, "user": {"id": lead}, "view": {"id": "V0FORM"}}
    view = {
        "private_metadata": json.dumps({"case": "R-1", "action": "assign", "desk": "{}"}),
        "state": {"values": {ids.MEDIATOR_BLOCK: {ids.MEDIATOR_INPUT: {"selected_user": SECOND}}}},
    }
    answers = []
    with caplog.at_level(logging.WARNING, "refundbot.handlers"):
        on_decision_submit(
            lambda **answer: answers.append(answer), body, view, replace(deps, uow=GoneAfterHandOut(db, SECOND))
        )
    assert answers == [{}]  # closed, no error under the field
    with db() as work:
        assert work.cases.get("T0001", "R-1").mediator_id == SECOND
    assert last(db, Surface.MEDIATOR_ASSIGNED).target.users == (SECOND,)
    assert f"the desk of {lead} was not shown again" in caplog.text
