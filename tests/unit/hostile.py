"""Hostile and foreign input, as people and marketplaces really send it: for the block builders' property tests.

Every free text a builder shows comes from here at up to the longest its field allows: 450 Cyrillic characters,
3,000-character fields, emoji, right-to-left text, bidirectional overrides, zero-width characters, Slack markup
that must not ping or link, and characters that grow when escaped (``&`` becomes five).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from bot.blocks.stages import STATES
from bot.domain.policy import Appeals, Policy
from bot.domain.vocabulary import Move
from bot.services.models import CaseView, Terms

CYRILLIC = ("Почему макет не соответствует брифу? Заказчик просил другое. " * 8)[:450]
INJECTIONS = (
    "<!channel> <!here> <!everyone> <@U0ADMIN> <#C0GENERAL> <!subteam^S0ADMINS> <https://evil.example|your bank>"
)
SAMPLES = [
    CYRILLIC,
    INJECTIONS,
    "x" * 3000,
    "&" * 3000,
    "<" * 3000,
    "\n" * 3000,
    "🧾💸🤝🏽👩🏾‍💻" * 300,
    "مرحبا، هذا طلب استرداد. ‏שלום, זו בקשת החזר‎ " * 40,
    "a\u200b\u200c\u200d\u2060\ufeffb" * 400,
    "Invoice \u202egpj.exe\u202c from \u2067عميل\u2069 \u202a\u202b\u202d " * 60,
    "*bold* _it_ ~strike~ `code` ```block``` > quote • 1. " * 50,
    "",
]


def texts(limit: int) -> st.SearchStrategy[str]:
    """What a person may type into a field of at most ``limit`` characters, hostile samples first."""
    return st.one_of(st.sampled_from([s[:limit] for s in SAMPLES]), st.text(max_size=min(limit, 400)))


def words(limit: int) -> st.SearchStrategy[str]:
    """Non-empty text: a title, an id, a label from the marketplace."""
    return texts(limit).filter(bool)


USERS = st.sampled_from(["U0CLIENT01", "U0FREELA01", "U0MEDIATE1", "W0ENTERPRISE1", "U" + "9" * 30])
CURRENCIES = st.sampled_from(["USD", "JPY", "KWD", "EUR", "IQD"])
INSTANTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
SPANS = st.one_of(
    st.sampled_from([timedelta(seconds=30), timedelta(minutes=90), timedelta(hours=36), timedelta(days=180)]),
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400)),
)
MINOR = st.integers(min_value=0, max_value=10**15)

# (stage, state) pairs a case can be in (design §2.4).
STORY = {
    "request": (
        "awaiting_freelancer",
        "approved",
        "adjusted",
        "declined",
        "lapsed",
        "withdrawn",
        "closed_out_of_window",
    ),
    "hourly_dispute": ("awaiting_freelancer", "refunded", "in_review", "decided", "withdrawn"),
    "escrow_refund": ("awaiting_freelancer", "refunded", "freelancer_disputed", "released"),
    "mediation": (
        *("unassigned", "claimed", "proposed", "settled", "arbitration_offered", "arbitration", "awarded"),
        *("refunded", "released", "withdrawn"),
    ),
    "appeal": ("appeal_requested", "reviewed"),
}
PLACES = [(stage, state) for stage, states in STORY.items() for state in states]
assert {state for _, state in PLACES} <= set(STATES)


@st.composite
def terms(draw: st.DrawFn) -> Terms:
    policy = Policy(
        dispute_response_window=draw(SPANS),
        escrow_response_window=draw(SPANS),
        escrow_client_response_window=draw(SPANS),
        proposal_response_window=draw(SPANS),
        extension=draw(SPANS),
        reason_max_length=draw(st.integers(min_value=1, max_value=2900)),
        appeals=draw(st.none() | SPANS.map(lambda span: Appeals(span, ("hourly_decision", "rejected_proposal")))),
    )
    return Terms.of(policy)


@st.composite
def next_steps(draw: st.DrawFn) -> dict[str, str | None] | None:
    def at() -> str | None:
        return draw(st.none() | INSTANTS.map(datetime.isoformat))

    route = draw(st.sampled_from([None, "hourly_dispute", "mediation", "escrow_refund", "closed"]))
    if route is None:
        return None
    return {"route": route, "until": at(), "review_closes_at": at(), "mediation_closes_at": at()}


LINKS = st.from_regex(r"https?://[^\s<>|]{1,400}", fullmatch=True)  # what evidence accepts (bot.domain.case)


@st.composite
def cited_items(draw: st.DrawFn) -> dict[str, Any]:
    """An evidence item as an outcome cites it to the parties: a mediator-only one by number alone."""
    private = draw(st.booleans())
    return {
        "seq": draw(st.integers(min_value=1, max_value=10**6)),
        "role": draw(st.sampled_from(["client", "freelancer"])),
        "mediator_only": private,
        "text": None if private else draw(st.none() | texts(2900)),
        "links": [] if private else draw(st.lists(LINKS, max_size=10)),
    }


@st.composite
def appeals(draw: st.DrawFn) -> dict[str, Any]:
    """An appeal as the case keeps it, its reason hostile."""
    return {
        "by": draw(st.sampled_from(["U0CLIENT01", "U0FREELA01"])),
        "role": draw(st.sampled_from(["client", "freelancer"])),
        "reason": draw(texts(2900)),
        "at": draw(INSTANTS).isoformat(),
        "outcome": draw(st.sampled_from(["decided", "released", "arbitration_offered"])),
        "stage": draw(st.sampled_from(["hourly_dispute", "mediation"])),
        "first_mediator": draw(st.none() | st.just("U0MEDIATE1")),
        "amount_minor": draw(MINOR),
        "refunded_minor": draw(MINOR),
    }


ROLES_MOVES = st.lists(st.sampled_from(list(Move)), unique=True)


@st.composite
def case_views(draw: st.DrawFn) -> CaseView:
    """A case at any place of its story, every text in it hostile."""
    stage, state = draw(st.sampled_from(PLACES))
    client, freelancer = "U0CLIENT01", "U0FREELA01"
    paid = draw(MINOR.filter(bool))
    reasons = draw(st.integers(min_value=1, max_value=2900))
    return CaseView(
        id="R-" + draw(st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=6, max_size=6)),
        contract_id=draw(words(64)),
        contract_title=draw(words(200)),
        contract_kind=draw(st.sampled_from(["fixed_price", "hourly"])),
        item_label=draw(words(200).map(lambda title: f"Milestone “{title}”")),
        client_id=client,
        freelancer_id=freelancer,
        currency=draw(CURRENCIES),
        paid_minor=paid,
        refunded_before_minor=draw(MINOR),
        requested_minor=draw(MINOR),
        refunded_minor=draw(MINOR),
        offered_minor=draw(st.none() | MINOR),
        reason=draw(texts(reasons)),
        response=draw(st.none() | texts(reasons)),
        state=state,
        updated_by=draw(st.sampled_from([client, freelancer, "U0MEDIATE1", "scheduler"])),
        updated_at=draw(INSTANTS).isoformat(),
        due_at=draw(st.none() | INSTANTS.map(datetime.isoformat)),
        policy_version=draw(words(32)),
        next_step=draw(next_steps()),
        stage=stage,
        disputed_minor=draw(st.none() | MINOR),
        disputed_minutes=draw(st.none() | st.integers(min_value=1, max_value=7 * 24 * 60)),
        dispute_reason=draw(st.none() | texts(reasons)),
        statement=draw(st.none() | texts(reasons)),
        binding=draw(st.booleans()),
        mediator_id=draw(st.none() | st.sampled_from(["U0MEDIATE1", "U0MEDIATE2"])),
        proposal_minor=draw(st.none() | MINOR),
        rationale=draw(st.none() | texts(reasons)),
        rule=draw(st.none() | words(64)),
        rule_title=draw(st.none() | words(75)),
        cited=draw(st.lists(cited_items(), max_size=40)),
        answers=draw(
            st.dictionaries(st.sampled_from(["client", "freelancer"]), st.sampled_from(["accept", "reject", "paid"]))
        ),
        award_reference=draw(st.none() | words(100)),
        appeal_until=draw(st.none() | INSTANTS.map(datetime.isoformat)),
        outcome_minor=draw(st.none() | MINOR),
        appeal=draw(st.none() | appeals()),
        evidence_count=draw(st.integers(min_value=0, max_value=10**6)),
        fee_minor=draw(st.none() | MINOR),
        waiting_on=draw(st.lists(st.sampled_from([client, freelancer]), unique=True)),
        open=draw(st.booleans()),
        extended_by=draw(st.lists(st.sampled_from(["client", "freelancer"]), unique=True)),
        payout_hold=draw(st.none() | texts(500)),
        deadline_reason=draw(st.none() | texts(500)),
        terms=replace(draw(terms()), reason_max_length=reasons),
        moves={role: [move.value for move in draw(ROLES_MOVES)] for role in ("client", "freelancer", "mediator")},
    )
