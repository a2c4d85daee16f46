"""Use cases of evidence (design §3): either party adds words, links or files, frozen once added, seen by both
sides or by the mediators only; an answer to a mediator's question is evidence both sides see, quoting the
question.

Files cannot be read within a form's 3 seconds, so a form with files is checked as far as its payload allows and
answered at once ("checking"); its files are then read and hashed off the request path (``bot.files``), and only
then is the piece recorded, whole, or refused, with nothing of it kept (``queue_files``, ``record_files``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from bot.domain.case import Case
from bot.domain.case.base import checked_links, checked_text
from bot.domain.errors import (
    Field,
    InvalidInput,
    NoCaseForEvidence,
    NotWhereEvidenceIs,
    NotYourCase,
    QuestionNotFound,
    one_or_all,
)
from bot.domain.events import Evidence, FileAltered, Question
from bot.domain.files import EvidenceFile, FileClaim, claim_problems
from bot.domain.policy import Policy
from bot.domain.vocabulary import Move, Visibility
from bot.services.core import Deps, case_view, change_case, load_case, policy_for, queue_told
from bot.services.messages import Kept, OutboxMessage, Place, Surface, Target
from bot.services.models import CaseView, EvidenceForm, FilesFromMessage
from bot.services.read_models import checked_view, open_cases

EVIDENCE_CHOICES = 100  # Slack's most options in a select


class AttachedFile(BaseModel):
    """A file as the form's payload describes it (Slack's file object, trimmed to what is checked)."""

    file_id: str
    name: str
    size: int
    mimetype: str
    owner: str
    team: str
    shared_in: str | None = None  # taken from a message in this conversation (Add as evidence)

    def claim(self) -> FileClaim:
        return FileClaim(self.file_id, self.name, self.size, self.mimetype, self.owner, self.team, self.shared_in)


class AddEvidence(BaseModel):
    team_id: str
    user_id: str
    case_id: str
    text: str | None = None
    links: list[str] = []
    visibility: Visibility = Visibility.BOTH_SIDES
    question_id: int | None = None  # the mediator's question this answers
    files: list[AttachedFile] = []
    view_id: str | None = None  # the form, answered again once its files are read
    intake: str | None = None  # given when its files are queued to be read


def view_for_party(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind a party's form (evidence, an answer), refused early for anyone else."""
    return checked_view(deps, team_id, case_id, lambda case, _: case.ensure_party(user_id))


def form_for_party(deps: Deps, team_id: str, user_id: str, case_id: str) -> EvidenceForm:
    """The case behind a party's Add evidence form, with the files its policy takes; refused for anyone else."""
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        case.ensure_party(user_id)
        policy = policy_for(uow, case.policy_version, deps.policy)
        return EvidenceForm(case_view(uow, case, deps.clock(), policy), policy.evidence_files)


def question_for_party(deps: Deps, team_id: str, user_id: str, question_id: str) -> tuple[CaseView, Question]:
    """The question behind an Answer button, and its case: only the party it was asked of answers it."""
    now = deps.clock()
    with deps.uow() as uow:
        question = uow.questions.get(team_id, int(question_id)) if question_id.isdigit() else None
        if question is None:
            raise QuestionNotFound(question_id)
        case = load_case(uow, team_id, question.case_id)
        role = case.ensure_party(user_id)
        if question.asked != user_id:
            raise NotYourCase(case.id, "client" if role == "freelancer" else "freelancer")
        return case_view(uow, case, now, deps.policy), question


def add_evidence(deps: Deps, cmd: AddEvidence, files: tuple[EvidenceFile, ...] = ()) -> Evidence:
    """Frozen once added; where it is shown is the notifier's (``Evidence``). An answer to a mediator's question
    quotes the question it answers. ``files`` are the form's files, read and hashed by then."""
    answers = None
    if cmd.question_id is not None:
        answers = question_for_party(deps, cmd.team_id, cmd.user_id, str(cmd.question_id))[1]
    added: list[Evidence] = []

    def act(case: Case, policy: Policy, now: datetime) -> None:
        added[:] = [
            case.add_evidence(
                text=cmd.text,
                links=tuple(cmd.links),
                visibility=cmd.visibility,
                by=cmd.user_id,
                now=now,
                policy=policy,
                answers=answers,
                files=files,
                intake=cmd.intake,
            )
        ]

    change_case(deps, cmd.team_id, cmd.case_id, act)
    return added[-1]


def queue_files(deps: Deps, cmd: AddEvidence, intake: str) -> AddEvidence:
    """A form with files: refused now for whatever its payload shows (the case moved on, the words or links, too
    many files, another person's, empty, too large, a type the case's policy does not take); otherwise queued for
    the files reader under ``intake``, in one transaction, and answered "checking" by the caller."""
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, cmd.team_id, cmd.case_id)
        case.ensure_party_may_add_evidence(cmd.user_id)
        policy = policy_for(uow, case.policy_version, deps.policy)
        problems: list[InvalidInput] = []
        for check in (
            lambda: checked_text(cmd.text, Field.EVIDENCE, policy.reason_max_length, required=False),
            lambda: checked_links(tuple(cmd.links)),
        ):
            try:
                check()
            except InvalidInput as found:
                problems.append(found)
        claims = [attached.claim() for attached in cmd.files]
        # A file shared in the case thread may be either party's; a form's, or one from a DM, is its sender's own.
        thread = any(claim.shared_in and claim.shared_in[:1] != "D" for claim in claims)
        owners = frozenset((case.client_id, case.freelancer_id) if thread else (cmd.user_id,))
        problems += claim_problems(claims, policy.evidence_files, owners=owners, team=cmd.team_id)
        if refusal := one_or_all(problems):
            raise refusal
        queued = cmd.model_copy(update={"intake": intake})
        work = OutboxMessage(
            f"files:{intake}",
            f"files:{intake}",
            Target(Place.FILES),
            Surface.FILE_INTAKE,
            queued.model_dump(mode="json"),
        )
        uow.outbox.add(cmd.team_id, work, now)
        uow.commit()
    deps.delivered()
    return queued


def record_files(deps: Deps, cmd: AddEvidence, files: tuple[EvidenceFile, ...]) -> Evidence | None:
    """The piece a form's files were read for, recorded with them; None when an earlier reading already did (a
    reader that died before settling its row is followed by another that reads them again)."""
    with deps.uow() as uow:
        if cmd.intake is not None and uow.evidence.has_intake(cmd.team_id, cmd.intake):
            return None
    return add_evidence(deps, cmd, files)


def message_files(deps: Deps, team_id: str, user_id: str, channel: str, root_ts: str) -> FilesFromMessage:
    """Add as evidence, on a message with files: in a case's thread, that case (the person must be one of its
    parties, and the case open); in the person's DM with the app, any open case of theirs they may add to."""
    if channel[:1] == "D":
        cases, _ = open_cases(deps, team_id, user_id, EVIDENCE_CHOICES)
        may = [c for c in cases if c.may("client" if c.client_id == user_id else "freelancer", Move.ADD_EVIDENCE)]
        if not may:
            raise NoCaseForEvidence()
        return FilesFromMessage(None, may)
    with deps.uow() as uow:
        kept = uow.outbox.kept_at(team_id, channel, root_ts)
    if kept is None or not kept.endswith(f":{Kept.THREAD}"):
        raise NotWhereEvidenceIs()
    case_id = kept.removesuffix(f":{Kept.THREAD}")
    return FilesFromMessage(view_for_party(deps, team_id, user_id, case_id), [])


def file_touched(deps: Deps, team_id: str, file_id: str, key: str) -> None:
    """Slack says a file changed or was deleted (its events, ``key`` naming the one): when a piece of evidence holds
    it, it is read again off the request path (``bot.files``). Most files in a workspace are no evidence."""
    now = deps.clock()
    with deps.uow() as uow:
        if not uow.evidence.holding(team_id, file_id):
            return
        work = OutboxMessage(
            f"recheck:{file_id}",
            f"recheck:{file_id}:{key}",
            Target(Place.FILES),
            Surface.FILE_RECHECK,
            {"file_id": file_id},
        )
        uow.outbox.add(team_id, work, now)
        uow.commit()
    deps.delivered()


def pieces_holding(deps: Deps, team_id: str, file_id: str) -> list[Evidence]:
    with deps.uow() as uow:
        return uow.evidence.holding(team_id, file_id)


def file_altered(deps: Deps, team_id: str, piece: Evidence, file: EvidenceFile, found: str) -> None:
    """A read of a file of ``piece`` found it ``changed`` or ``removed``: recorded once, and said where it was shown.
    The piece stays as it was added, and so do the copies shared."""
    now = deps.clock()
    with deps.uow() as uow:
        if not uow.evidence.note_found(team_id, piece.case_id, piece.seq, file.file_id, found, now):
            return
        case = load_case(uow, team_id, piece.case_id)
        queue_told(deps, uow, case, [FileAltered(case.id, piece, file, found, now)], now)
        uow.commit()
    deps.delivered()
