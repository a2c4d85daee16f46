"""One table of messages: every surface has one typed payload and one builder, every event that tells someone has
one handler, a queued row reads back as it was written, and a row of a newer shape is refused rather than half-read."""

import typing
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks.render import BUILDERS, render
from bot.domain.case.appeal import ArbitrationStarted
from bot.domain.events import Event, Evidence, LedgerEntry, Reminded
from bot.domain.files import EvidenceFile
from bot.domain.vocabulary import DeadlineKind, LedgerKind, Visibility
from bot.services import notify, surfaces
from bot.services.messages import Surface
from bot.services.models import DeskFilters
from tests.unit.factories import CLIENT, FREELANCER
from tests.unit.test_blocks import CASE
from tests.unit.test_case_appeal import rejected
from tests.unit.test_case_escalation import LATER

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
FILE = EvidenceFile("F0001", "brief.pdf", "application/pdf", 18, "ab" * 32, CLIENT)
ITEM = Evidence("R-7K3Q9A", 2, CLIENT, "client", "The brief", ("https://example.com/b",), Visibility.BOTH_SIDES, AT)
EXAMPLES = [
    surfaces.CaseShown(CASE),
    surfaces.CardShown(case=CASE, records={"recent_seconds": 1.0}),
    surfaces.ReminderShown(case=CASE, hours_left=5.5, role="freelancer"),
    surfaces.AppealReminderShown(case=CASE, role="client"),
    surfaces.ReviewReminderShown(case=CASE, closes_at=AT.isoformat()),
    surfaces.AppealClosedShown(case=CASE, final=False),
    surfaces.ExtendedShown(case=CASE, by=CLIENT),
    surfaces.QuestionShown(case=CASE, question="When?", question_id=7, asked=CLIENT, by="U0MEDIATE1"),
    surfaces.PayoutRefusedShown(
        case=CASE, entry_id=3, entry_kind=LedgerKind.RELEASE, entry_minor=500, payout_reason="closed account"
    ),
    surfaces.PayoutHandledShown(case=CASE, action="resent", by="U0OPS", entry_id=3),
    surfaces.EvidenceShown(ITEM),
    surfaces.FileCopyShown("R-7K3Q9A", 2, "client", FILE),
    surfaces.FileAlteredShown("R-7K3Q9A", 2, "client", FILE, "removed"),
    surfaces.EvidenceShown(
        replace(
            ITEM, files=(EvidenceFile("F0001", "brief.pdf", "application/pdf", 18, "ab" * 32, CLIENT),), intake="i1"
        )
    ),
    surfaces.RefusalShown(ArbitrationStarted("client")),
    surfaces.MediatorReminderShown(case=CASE, kind="mediator_claim", hours_left=2.0),
    surfaces.MediatorsLateShown(case=CASE, kind="mediator_action", mediator="U0MEDIATE1"),
    surfaces.AssignedShown(case=CASE, mediator="U0MEDIATE1", by="assigner", reader="U0MEDIATE1"),
    surfaces.HomeShown(CLIENT, [CASE], [], 3),
    surfaces.DeskShown("U0MEDIATE1", AT, DeskFilters(), {}, ArbitrationStarted("freelancer")),
]


def test_every_slack_surface_has_one_payload_and_one_builder():
    # A ledger entry for the payments endpoint, and a form's files to read: work, never shown in Slack as such.
    slack = set(Surface) - {Surface.PAYOUT, Surface.FILE_INTAKE, Surface.FILE_RECHECK}
    assert set(surfaces.PAYLOADS) == slack
    assert set(BUILDERS) == slack


@pytest.mark.parametrize("shown", EXAMPLES, ids=lambda shown: type(shown).__name__)
def test_a_queued_payload_reads_back_as_it_was_written(shown):
    stored = shown.as_json()
    assert stored["v"] == 1
    again = type(shown).from_json(stored)
    assert again.as_json() == stored
    assert type(again) is type(shown)


def test_a_row_of_a_newer_shape_is_refused_not_half_read():
    stored = surfaces.ReminderShown(case=CASE, hours_left=5.5, role="freelancer").as_json() | {"v": 2}
    with pytest.raises(surfaces.NewerPayload, match="ReminderShown v2"):
        render(Surface.REMINDER, stored, None)


def test_a_row_queued_before_payloads_were_versioned_reads_as_the_first_version():
    stored = surfaces.ReminderShown(case=CASE, hours_left=30, role="freelancer").as_json()
    del stored["v"]
    assert "30 hours" in str(render(Surface.REMINDER, stored, None).blocks)


def test_every_event_that_tells_someone_has_one_handler_in_the_table():
    kinds = [kind for kind, _ in notify.HANDLERS]
    assert len(kinds) == len(set(kinds))
    assert set(typing.get_args(Event)) - set(kinds) == {LedgerEntry}  # the payments port carries ledger entries


def test_mediator_only_evidence_goes_to_the_card_thread_alone():
    private = Evidence(CASE.id, 3, CLIENT, "client", "Invoice", (), Visibility.MEDIATOR_ONLY, AT)
    escalated = type(CASE)(**CASE.as_json() | {"escalated": True})
    told = notify.case_messages([ITEM, private], escalated, "C0MEDIATORS")
    places = {(m.dedupe_key.rsplit(":", 1)[-1], m.view.get("seq")) for m in told if m.surface == Surface.EVIDENCE}
    assert places == {("thread", 2), ("card", 2), ("card", 3)}
    [kept] = [m for m in told if m.surface == Surface.EVIDENCE_KEPT]  # its sender is told, alone
    assert (kept.target.users, kept.view["seq"]) == ((CLIENT,), 3)


def test_the_scheduler_reminds_only_whoever_may_still_act_before_the_deadline():
    case = rejected()  # a binding proposal rejected: arbitration offered, and open to appeal
    due = case.appeal_deadline.due_at
    parties = (CLIENT, FREELANCER)
    assert [r.party for r in case.reminders(1, DeadlineKind.APPEAL_WINDOW, parties, 3600, due, LATER)] == list(parties)
    case.agree_to_arbitrate(by=FREELANCER, now=LATER)  # a party paid: the proposal is no longer reviewed
    assert case.reminders(1, DeadlineKind.APPEAL_WINDOW, parties, 3600, due, LATER) == []
    assert not case.offers(DeadlineKind.APPEAL_WINDOW, due, LATER)
    fee = case.deadline
    [owed] = case.reminders(2, fee.kind, fee.parties, 3600, fee.due_at, LATER)
    assert (owed.party, owed.role) == (CLIENT, "client")  # the freelancer already answered


def test_a_reminder_names_the_deadline_and_the_reader_role_and_is_keyed_once_per_offset():
    due = LATER + timedelta(hours=10)
    reminded = Reminded(CASE.id, 4, DeadlineKind.DISPUTE_RESPONSE, 7200.0, FREELANCER, "freelancer", due, LATER)
    [told] = notify.case_messages([reminded], CASE, None)
    assert (told.surface, told.target.users, told.dedupe_key) == (
        Surface.REMINDER,
        (FREELANCER,),
        f"{CASE.id}:reminder:4:7200:{FREELANCER}",
    )
    assert surfaces.ReminderShown.from_json(told.view).hours_left == 10
