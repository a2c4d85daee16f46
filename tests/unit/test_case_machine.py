"""Design §6 invariants over random stories: any sequence of party and mediator actions, deadlines and clock jumps,
across every stage. Terminal states stay terminal, refunded ≤ paid, one audit row per transition, and a refused
action changes nothing."""

import dataclasses
from datetime import timedelta

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from bot.domain.case import Case
from bot.domain.contract import ContractKind
from bot.domain.errors import Refused
from bot.domain.events import (
    AppealWindowClosed,
    Assigned,
    AuditEvent,
    Escalated,
    Evidence,
    Extended,
    LedgerEntry,
    Opened,
)
from bot.domain.money import Money
from bot.domain.routing import RouteKind, route_after_request
from bot.domain.vocabulary import ASSIGNER, TERMINAL, DisputeDetails, LedgerKind, State, Visibility
from tests.unit.factories import CLIENT, FREELANCER, NOW, POLICY, STRANGER, because, contract, milestone, timesheet
from tests.unit.test_case_appeal import APPEALS

MEDIATORS = ("U0MEDIATOR1", "U0MEDIATOR2")
EVERYONE = [CLIENT, FREELANCER, STRANGER, *MEDIATORS]


def mostly(*right: str) -> st.SearchStrategy[str]:
    """Usually whoever may act, sometimes anyone else: stories get far, and wrong actors are still tried."""
    return st.sampled_from([*right] * 6 + EVERYONE)


ANYONE = st.sampled_from(EVERYONE)
PARTY = mostly(CLIENT, FREELANCER)
MEDIATOR = mostly(*MEDIATORS)
CENTS = st.one_of(st.integers(min_value=0, max_value=10_000), st.integers(min_value=-500, max_value=50_000))


class CaseStories(RuleBasedStateMachine):
    case: Case

    @initialize(
        kind=st.sampled_from([ContractKind.HOURLY, ContractKind.FIXED_PRICE]),
        asked=CENTS,
        head_start=st.integers(min_value=0, max_value=9),
        policy=st.sampled_from([POLICY, APPEALS]),
    )
    def open(self, kind: ContractKind, asked: int, head_start: int, policy) -> None:
        """Open a request, then play the first ``head_start`` steps of a typical story straight, so random
        sequences start from every stage, not only the first; under v1, or a policy with appeals."""
        self.kind = kind
        self.policy = policy
        self.item = timesheet() if kind is ContractKind.HOURLY else milestone()
        self.now = NOW
        self.audits: list[AuditEvent] = []
        self.ledger: list[LedgerEntry] = []
        self.closed: tuple[str, object] | None = None
        try:
            self.case = Case.open_request(
                case_id="R-1",
                contract=contract(kind),
                item=self.item,
                amount=Money(asked, "USD"),
                reason="Not as agreed.",
                refunded=Money.zero("USD"),
                held=Money.zero("USD"),
                by=CLIENT,
                now=self.now,
                policy=self.policy,
            )
        except Refused:
            self.case = Case.open_request(
                case_id="R-1",
                contract=contract(kind),
                item=self.item,
                amount=Money(10_000, "USD"),
                reason="Not as agreed.",
                refunded=Money.zero("USD"),
                held=Money.zero("USD"),
                by=CLIENT,
                now=self.now,
                policy=self.policy,
            )
        self._collect()
        story = [
            lambda c: c.decline(reason="No.", by=FREELANCER, now=self.now, policy=self.policy),
            lambda c: c.request_again(
                kind=kind,
                item=self.item,
                refunded_on_item=Money.zero("USD"),
                expected=route_after_request(kind, self.item, self.now, POLICY).kind,
                by=CLIENT,
                now=self.now,
                policy=self.policy,
                details=DisputeDetails(reason="Not worked.", certified=True, minutes=60),
            ),
            lambda c: c.contest(statement="I did it.", by=FREELANCER, now=self.now, policy=self.policy),
            lambda c: c.reject_position(by=CLIENT, now=self.now) if kind is ContractKind.FIXED_PRICE else None,
            lambda c: c.claim(by=MEDIATORS[0], now=self.now),
            lambda c: (c.propose if kind is ContractKind.FIXED_PRICE else c.decide)(
                Money(2_000, "USD"), grounds=because("Fair."), by=MEDIATORS[0], now=self.now, policy=self.policy
            ),
            lambda c: c.answer_proposal(False, by=FREELANCER, now=self.now, policy=self.policy),
            lambda c: c.request_appeal(reason="Review it.", by=CLIENT, now=self.now, policy=self.policy),
            lambda c: c.claim(by=MEDIATORS[1], now=self.now),
        ]
        for step in story[:head_start]:
            self.attempt(step)

    def _collect(self) -> None:
        for happened in self.case.events:
            if isinstance(happened, AuditEvent):
                self.audits.append(happened)
            elif isinstance(happened, LedgerEntry):
                self.ledger.append(happened)
            else:
                assert isinstance(happened, Evidence | Opened | Escalated | Extended | AppealWindowClosed | Assigned)
        self.case.events.clear()

    def attempt(self, action) -> None:
        before = dataclasses.replace(self.case, answers=dict(self.case.answers), events=[])
        try:
            action(self.case)
        except Refused:
            assert self.case == before, "a refused action changed the case"
            assert self.case.events == []
        self._collect()

    # --- time ---------------------------------------------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=36))
    def advance_clock(self, hours: int) -> None:
        """Time passes; a deadline it crosses acts, as the scheduler's tick would."""
        self.now += timedelta(hours=hours)
        if self.case.appeal_deadline is not None and self.now >= self.case.appeal_deadline.due_at:
            self.attempt(lambda c: c.end_appeal_window(now=self.now))
        if self.case.deadline is not None and self.now >= self.case.deadline.due_at:
            self.attempt(lambda c: c.expire(now=self.now, policy=self.policy))

    @rule(who=PARTY)
    def extend(self, who: str) -> None:
        """ "I'm away": moves the deadline, never the state (tests/integration/test_scheduler_machine.py plays
        the same stories through the real scheduler)."""
        state = self.case.state
        self.attempt(lambda c: c.extend(by=who, now=self.now, policy=self.policy))
        assert self.case.state == state

    @rule()
    def expire_too_early(self) -> None:
        self.attempt(lambda c: c.expire(now=self.now, policy=self.policy))

    # --- the request ----------------------------------------------------------------------------------------

    @rule(who=mostly(FREELANCER), action=st.sampled_from(["approve", "decline", "decline", "decline"]))
    def answer(self, who: str, action: str) -> None:
        if action == "approve":
            self.attempt(lambda c: c.approve(by=who, now=self.now))
        else:
            self.attempt(lambda c: c.decline(reason="No.", by=who, now=self.now, policy=self.policy))

    @rule(who=mostly(FREELANCER), cents=CENTS)
    def adjust(self, who: str, cents: int) -> None:
        self.attempt(lambda c: c.adjust(Money(cents, "USD"), note=None, by=who, now=self.now, policy=self.policy))

    @rule(who=st.sampled_from([CLIENT, FREELANCER, *[STRANGER] * 14]))
    def withdraw(self, who: str) -> None:
        self.attempt(lambda c: c.withdraw(by=who, now=self.now))

    @rule(
        who=mostly(CLIENT),
        as_shown=st.sampled_from([True, True, True, False]),
        minutes=st.integers(min_value=-10, max_value=700),
        certified=st.sampled_from([True, True, True, False]),
    )
    def ask_again(self, who: str, as_shown: bool, minutes: int, certified: bool) -> None:
        shown = route_after_request(self.kind, self.item, self.now, POLICY).kind
        expected = shown if as_shown else RouteKind.MEDIATION
        claim = DisputeDetails(reason="Not worked.", certified=certified, minutes=minutes)
        refunded = self.refunded()
        self.attempt(
            lambda c: c.request_again(
                kind=self.kind,
                item=self.item,
                refunded_on_item=refunded,
                expected=expected,
                by=who,
                now=self.now,
                policy=self.policy,
                details=claim,
            )
        )

    # --- disputes and escrow ------------------------------------------------------------------------------------

    @rule(who=mostly(FREELANCER), accept=st.sampled_from([True, False, False]))
    def respond(self, who: str, accept: bool) -> None:
        if accept:
            self.attempt(lambda c: c.concede(by=who, now=self.now))
        else:
            self.attempt(lambda c: c.contest(statement="I did it.", by=who, now=self.now, policy=self.policy))

    @rule(who=mostly(CLIENT), accept=st.sampled_from([True, False, False]))
    def position(self, who: str, accept: bool) -> None:
        if accept:
            self.attempt(lambda c: c.accept_position(by=who, now=self.now))
        else:
            self.attempt(lambda c: c.reject_position(by=who, now=self.now))

    # --- mediation and arbitration -----------------------------------------------------------------------------

    @rule(who=MEDIATOR, action=st.sampled_from(["claim", "release"]))
    def assignment(self, who: str, action: str) -> None:
        if action == "claim":
            self.attempt(lambda c: c.claim(by=who, now=self.now))
        else:
            self.attempt(lambda c: c.release(by=who, now=self.now))

    @rule(who=MEDIATOR, to=MEDIATOR)
    def reassign(self, who: str, to: str) -> None:
        self.attempt(lambda c: c.reassign(to, by=who, now=self.now))

    @rule(by=st.sampled_from([ASSIGNER, "U0LEAD"]), to=ANYONE)
    def assign(self, by: str, to: str) -> None:
        """Refund-bot's assignment or a lead hands the case to anyone, parties and the appealed mediator included."""
        self.attempt(lambda c: c.assign(to, by=by, now=self.now, how="assigned"))

    @rule(
        who=MEDIATOR,
        cents=CENTS,
        action=st.sampled_from(["propose", "decide", "award"]),
        cited=st.lists(st.integers(min_value=0, max_value=4), max_size=3),
    )
    def mediator_decides(self, who: str, cents: int, action: str, cited: list[int]) -> None:
        amount, grounds = Money(cents, "USD"), because("Fair.", *cited)
        if action == "propose":
            self.attempt(lambda c: c.propose(amount, grounds=grounds, by=who, now=self.now, policy=self.policy))
        elif action == "decide":
            self.attempt(lambda c: c.decide(amount, grounds=grounds, by=who, now=self.now, policy=self.policy))
        else:
            self.attempt(
                lambda c: c.record_award(
                    amount, reference="A-1", grounds=grounds, by=who, now=self.now, policy=self.policy
                )
            )

    @rule(who=PARTY, accept=st.booleans())
    def answer_proposal(self, who: str, accept: bool) -> None:
        self.attempt(lambda c: c.answer_proposal(accept, by=who, now=self.now, policy=self.policy))

    @rule(who=PARTY)
    def agree_to_arbitrate(self, who: str) -> None:
        self.attempt(lambda c: c.agree_to_arbitrate(by=who, now=self.now))

    @rule(who=PARTY, reason=st.sampled_from(["The evidence was misread.", " "]))
    def appeal(self, who: str, reason: str) -> None:
        self.attempt(lambda c: c.request_appeal(reason=reason, by=who, now=self.now, policy=self.policy))

    @rule(who=MEDIATOR, cents=CENTS, cited=st.lists(st.integers(min_value=0, max_value=4), max_size=3))
    def review(self, who: str, cents: int, cited: list[int]) -> None:
        grounds = because("On review.", *cited)
        self.attempt(lambda c: c.review(Money(cents, "USD"), grounds=grounds, by=who, now=self.now, policy=self.policy))

    @rule()
    def end_appeal_window_too_early(self) -> None:
        self.attempt(lambda c: c.end_appeal_window(now=self.now))

    @rule(who=PARTY, private=st.booleans())
    def add_evidence(self, who: str, private: bool) -> None:
        visibility = Visibility.MEDIATOR_ONLY if private else Visibility.BOTH_SIDES
        self.attempt(
            lambda c: c.add_evidence(
                text="Proof.", links=(), visibility=visibility, by=who, now=self.now, policy=self.policy
            )
        )

    # --- what must always hold ------------------------------------------------------------------------------------

    @invariant()
    def terminal_states_stay_terminal(self) -> None:
        event(f"reached {self.case.stage}:{self.case.state}")  # --hypothesis-show-statistics: stages covered
        if self.closed is not None:
            assert (self.case.state, self.case.closed_at) == self.closed
        if not self.case.is_open:
            assert self.case.state in TERMINAL
            assert self.case.deadline is None
            self.closed = (self.case.state, self.case.closed_at)

    def refunded(self) -> Money:
        """Refunds less the refund reversals of reviewed appeals: the ledger is adjusted, never rewritten."""
        refunds = sum((e.amount for e in self.ledger if e.kind is LedgerKind.REFUND), Money.zero("USD"))
        return refunds - sum((e.amount for e in self.ledger if e.kind is LedgerKind.REFUND_REVERSAL), Money.zero("USD"))

    @invariant()
    def refunded_never_exceeds_paid(self) -> None:
        assert self.refunded() == self.case.refunded
        assert Money.zero("USD") <= self.case.refunded <= self.item.paid

    @invariant()
    def an_appeal_is_never_reviewed_by_the_mediator_appealed(self) -> None:
        if self.policy.appeals is None:
            assert State.APPEAL_REQUESTED not in {a.to_state for a in self.audits}
        reviewed = [a for a in self.audits if a.to_state == State.REVIEWED]
        if reviewed:
            assert self.case.appeal is not None
            assert reviewed[0].actor != self.case.appeal.first_mediator
            assert len(reviewed) == 1

    @invariant()
    def a_party_never_holds_the_case(self) -> None:
        assert self.case.mediator_id not in (CLIENT, FREELANCER)
        if self.case.state == State.APPEAL_REQUESTED and self.case.appeal and self.case.mediator_id:
            assert self.case.mediator_id != self.case.appeal.first_mediator

    @invariant()
    def one_audit_row_per_transition(self) -> None:
        assert [event.seq for event in self.audits] == list(range(1, self.case.transitions + 1))


CaseStories.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
test_case_stories = CaseStories.TestCase
