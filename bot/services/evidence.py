"""Use cases of evidence (design §3): either party adds words or links, frozen once added, seen by both sides or by
the mediators only; an answer to a mediator's question is evidence both sides see, quoting the question."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from bot.domain.case import Case
from bot.domain.errors import NotYourCase, QuestionNotFound
from bot.domain.events import Question
from bot.domain.policy import Policy
from bot.domain.vocabulary import Visibility
from bot.services.core import Deps, case_view, change_case, load_case
from bot.services.models import CaseView
from bot.services.read_models import checked_view


class AddEvidence(BaseModel):
    team_id: str
    user_id: str
    case_id: str
    text: str | None = None
    links: list[str] = []
    visibility: Visibility = Visibility.BOTH_SIDES
    question_id: int | None = None  # the mediator's question this answers


def view_for_party(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind a party's form (evidence, an answer), refused early for anyone else."""
    return checked_view(deps, team_id, case_id, lambda case, _: case.ensure_party(user_id))


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


def add_evidence(deps: Deps, cmd: AddEvidence) -> Case:
    """Frozen once added; where it is shown is the notifier's (``Evidence``). An answer to a mediator's question
    quotes the question it answers."""
    answers = None
    if cmd.question_id is not None:
        answers = question_for_party(deps, cmd.team_id, cmd.user_id, str(cmd.question_id))[1]

    def act(case: Case, policy: Policy, now: datetime) -> None:
        case.add_evidence(
            text=cmd.text,
            links=tuple(cmd.links),
            visibility=cmd.visibility,
            by=cmd.user_id,
            now=now,
            policy=policy,
            answers=answers,
        )

    return change_case(deps, cmd.team_id, cmd.case_id, act)
