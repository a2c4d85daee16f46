"""Every builder in bot/blocks, by property, through Slack's published rules (vendor/slack/blockkit), with
hostile and long input: whatever a case holds, Slack accepts what we send, and no one's text pings, links or
breaks a button."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.blocks import card, evidence_forms, home, ids, kit, modals, refusals, render, replies, stage_modals
from bot.domain import errors
from bot.domain.case import ExtensionUsed, NothingToExtend
from bot.domain.case.appeal import AppealWindowOver, ArbitrationStarted, FirstMediatorCannotReview
from bot.domain.case.dispute import (
    CertificationRequired,
    DisputedTimeInvalid,
    DisputeWindowClosed,
    InvalidTime,
    RouteChanged,
    TimeOrAmount,
    TimeOverBalance,
)
from bot.domain.case.mediation import (
    AlreadyClaimed,
    AlreadyHolds,
    AlreadyYours,
    NotALead,
    NotAMediatorToAssign,
    PartyCannotBeMediator,
)
from bot.domain.case.payout import NotOnHold, NotRefused
from bot.domain.case.request import (
    AmountAboveAdjustLimit,
    AmountNotBelowRequested,
    ItemHasOpenCase,
    ItemNotPaid,
    ItemTooOld,
    NothingRefundable,
    WrongItemKind,
)
from bot.domain.errors import Field, Refused
from bot.domain.events import Evidence, Question
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import ASSIGNER, LedgerKind, Visibility
from bot.services.messages import Surface
from bot.services.models import AskAgainForm, DecisionForm, EvidenceForm, ItemChoice, RefundForm, Unavailable
from tests.slack_rules import form_answer_problems, message_problems, view_problems
from tests.unit.hostile import (
    CURRENCIES,
    INJECTIONS,
    INSTANTS,
    LINKS,
    MINOR,
    SPANS,
    USERS,
    case_views,
    texts,
    words,
)

CHECKED = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOCALES = st.sampled_from(["en_US", "de_DE", "ar_EG", "ja_JP", "ru_RU"])
PERMALINKS = st.none() | st.just("https://demo.slack.com/archives/G0CASE/p1700000001000100")
# Markup that must never reach Slack unescaped from someone's text.
PINGS = ("<!channel>", "<!here>", "<!everyone>", "<@U0ADMIN>", "<#C0GENERAL>", "<!subteam^", "<https://evil")


def mrkdwn(node: Any) -> list[str]:
    """Every mrkdwn text in a payload: where Slack would act on markup."""
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str) else []
        return found + [text for value in node.values() for text in mrkdwn(value)]
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn(item)]
    return []


def no_pings(payload: Any) -> None:
    for text in mrkdwn(payload):
        for ping in PINGS:
            assert ping not in text, f"{ping!r} reached Slack unescaped in {text[:200]!r}"


def sdk_accepts(blocks: list[dict[str, Any]]) -> None:
    """slack_sdk's own models parse the plain blocks back and their validators pass (style: builders give dicts
    that pass ``validate_json()``), with the very same JSON coming out."""
    for block in blocks:
        model = Block.parse(block)
        assert model is not None, block
        assert model.to_dict() == block


BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def shown_texts(node: Any) -> list[str]:
    """Every text a person reads: Slack's text objects, and a message's notification text."""
    if isinstance(node, list):
        return [text for item in node for text in shown_texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if isinstance(node.get("text"), str) else []
    return own + [text for value in node.values() if not isinstance(value, str) for text in shown_texts(value)]


def no_bidi_controls(payload: Any) -> None:
    """Someone's text cannot reverse or reorder what the reader sees after it."""
    found = BIDI_CONTROLS & set("".join(shown_texts(payload)))
    assert not found, f"bidirectional controls reached Slack: {sorted(hex(ord(c)) for c in found)}"


def accepted_message(shown: render.Rendered) -> None:
    assert message_problems({"text": shown.text, "blocks": shown.blocks}) == []
    no_pings(shown.blocks)
    no_bidi_controls({"text": shown.text, "blocks": shown.blocks})
    sdk_accepts(shown.blocks)


def accepted_view(view: dict[str, Any], kind: str = "modal") -> dict[str, Any]:
    assert view_problems(view, kind) == []
    no_pings(view["blocks"])
    no_bidi_controls(view["blocks"])
    assert View(**view).to_dict() == view
    return view


@CHECKED
@given(case=case_views(), permalink=PERMALINKS, locale=LOCALES)
def test_every_case_message_is_one_slack_accepts(case, permalink, locale):
    for surface in (Surface.FREELANCER_REQUEST, Surface.CLIENT_REQUEST, Surface.THREAD_ROOT, Surface.TIMELINE):
        accepted_message(render.render(surface, case.as_json(), permalink, locale))
    accepted_message(render.render(Surface.CASE_CARD, case.as_json(), None, locale))
    accepted_message(render.render(Surface.STALE_NUDGES, case.as_json(), None, locale))
    accepted_message(render.render(Surface.QUESTION_ANSWERED, case.as_json(), None, locale))


@CHECKED
@given(case=case_views(), hours=st.floats(min_value=0, max_value=500), reader=USERS, locale=LOCALES)
def test_every_reminder_and_notice_is_one_slack_accepts(case, hours, reader, locale):
    view = case.as_json()
    role = "client" if reader == case.client_id else "freelancer"
    accepted_message(render.render(Surface.REMINDER, view | {"hours_left": hours, "role": role}, None, locale))
    closes = (case.due or case.at).isoformat()
    accepted_message(render.render(Surface.REVIEW_REMINDER, view | {"closes_at": closes}, None, locale))
    accepted_message(render.render(Surface.EXTENDED, view | {"by": reader}, None, locale))
    for role in ("client", "freelancer"):
        accepted_message(
            render.render(Surface.APPEAL_REMINDER, view | {"role": role}, "https://x.slack.com/p1", locale)
        )
    for final in (True, False):
        accepted_message(render.render(Surface.APPEAL_CLOSED, view | {"final": final}, None, locale))


@CHECKED
@given(case=case_views(), hours=st.floats(min_value=0, max_value=500), reader=USERS, by=USERS, locale=LOCALES)
def test_the_mediators_reminders_lateness_and_hand_outs_are_ones_slack_accepts(case, hours, reader, by, locale):
    due = (case.due or case.at).isoformat()
    kinds = ("mediator_claim", "mediator_action", "mediator_outcome")
    view = case.as_json() | {"mediator_due": dict.fromkeys(kinds, due), "mediators_late": dict.fromkeys(kinds, due)}
    for kind in kinds:
        accepted_message(render.render(Surface.MEDIATOR_REMINDER, view | {"kind": kind, "hours_left": hours}, None))
        accepted_message(render.render(Surface.MEDIATORS_LATE, view | {"kind": kind, "mediator": reader}, None))
    for handed_by in (by, ASSIGNER):
        for told in (reader, by):  # the mediator it went to, and the one it was taken from
            shown = view | {"mediator": reader, "by": handed_by, "reader": told}
            accepted_message(render.render(Surface.MEDIATOR_ASSIGNED, shown, None, locale))


@CHECKED
@given(case=case_views(), kind=st.sampled_from([kind.value for kind in LedgerKind]), amount=MINOR, reason=texts(500))
def test_a_refused_payout_reads_as_slack_accepts_it_in_the_thread_and_the_mediators_channel(case, kind, amount, reason):
    view = case.as_json() | {"entry_id": 7, "entry_kind": kind, "entry_minor": amount, "payout_reason": reason}
    accepted_message(render.render(Surface.PAYOUT_HELD, view, None))
    accepted_message(render.render(Surface.PAYOUT_REFUSED, view, None))


@CHECKED
@given(case=case_views(), text=texts(3000), question=texts(500), links=st.lists(words(500), max_size=10))
def test_evidence_and_questions_are_ones_slack_accepts_and_answer_carries_only_an_id(case, text, question, links):
    evidence = {
        "case_id": case.id,
        "seq": 7,
        "author": case.client_id,
        "role": "client",
        "text": text or None,
        "links": [f"https://example.com/{link}".replace(" ", "") for link in links],
        "visibility": "mediator_only",
        "at": case.updated_at,
        "answers": question or None,
    }
    accepted_message(render.render(Surface.EVIDENCE, evidence, None))
    accepted_message(render.render(Surface.EVIDENCE_KEPT, evidence, None))
    asked = case.as_json() | {"question": question, "question_id": 123456789, "asked": case.client_id, "by": "U0M"}
    dm = render.render(Surface.QUESTION, asked, None)
    accepted_message(dm)
    [answer] = [e for b in dm.blocks if b["type"] == "actions" for e in b["elements"]]
    assert answer["value"] == "123456789"  # the question itself stays in the database
    accepted_message(render.render(Surface.QUESTION_LINE, asked, None))


@CHECKED
@given(cases=st.lists(case_views(), max_size=60), user=USERS, locale=LOCALES, more=st.integers(0, 10**6))
def test_home_and_the_command_replies_are_ones_slack_accepts(cases, user, locale, more):
    published = {"type": "home", "blocks": home.home(user, cases, cases, more, locale)}
    accepted_view(published, "home")
    for reply in [replies.list_reply(cases[: replies.LISTED], len(cases) + more, user)] + [
        replies.status_reply(case) for case in cases[:3]
    ]:
        answer = reply.as_ack()
        assert message_problems(answer) == []
        no_pings(answer["blocks"])
        sdk_accepts(answer["blocks"])


@CHECKED
@given(typed=texts(3000))
def test_help_for_an_unknown_command_and_a_form_slack_refused_are_replies_slack_accepts(typed):
    for reply in (replies.help_reply(unknown=typed), replies.form_not_opened(typed)):
        answer = reply.as_ack()
        assert message_problems(answer) == []
        no_pings(answer["blocks"])
        sdk_accepts(answer["blocks"])


@st.composite
def refund_forms(draw: st.DrawFn) -> RefundForm:
    currency = draw(CURRENCIES)
    contracts = draw(st.lists(st.tuples(words(64), words(200)), min_size=1, max_size=120, unique_by=lambda c: c[0]))
    items = draw(
        st.lists(
            st.builds(ItemChoice, key=words(80), label=words(200), paid_minor=MINOR, balance_minor=MINOR.filter(bool)),
            max_size=120,
            unique_by=lambda i: i.key,
        )
    )
    unavailable = draw(
        st.lists(
            st.builds(
                Unavailable,
                label=words(200),
                why=st.sampled_from(["unpaid", "too_old", "open_case", "refunded"]),
                paid_at=st.none() | INSTANTS,
                limit=st.none() | SPANS,
                case_id=st.none() | words(16),
            ),
            max_size=20,
        )
    )
    chosen = draw(st.booleans())
    return RefundForm(
        contracts=contracts,
        reason_limit=draw(st.integers(min_value=1, max_value=2900)),
        contract_id=contracts[0][0] if chosen else None,
        currency=currency if chosen else None,
        items=items if chosen else [],
        item_key=items[0].key if chosen and items and draw(st.booleans()) else None,
        unavailable=unavailable if chosen else [],
    )


@CHECKED
@given(form=refund_forms())
def test_the_refund_form_is_one_slack_accepts_at_every_step(form):
    view = accepted_view(modals.refund_modal(form))
    assert view["submit"]["text"] == "Send request"


@st.composite
def evidence_items(draw: st.DrawFn) -> Evidence:
    return Evidence(
        "R-1",
        draw(st.integers(min_value=1, max_value=10**6)),
        draw(USERS),
        draw(st.sampled_from(["client", "freelancer"])),
        draw(st.none() | texts(2900)),
        tuple(draw(st.lists(LINKS, max_size=10))),
        draw(st.sampled_from(list(Visibility))),
        draw(INSTANTS),
    )


@CHECKED
@given(
    case=case_views(),
    action=st.sampled_from(["propose", "decide", "award", "review"]),
    text=texts(500),
    rules=st.dictionaries(words(64), words(200), min_size=1, max_size=100),
    evidence=st.lists(evidence_items(), max_size=130),
    locale=LOCALES,
)
def test_every_case_form_is_one_slack_accepts(case, action, text, rules, evidence, locale):
    decision = accepted_view(stage_modals.mediate_modal(DecisionForm(case, rules, evidence), action, locale))
    cited = [block for block in decision["blocks"] if block.get("block_id") == ids.CITED_BLOCK]
    assert len(cited) == (1 if evidence else 0)  # nothing to cite, no empty select
    question = Question(case.id, "U0M", case.client_id, text or "?", case.at, 42)
    for view in (
        modals.adjust_modal(case, locale),
        modals.decline_modal(case, locale),
        stage_modals.contest_modal(case, locale),
        evidence_forms.evidence_modal(EvidenceForm(case, Policy().evidence_files), locale),
        stage_modals.ask_modal(case, locale),
        stage_modals.appeal_modal(case, locale),
        stage_modals.reassign_modal(case),
        stage_modals.answer_modal(case, question, locale),
        card.in_full_modal(case),  # every word of the case, however long or hostile, within Slack's limits
    ):
        accepted_view(view)
    accepted_view(modals.no_contracts_modal())


@CHECKED
@given(
    case=case_views(),
    route=st.sampled_from(["hourly_dispute", "escrow_refund", "mediation", "closed"]),
    at=st.lists(st.none() | INSTANTS, min_size=4, max_size=4),
    week=st.integers(min_value=0, max_value=7 * 24 * 60),
    balance=MINOR,
)
def test_asking_again_shows_each_route_in_a_form_slack_accepts(case, route, at, week, balance):
    form = AskAgainForm(case, route, at[0], at[1], at[2], at[3], week, balance)
    view = accepted_view(stage_modals.ask_again_modal(form))
    assert len(view["private_metadata"]) <= 3000


@st.composite
def refusals_of_every_kind(draw: st.DrawFn) -> Refused:
    """One refusal of each type the domain has, its facts hostile where a person or a marketplace wrote them."""
    text, at, money = draw(texts(3000)), draw(INSTANTS), draw(MINOR.map(lambda m: Money(m, "USD")))
    field = draw(st.sampled_from(list(Field)))
    made = {
        errors.NotAnAmount: lambda: errors.NotAnAmount(text),
        errors.TooManyDecimals: lambda: errors.TooManyDecimals(text, "KWD", 3),
        errors.AmountTooLarge: lambda: errors.AmountTooLarge(text, "JPY"),
        errors.UnknownCurrency: lambda: errors.UnknownCurrency(text),
        errors.CurrencyMismatch: lambda: errors.CurrencyMismatch("EUR", "USD"),
        errors.AmountNotPositive: errors.AmountNotPositive,
        errors.AmountOverBalance: lambda: errors.AmountOverBalance(money, money),
        AmountNotBelowRequested: lambda: AmountNotBelowRequested(money, money),
        AmountAboveAdjustLimit: lambda: AmountAboveAdjustLimit(money, money, money),
        errors.AmountOutOfRange: lambda: errors.AmountOutOfRange(money, money, money),
        TimeOrAmount: TimeOrAmount,
        InvalidTime: lambda: InvalidTime(text, text),
        DisputedTimeInvalid: lambda: DisputedTimeInvalid(0, 600),
        errors.TextRequired: lambda: errors.TextRequired(field),
        errors.TextTooLong: lambda: errors.TextTooLong(field, 2000, 3000),
        errors.ChoiceRequired: lambda: errors.ChoiceRequired(field),
        CertificationRequired: CertificationRequired,
        errors.InvalidLink: lambda: errors.InvalidLink(text),
        errors.UnknownRule: lambda: errors.UnknownRule(text[:64]),
        AppealWindowOver: lambda: AppealWindowOver(draw(st.none() | st.just(at))),
        ArbitrationStarted: lambda: ArbitrationStarted(draw(st.sampled_from(["client", "freelancer"]))),
        FirstMediatorCannotReview: lambda: FirstMediatorCannotReview("R-7K3Q9A", draw(USERS)),
        errors.UnknownEvidence: lambda: errors.UnknownEvidence(
            draw(st.integers(0, 10**9)), draw(st.integers(0, 10**6))
        ),
        errors.TooManyLinks: lambda: errors.TooManyLinks(10),
        errors.TooManyFiles: lambda: errors.TooManyFiles(draw(st.integers(11, 10**6)), 10),
        errors.FileEmpty: lambda: errors.FileEmpty(text),
        errors.FileTooLarge: lambda: errors.FileTooLarge(text, draw(st.integers(1, 2**40)), 10 * 1024 * 1024),
        errors.FileTypeRefused: lambda: errors.FileTypeRefused(text, text[:10], draw(st.sampled_from([[], ["pdf"]]))),
        errors.FileNotYours: lambda: errors.FileNotYours(text),
        errors.FileUnreadable: lambda: errors.FileUnreadable(text),
        errors.FileGone: lambda: errors.FileGone(text),
        errors.NoFileInMessage: errors.NoFileInMessage,
        errors.NotWhereEvidenceIs: errors.NotWhereEvidenceIs,
        errors.NoCaseForEvidence: errors.NoCaseForEvidence,
        errors.InvalidInputs: lambda: errors.InvalidInputs(
            [errors.ChoiceRequired(field), errors.UnknownRule(text[:64])]
        ),
        errors.NotYourContract: lambda: errors.NotYourContract(text[:64]),
        errors.UnknownContract: lambda: errors.UnknownContract(text[:64]),
        NothingRefundable: lambda: NothingRefundable(text[:64]),
        errors.UnknownItem: lambda: errors.UnknownItem(text[:64]),
        WrongItemKind: lambda: WrongItemKind(text[:64], "hourly"),
        ItemNotPaid: lambda: ItemNotPaid(text[:200]),
        ItemTooOld: lambda: ItemTooOld(text[:200], at, timedelta(days=180)),
        ItemHasOpenCase: lambda: ItemHasOpenCase(text[:200], "R-7K3Q9A"),
        errors.CaseNotFound: lambda: errors.CaseNotFound(text),
        errors.QuestionNotFound: lambda: errors.QuestionNotFound(text),
        errors.NotYourCase: lambda: errors.NotYourCase("R-7K3Q9A", "client or freelancer"),
        errors.CaseMovedOn: lambda: errors.CaseMovedOn(
            "R-7K3Q9A", draw(st.sampled_from(list(refusals.MOVED))), "U0X", at
        ),
        errors.ConcurrentChange: lambda: errors.ConcurrentChange("R-7K3Q9A"),
        errors.CaseClosed: lambda: errors.CaseClosed("R-7K3Q9A"),
        errors.AnswerTimeOver: lambda: errors.AnswerTimeOver(at),
        DisputeWindowClosed: lambda: DisputeWindowClosed(text[:200], at, at),
        errors.DeadlineNotReached: lambda: errors.DeadlineNotReached(at),
        RouteChanged: lambda: RouteChanged("hourly_dispute", "mediation"),
        errors.AlreadyAnswered: lambda: errors.AlreadyAnswered("proposal"),
        NothingToExtend: lambda: NothingToExtend("R-7K3Q9A"),
        ExtensionUsed: lambda: ExtensionUsed("R-7K3Q9A"),
        NotOnHold: lambda: NotOnHold("R-7K3Q9A"),
        NotRefused: lambda: NotRefused(10**12),
        errors.NotAMediator: errors.NotAMediator,
        NotAMediatorToAssign: lambda: NotAMediatorToAssign(text[:32]),
        errors.PartyCannotMediate: lambda: errors.PartyCannotMediate("R-7K3Q9A"),
        PartyCannotBeMediator: lambda: PartyCannotBeMediator("R-7K3Q9A", "U0CLIENT01"),
        AlreadyClaimed: lambda: AlreadyClaimed("R-7K3Q9A", "U0MEDIATE1", at),
        AlreadyYours: lambda: AlreadyYours("R-7K3Q9A"),
        AlreadyHolds: lambda: AlreadyHolds("R-7K3Q9A", text[:32]),
        NotALead: NotALead,
        errors.NotYourClaim: lambda: errors.NotYourClaim("R-7K3Q9A", draw(st.none() | st.just("U0MEDIATE1"))),
        TimeOverBalance: lambda: TimeOverBalance(90, Money(5000, "USD"), Money(100, "USD")),
        errors.Unavailable: lambda: errors.Unavailable(draw(st.sampled_from(["database", "slack"]))),
    }
    kinds = _every_refusal()
    assert kinds == set(made), f"no hostile example for: {sorted(k.__name__ for k in kinds - set(made))}"
    return made[draw(st.sampled_from(sorted(made, key=lambda k: k.__name__)))]()


def _every_refusal() -> set[type[Refused]]:
    found: set[type[Refused]] = set()
    pending: list[type[Refused]] = [Refused]
    while pending:
        kind = pending.pop()
        pending += kind.__subclasses__()
        if dataclasses.is_dataclass(kind):
            found.add(kind)
    return found


FORM = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Request a refund"},
    "blocks": [
        {"type": "input", "block_id": block, "label": {"type": "plain_text", "text": block}, "element": {}}
        for block in sorted(set(refusals.FIELD_BLOCKS.values()))
    ],
}


@CHECKED
@given(refusal=refusals_of_every_kind(), locale=LOCALES, fields=st.booleans())
def test_every_refusal_reads_as_slack_accepts_it_wherever_it_is_shown(refusal, locale, fields):
    said = render.render(Surface.REFUSAL, refusal.as_json(), None, locale)  # a click's private answer
    accepted_message(said)
    form = FORM if fields else dict(FORM, blocks=[])
    answer = refusals.form_answer(refusal, form, locale)
    assert form_answer_problems(answer, form) == []
    if answer["response_action"] == "errors":
        each = refusal.found if isinstance(refusal, errors.InvalidInputs) else [refusal]  # under its own field
        voice = refusals.Voice(plain=True, locale=locale)  # amounts as the reader's DMs write them
        assert set(answer["errors"].values()) <= {kit.shown(refusals.sentence(part, voice)) for part in each}
        assert not BIDI_CONTROLS & set("".join(answer["errors"].values()))
        for shown in answer["errors"].values():
            # Plain text under a field renders neither mentions nor date tokens: none is made for it.
            people = [fact for fact in refusal.facts().values() if isinstance(fact, str) and fact.startswith("U0")]
            assert not any(f"<@{user}>" in shown for user in people)
            assert "<!date^" not in shown
    else:
        accepted_view(answer["view"])
    assert Refused.from_json(json.loads(json.dumps(refusal.as_json()))).facts() == refusal.facts()


def test_the_hostile_samples_include_what_slack_must_never_act_on():
    assert all(ping in INJECTIONS for ping in PINGS)


def test_what_someone_typed_is_echoed_under_its_field_without_reordering_it():
    typed = "1\u202e00.00\u202c $"
    answer = refusals.form_answer(errors.NotAnAmount(typed), FORM)
    [shown] = answer["errors"].values()
    assert "“100.00 $”" in shown
    assert not BIDI_CONTROLS & set(shown)
