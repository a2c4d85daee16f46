"""Modals after the request stage: asking again, contesting, evidence, the mediator's forms, answering a question.

Each modal's ``private_metadata`` names its case (and the route or action it was opened for); who may submit
it is checked again on submission, from the database."""

from __future__ import annotations

import json

from bot.blocks import ids, kit
from bot.blocks.format import DEFAULT_LOCALE, dated, duration, escape, money, person, quote, trim, when, window_end
from bot.blocks.kit import Block, View
from bot.blocks.modals import amount_input, text_input
from bot.blocks.stages import appealed, stage_line, why
from bot.domain.events import Evidence, Question
from bot.domain.money import Money
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import QUESTION_LIMIT, REFERENCE_LIMIT, AppealOn, Stage, State, Visibility
from bot.services.models import AskAgainForm, CaseView, DecisionForm

MEDIATE_TITLES = {
    "propose": "Propose a settlement",
    "decide": "Decide the dispute",
    "award": "Record the award",
    "review": "Review on appeal",
}


def _section(text: str) -> Block:
    return kit.section(trim(text))


def _money_input(case: CaseView, label: str, hint: str, initial: Money | None = None) -> Block:
    """Nothing up to the amount at stake."""
    low = Money(0, case.currency)
    high = max(case.at_stake, low)
    shown = initial if initial is not None and low <= initial <= high else None
    return amount_input(case.currency, low, high, label, hint, initial=shown)


def _view(callback_id: str, title: str, submit: str, metadata: dict[str, object], blocks: list[Block]) -> View:
    return kit.modal(
        title[:24],
        blocks,
        callback_id=callback_id,
        submit=submit[:24],
        close="Back",
        private_metadata=json.dumps(metadata),
    )


def ask_again_modal(form: AskAgainForm, locale: str = DEFAULT_LOCALE) -> View:
    """Design §2.3: the route the policy gives now, and why, before the client confirms."""
    meta = {"case": form.case.id, "route": form.route}
    ends = f" It is open until {when(window_end(form.until))}." if form.until else ""
    title, submit, blocks = _ROUTE_FORMS.get(form.route, _no_route)(form, ends, locale)
    return _view(ids.ASK_AGAIN_MODAL, title, submit, meta, blocks)


def _hourly_dispute(form: AskAgainForm, ends: str, locale: str) -> tuple[str, str, list[Block]]:
    case = form.case
    hours, minutes = divmod(form.week_minutes or 0, 60)
    balance = Money(form.balance_minor, case.currency)
    intro = _section(
        f"*An hourly dispute.* The review window for *{escape(case.item_label)}* is open.{ends} Say how much of the "
        f"week's {hours} h {minutes:02d} min you dispute, or an amount (up to {money(balance, locale)}). "
        f"{person(case.freelancer_id)} then has {duration(case.terms.span('dispute_response_window'))} to "
        "accept or contest; if contested, a mediator decides, and that decision is final."
    )
    blocks: list[Block] = [
        intro,
        kit.input_block(
            ids.HOURS_BLOCK,
            "Disputed hours",
            kit.number_field(ids.HOURS_INPUT, min_value="0", max_value=str(hours)),
            optional=True,
        ),
        kit.input_block(
            ids.MINUTES_BLOCK,
            "and minutes",
            kit.number_field(ids.MINUTES_INPUT, min_value="0", max_value="59"),
            optional=True,
        ),
        amount_input(
            case.currency,
            Money(1, case.currency),
            max(balance, Money(1, case.currency)),
            f"Or an amount ({case.currency})",
            "Give the time or an amount, not both.",
            optional=True,
        ),
        text_input(
            ids.REASON_BLOCK,
            ids.REASON_INPUT,
            "Reasons",
            limit=case.terms.reason_max_length,
            hint="The freelancer and a mediator read this.",
            locale=locale,
        ),
        kit.input_block(
            ids.CERTIFY_BLOCK,
            "Certification",
            kit.checkboxes(
                ids.CERTIFY_INPUT, [kit.option("yes", "I certify the disputed time was not worked as billed")]
            ),
        ),
    ]
    return "Dispute hours", "Open the dispute", blocks


def _escrow_refund(form: AskAgainForm, _: str, locale: str) -> tuple[str, str, list[Block]]:
    case, terms = form.case, form.case.terms
    text = (
        f"*The escrow refund process* for {money(case.at_stake, locale)} on *{escape(case.item_label)}*. "
        f"{person(case.freelancer_id)} has {duration(terms.span('escrow_response_window'))} to accept (you "
        "are refunded) or dispute with a statement; if they do not answer, you are refunded. If they "
        f"dispute, you have {duration(terms.span('escrow_client_response_window'))} to choose: accept their "
        "position, or a mediator takes the case."
    )
    return "Escrow refund", "Start escrow refund", [_section(text)]


def _mediation(form: AskAgainForm, ends: str, locale: str) -> tuple[str, str, list[Block]]:
    closed = f" (it closed {dated(window_end(form.review_closes_at))})" if form.review_closes_at else ""
    limit = form.case.terms.reason_max_length
    blocks = [
        _section(
            f"*Non-binding mediation.* The week's review window has closed{closed}, but it was paid "
            f"recently enough for a mediator to look at it.{ends} A mediator will propose an amount; the "
            "proposal only takes effect if both of you accept it."
        ),
        text_input(
            ids.REASON_BLOCK,
            ids.REASON_INPUT,
            "What should the mediator know?",
            limit=limit,
            optional=True,
            locale=locale,
        ),
    ]
    return "Ask for mediation", "Ask for mediation", blocks


def _no_route(form: AskAgainForm, _: str, locale: str) -> tuple[str, str, list[Block]]:
    windows = ""
    if form.review_opens_at and form.review_closes_at:
        windows = (
            f" The review window ran from {when(form.review_opens_at)} to {when(window_end(form.review_closes_at))}"
        )
        if form.mediation_closes_at:
            windows += f", and non-binding mediation was possible until {when(window_end(form.mediation_closes_at))}"
        windows += "."
    text = f"*No route is left for this request.*{windows} You can close the case; nothing more is refunded."
    return "No route left", "Close the case", [_section(text)]


_ROUTE_FORMS = {
    RouteKind.HOURLY_DISPUTE: _hourly_dispute,
    RouteKind.ESCROW_REFUND: _escrow_refund,
    RouteKind.MEDIATION: _mediation,
}


def contest_modal(case: CaseView, locale: str = DEFAULT_LOCALE) -> View:
    hourly = case.stage == Stage.HOURLY_DISPUTE
    blocks: list[Block] = [
        _section(stage_line(case, locale)),
        text_input(
            ids.STATEMENT_BLOCK,
            ids.STATEMENT_INPUT,
            "Your statement",
            limit=case.terms.reason_max_length,
            hint="Both the client and the mediator read this. Add files and links with Add evidence.",
            locale=locale,
        ),
    ]
    title = "Contest the dispute" if hourly else "Dispute the refund"
    return _view(ids.CONTEST_MODAL, title, "Send", {"case": case.id}, blocks)


EVIDENCE_OPTIONS = 100  # Slack's most options in one select; a case with more offers its newest


def mediate_modal(form: DecisionForm, action: str, locale: str = DEFAULT_LOCALE) -> View:
    """Propose, decide or record an award: the amount, the rationale, the policy rule applied and the evidence
    relied on. Both parties read the rationale, the rule and what they may see of each item cited."""
    case = form.case
    at_stake = money(case.at_stake, locale)
    intro = {
        "propose": f"Propose what the client is refunded, from nothing to {at_stake}. Each party has "
        f"{duration(case.terms.span('proposal_response_window'))} to accept; "
        + ("if either rejects, arbitration is offered." if case.binding else "the proposal is non-binding."),
        "decide": f"Decide what the client is refunded, from nothing to {at_stake}. "
        + (
            f"Either party may appeal it within {duration(window)}; then a second mediator's review is final."
            if (window := case.terms.appeal_window(AppealOn.HOURLY_DECISION))
            else "The decision is final."
        ),
        "award": f"Record the arbitrator's binding award: the refund to the client (nothing to {at_stake}) and "
        "the award's reference.",
        "review": f"Review {appealed(case, locale)}: confirm its amount or change it, from nothing to {at_stake}. "
        "Your review is final; what was already paid out is adjusted.",
    }[action]
    blocks: list[Block] = [_section(intro)]
    if reasons := why(case):
        blocks.append(_section(reasons))
    first = case.money(case.appeal["amount_minor"]) if action == "review" and case.appeal else None
    blocks += [
        _money_input(case, f"Refund to the client ({case.currency})", f"0 to {at_stake}", first),
        text_input(
            ids.RATIONALE_BLOCK,
            ids.RATIONALE_INPUT,
            "Rationale",
            limit=case.terms.reason_max_length,
            hint="Both parties read this.",
            locale=locale,
        ),
        kit.input_block(
            ids.RULE_BLOCK,
            "Policy rule applied",
            kit.static_select(
                ids.RULE_INPUT, "The rule", [kit.option(key, trim(title, 75, "…")) for key, title in form.rules.items()]
            ),
            hint=f"From policy {case.policy_version}, the rules of this case. Both parties read it.",
        ),
    ]
    if form.evidence:
        blocks.append(_cited_input(form.evidence))
    if action == "award":
        blocks.append(
            text_input(
                ids.REFERENCE_BLOCK,
                ids.REFERENCE_INPUT,
                "Award reference",
                limit=REFERENCE_LIMIT,
                multiline=False,
                locale=locale,
            )
        )
    return _view(ids.MEDIATE_MODAL, MEDIATE_TITLES[action], "Submit", {"case": case.id, "action": action}, blocks)


def _cited_input(evidence: list[Evidence]) -> Block:
    """The evidence a mediator may cite, newest first, as many as a select offers."""
    shown = evidence[:EVIDENCE_OPTIONS]
    more = f" The newest {len(shown)} of {len(evidence)} are listed." if len(evidence) > len(shown) else ""
    return kit.input_block(
        ids.CITED_BLOCK,
        "Evidence relied on",
        kit.multi_static_select(ids.CITED_INPUT, "Choose items", [_evidence_option(item) for item in shown]),
        hint="The parties see the items both sides can see; mediator-only items by number alone." + more,
    )


def _evidence_option(item: Evidence) -> Block:
    """ "#3 client, mediator only: the first words…" within an option's 75 characters."""
    private = ", mediator only" if item.visibility is Visibility.MEDIATOR_ONLY else ""
    files = ", ".join(each.name for each in item.files)
    words = " ".join((item.text or "").split())
    said = " · ".join(part for part in (words, files) if part)
    said = said or f"{len(item.links)} link{'s' if len(item.links) != 1 else ''}"
    return kit.option(str(item.seq), trim(f"#{item.seq} {item.role}{private}: {said}", 75, "…"))


def appeal_modal(case: CaseView, locale: str = DEFAULT_LOCALE) -> View:
    """Design §2.4, appeal: a party asks, once and with a reason, for a second mediator to review the outcome."""
    ends = " The arbitration offer ends when you ask." if case.state == State.ARBITRATION_OFFERED else ""
    blocks: list[Block] = [
        _section(
            f"Case {case.id} (*{escape(case.item_label)}*) · {stage_line(case, locale)}\n"
            "A second mediator, not the one who made this outcome, reviews it and the evidence, and confirms or "
            f"changes it. Their review is final. Each case can be appealed once, by either party.{ends}"
        ),
        text_input(
            ids.REASON_BLOCK,
            ids.REASON_INPUT,
            "Why should it be reviewed?",
            limit=case.terms.reason_max_length,
            hint="Both parties and the mediators read this. Add anything new as evidence.",
            locale=locale,
        ),
    ]
    return _view(ids.APPEAL_MODAL, "Ask for a review", "Ask for the review", {"case": case.id}, blocks)


def ask_modal(case: CaseView, locale: str = DEFAULT_LOCALE) -> View:
    blocks: list[Block] = [
        kit.input_block(
            ids.PARTY_BLOCK,
            "Ask",
            kit.radio_buttons(
                ids.PARTY_INPUT, [kit.option("client", "The client"), kit.option("freelancer", "The freelancer")]
            ),
        ),
        text_input(
            ids.QUESTION_BLOCK,
            ids.QUESTION_INPUT,
            "Question",
            limit=QUESTION_LIMIT,
            hint="Posted in the case thread too.",
            locale=locale,
        ),
    ]
    return _view(ids.ASK_MODAL, "Ask for information", "Ask", {"case": case.id}, blocks)


def reassign_modal(case: CaseView, desk: str | None = None) -> View:
    """The case's mediator hands it on; or a lead, from the desk (``desk``: its state, to show it again after),
    hands it to a mediator: never a party, nor an appeal to the mediator whose outcome it is."""
    blocks: list[Block] = [
        kit.input_block(ids.MEDIATOR_BLOCK, "Hand the case to", kit.users_select(ids.MEDIATOR_INPUT, "A mediator"))
    ]
    if desk is None:
        meta: dict[str, object] = {"case": case.id, "action": "reassign"}
        return _view(ids.REASSIGN_MODAL, "Reassign the case", "Reassign", meta, blocks)
    held = f"held by {person(case.mediator_id)}" if case.mediator_id else "not held by any mediator yet"
    first = (case.appeal or {}).get("first_mediator") if case.state == State.APPEAL_REQUESTED else None
    not_them = f" The appeal is of {person(first)}'s outcome, so not to them." if first else ""
    about = f"Case *{case.id}* ({escape(case.item_label)}) is {held}.{not_them} They are told in a DM."
    meta = {"case": case.id, "action": "assign", "desk": desk}
    return _view(ids.REASSIGN_MODAL, "Hand the case out", "Hand it over", meta, [kit.section(about), *blocks])


def answer_modal(case: CaseView, question: Question, locale: str = DEFAULT_LOCALE) -> View:
    """A party's answer to a mediator's question: evidence both sides see, quoting the question it answers."""
    blocks: list[Block] = [
        _section(f"*The mediator asks*\n{quote(question.text, QUESTION_LIMIT)}"),
        text_input(
            ids.EVIDENCE_BLOCK,
            ids.EVIDENCE_INPUT,
            "Your answer",
            limit=case.terms.reason_max_length,
            hint="Both parties and the mediator see it.",
            locale=locale,
        ),
    ]
    meta = {"case": question.case_id, "question": question.id}
    return _view(ids.ANSWER_MODAL, "Answer the mediator", "Send", meta, blocks)
