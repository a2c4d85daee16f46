"""Design §6 invariants of the scheduler over random stories, on real SQLite through the real services: clock
jumps, ticks by two instances, an instance that claims and dies, and the parties acting (extensions and appeals
included, under the default preset, which offers appeals) on a fixed-price and an hourly case at once.

- at most one reminder per deadline and offset, never before its time and never once the deadline has come;
- each deadline acts once: every transition the scheduler makes retires one deadline that had come;
- after a tick, nothing due is left undone except what a dead instance's live lease still holds."""

import shutil
import tempfile
from collections import Counter
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from bot.domain.errors import Refused
from bot.domain.routing import RouteKind
from bot.policies import DEFAULT_PRESET, preset_path, read_policy_file
from bot.services import disputes, mediation, requests, scheduler
from bot.services.core import Deps
from bot.services.disputes import AskAgain
from bot.services.importing import DEMO, import_contracts, read_import_file
from bot.services.mediation import Mediate
from bot.services.requests import AnswerRequest, RequestRefund
from bot.services.roster import Desk, Roster
from storage.db import prepare, session_factory
from storage.tables import AuditRow, CaseRow, DeadlineRow, OutboxRow
from storage.uow import SqlUnitOfWork
from tests.integration.conftest import NOW

TEAM, CLIENT, FREELANCER, MEDIATOR, SECOND = "T0DEMO01", "U0CLIENT01", "U0FREELA01", "U0MEDIATE1", "U0MEDIATE2"
POLICY = read_policy_file(preset_path(DEFAULT_PRESET)).policy()
ITEMS = {"fixed": ("C-100", "milestone:M-1"), "hourly": ("C-200", "timesheet:2026-11-16")}
_template: Path | None = None


def template() -> Path:
    """A migrated database with the demo contracts, made once and copied for each story."""
    global _template
    if _template is None:
        _template = Path(tempfile.mkdtemp()) / "template.db"
        engine = prepare(f"sqlite:///{_template}")
        sessions = session_factory(engine)
        with SqlUnitOfWork(sessions) as unit:
            unit.policies.register(POLICY, NOW)
            unit.commit()
        import_contracts(read_import_file(DEMO), SqlUnitOfWork(sessions), NOW, POLICY)
        engine.dispose()
    return _template


class SchedulerStories(RuleBasedStateMachine):
    @initialize(head_start=st.integers(min_value=0, max_value=9))
    def open_cases(self, head_start: int) -> None:
        """Open both requests, then play the first ``head_start`` steps of a typical story straight, so the
        random part starts at every stage's deadline, not only the first."""
        self.dir = Path(tempfile.mkdtemp())
        shutil.copy(template(), self.dir / "story.db")
        self.engine = prepare(f"sqlite:///{self.dir / 'story.db'}")
        sessions = session_factory(self.engine)
        self.now = NOW
        self.deps = Deps(
            uow=lambda: SqlUnitOfWork(sessions),
            clock=lambda: self.now,
            policy=POLICY,
            roster=Roster(Desk(None, frozenset({MEDIATOR, SECOND}))),
        )
        self.sessions = sessions
        self.crashes = 0
        self.cases: dict[str, str] = {}
        for name, (contract, item) in ITEMS.items():
            ask = RequestRefund(
                team_id=TEAM,
                user_id=CLIENT,
                contract_id=contract,
                item_key=item,
                amount="100.00",
                reason="Not as agreed.",
                request_key=name,
            )
            self.cases[name] = requests.request_refund(self.deps, ask).id
        self.closed: dict[str, str] = {}
        story = [
            lambda case: self.request_stage(case, FREELANCER, "decline"),
            self.ask_again,
            lambda case: self.freelancer_responds(case, accept=False),
            lambda case: self.client_answers_position(case, accept=False),
            lambda case: self.mediator(case, "claim"),
            lambda case: self.mediator(case, "propose" if case == "fixed" else "decide"),
            lambda case: self.party_answers(case, FREELANCER, "reject"),
            lambda case: self.party_answers(case, CLIENT, "appeal"),
            lambda case: self.second_mediator(case, "claim"),
        ]
        for step in story[:head_start]:
            for case in ITEMS:
                step(case)

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.engine.dispose()
            shutil.rmtree(self.dir, ignore_errors=True)

    def attempt(self, action) -> None:
        with suppress(Refused):
            action()

    # --- time and the tickers ------------------------------------------------------------------------------

    @rule(minutes=st.sampled_from([10, 60, 110, 600, 1380, 1440, 2820, 4320]))
    def advance_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(owner=st.sampled_from(["instance-a", "instance-b"]))
    def tick(self, owner: str) -> None:
        while scheduler.tick(self.deps, owner):
            pass
        with self.sessions() as session:
            left = session.scalars(
                select(DeadlineRow).where(DeadlineRow.done_at.is_(None), DeadlineRow.next_at <= self.now)
            ).all()
        for row in left:  # only a dead instance's live lease may hold back what has come
            assert row.lease_owner is not None, f"deadline {row.id} ({row.kind}) came and was left alone"
            assert row.lease_owner.startswith("crashed"), row.lease_owner
            assert row.lease_until is not None
            assert row.lease_until.replace(tzinfo=self.now.tzinfo) > self.now

    @rule(minutes=st.sampled_from([60, 1380, 2820, 4320]), owner=st.sampled_from(["instance-a", "instance-b"]))
    def time_passes_and_an_instance_ticks(self, minutes: int, owner: str) -> None:
        self.advance_clock(minutes)
        self.tick(owner)

    @rule()
    def instance_claims_and_dies(self) -> None:
        self.crashes += 1
        with self.deps.uow() as uow:
            uow.deadlines.lease_due(f"crashed-{self.crashes}", self.now, scheduler.LEASE, 1)
            uow.commit()

    # --- the people: one rule, so that time and ticks stay a good share of every story --------------------

    @rule(
        case=st.sampled_from(list(ITEMS)),
        move=st.sampled_from(
            [
                ("request_stage", FREELANCER, "approve"),
                ("request_stage", FREELANCER, "decline"),
                ("request_stage", FREELANCER, "extend"),
                ("request_stage", CLIENT, "extend"),
                ("request_stage", CLIENT, "withdraw"),
                ("ask_again",),
                ("freelancer_responds", True),
                ("freelancer_responds", False),
                ("client_answers_position", True),
                ("client_answers_position", False),
                ("mediator", "claim"),
                ("mediator", "propose"),
                ("mediator", "decide"),
                ("second_mediator", "claim"),
                ("second_mediator", "review"),
                ("second_mediator", "review"),
                ("party_answers", CLIENT, "accept"),
                ("party_answers", FREELANCER, "reject"),
                ("party_answers", CLIENT, "arbitrate"),
                ("party_answers", FREELANCER, "arbitrate"),
                ("party_answers", FREELANCER, "extend"),
                ("party_answers", CLIENT, "extend"),
                ("party_answers", CLIENT, "appeal"),
                ("party_answers", FREELANCER, "appeal"),
            ]
        ),
    )
    def someone_acts(self, case: str, move: tuple) -> None:
        name, *args = move
        getattr(self, name)(case, *args)

    @rule(
        case=st.sampled_from(list(ITEMS)),
        who=st.sampled_from([CLIENT, FREELANCER, FREELANCER]),
        action=st.sampled_from(["approve", "decline", "decline", "decline", "extend", "extend", "withdraw"]),
    )
    def request_stage(self, case: str, who: str, action: str) -> None:
        case_id = self.cases[case]
        if action == "extend":
            self.attempt(lambda: requests.extend(self.deps, TEAM, who, case_id))
        elif action == "withdraw":
            self.attempt(
                lambda: requests.withdraw_request(
                    self.deps, requests.WithdrawRequest(team_id=TEAM, user_id=who, case_id=case_id)
                )
            )
        else:
            answer = AnswerRequest(team_id=TEAM, user_id=who, case_id=case_id, action=action, text="No.")
            self.attempt(lambda: requests.answer_request(self.deps, answer))

    @rule(case=st.sampled_from(list(ITEMS)))
    def ask_again(self, case: str) -> None:
        route = RouteKind.HOURLY_DISPUTE if case == "hourly" else RouteKind.ESCROW_REFUND
        again = AskAgain(
            team_id=TEAM,
            user_id=CLIENT,
            case_id=self.cases[case],
            route=route,
            reason="Not worked.",
            certified=True,
            hours="1",
        )
        self.attempt(lambda: disputes.ask_again(self.deps, again))

    @rule(case=st.sampled_from(list(ITEMS)), accept=st.sampled_from([True, False, False]))
    def freelancer_responds(self, case: str, accept: bool) -> None:
        case_id = self.cases[case]
        self.attempt(lambda: disputes.respond(self.deps, TEAM, FREELANCER, case_id, accept, "I did the work."))

    @rule(case=st.sampled_from(list(ITEMS)), accept=st.sampled_from([True, False, False]))
    def client_answers_position(self, case: str, accept: bool) -> None:
        self.attempt(lambda: disputes.position(self.deps, TEAM, CLIENT, self.cases[case], accept))

    @rule(case=st.sampled_from(list(ITEMS)), action=st.sampled_from(["claim", "propose", "decide"]))
    def mediator(self, case: str, action: str, by: str = MEDIATOR) -> None:
        mediate = Mediate(
            team_id=TEAM,
            user_id=by,
            case_id=self.cases[case],
            action=action,
            amount="40.00",
            text="Fair.",
            rule="partly_delivered",
        )
        self.attempt(lambda: mediation.mediate(self.deps, mediate))

    def second_mediator(self, case: str, action: str) -> None:
        """A mediator other than the one who decided or proposed: only they may review an appeal."""
        self.mediator(case, action, SECOND)

    @rule(
        case=st.sampled_from(list(ITEMS)),
        who=st.sampled_from([CLIENT, FREELANCER]),
        action=st.sampled_from(["accept", "reject", "arbitrate"]),
    )
    def party_answers(self, case: str, who: str, action: str) -> None:
        case_id = self.cases[case]
        if action == "arbitrate":
            self.attempt(lambda: disputes.agree_to_arbitrate(self.deps, TEAM, who, case_id))
        elif action == "extend":
            self.attempt(lambda: requests.extend(self.deps, TEAM, who, case_id))
        elif action == "appeal":
            self.attempt(lambda: disputes.appeal(self.deps, TEAM, who, case_id, "Please look again."))
        else:
            self.attempt(lambda: disputes.answer_proposal(self.deps, TEAM, who, case_id, action == "accept"))

    # --- invariants --------------------------------------------------------------------------------------------

    @invariant()
    def at_most_one_reminder_per_deadline_and_offset_and_only_in_its_time(self) -> None:
        with self.sessions() as session:
            deadlines = {row.id: row for row in session.scalars(select(DeadlineRow))}
            keys = session.execute(select(OutboxRow.dedupe_key, OutboxRow.created_at)).all()
        seen: Counter[tuple] = Counter()
        for key, created in keys:
            parts = key.split(":")
            if parts[1] not in ("reminder", "review-reminder", "appeal-reminder"):
                continue
            deadline, offset, party = deadlines[int(parts[2])], float(parts[3]), parts[4]
            created = created.replace(tzinfo=self.now.tzinfo)
            due = deadline.due_at.replace(tzinfo=self.now.tzinfo)
            assert offset in deadline.reminder_offsets
            assert party in deadline.parties
            assert due - timedelta(seconds=offset) <= created < due, (key, created, due)
            seen[(deadline.case_id, deadline.kind, due, offset, party)] += 1
        assert all(n == 1 for n in seen.values()), seen.most_common(3)

    @invariant()
    def each_deadline_acts_once(self) -> None:
        with self.sessions() as session:
            acted = session.execute(
                select(AuditRow.case_id, AuditRow.at).where(AuditRow.actor == "scheduler").order_by(AuditRow.id)
            ).all()
            retired = session.execute(
                select(DeadlineRow.case_id, DeadlineRow.done_at, DeadlineRow.due_at, DeadlineRow.kind).where(
                    DeadlineRow.done_at.is_not(None)
                )
            ).all()
        came = Counter((case, done) for case, done, due, kind in retired if kind != "review_window" and due <= done)
        assert not Counter(acted) - came, "a scheduler transition without a deadline of its own that had come"

    @invariant()
    def closed_cases_stay_closed_and_refunds_stay_within_paid(self) -> None:
        with self.sessions() as session:
            rows = session.scalars(select(CaseRow)).all()
        for row in rows:
            event(f"reached {row.stage}:{row.state}")  # --hypothesis-show-statistics: the stages covered
            assert row.refunded_minor <= row.paid_minor
            if row.id in self.closed:
                assert row.state == self.closed[row.id], f"{row.id} left {self.closed[row.id]}"
            elif row.closed_at is not None:
                self.closed[row.id] = row.state


SchedulerStories.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)
test_scheduler_stories = SchedulerStories.TestCase
