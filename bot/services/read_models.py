"""Read models: what a person is shown before they act (the /refund form, /refund status and list, App Home,
the case behind a button that opens a form). Each reads in one unit of work and changes nothing, except that App
Home is published through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.case import Case
from bot.domain.contract import ItemRef, Timesheet, refundable_balance
from bot.domain.errors import CaseNotFound, NotYourCase, Refused
from bot.domain.money import Money
from bot.domain.routing import route_after_request
from bot.services import notify
from bot.services.core import Deps, case_view, load_case, policy_for, records_of
from bot.services.models import (
    DESK_PAGE,
    DESK_SECTIONS,
    HOME_SHOWN,
    AskAgainForm,
    CaseView,
    DeskFilters,
    ItemChoice,
    RefundForm,
    Unavailable,
)
from bot.services.ports import UnitOfWork
from bot.services.surfaces import DeskPart, DeskShown


def item_key(ref: ItemRef) -> str:
    return f"{ref.kind.value}:{ref.id}"


# Slack shows at most 100 options in a select: a client with more contracts sees the first 100 by title.
CONTRACTS_SHOWN = 100


def refund_form(
    deps: Deps, team_id: str, user_id: str, contract_id: str | None = None, item: str | None = None
) -> RefundForm:
    """The caller's contracts as client and, for the chosen one, every item they can ask a refund on now."""
    now = deps.clock()
    with deps.uow() as uow:
        contracts = uow.contracts.for_client(team_id, user_id, CONTRACTS_SHOWN)
        form = RefundForm(
            contracts=[(c.id, c.title) for c in contracts],
            reason_limit=deps.policy.reason_max_length,
            locale=_locale(deps, uow, team_id, user_id),
        )
        contract = next((c for c in contracts if c.id == contract_id), None)
        if contract is None and contract_id is not None:
            found = uow.contracts.get(team_id, contract_id)
            contract = found if found is not None and found.client_id == user_id else None
        if contract is None:
            return form
        choices: list[ItemChoice] = []
        unavailable: list[Unavailable] = []
        for candidate in uow.contracts.items(team_id, contract.id):
            ref = candidate.ref
            if candidate.paid_at is None:
                unavailable.append(Unavailable(candidate.label, "unpaid"))
            elif not deps.policy.request_window(candidate.paid_at).contains(now):
                unavailable.append(
                    Unavailable(
                        candidate.label, "too_old", paid_at=candidate.paid_at, limit=deps.policy.request_age_limit
                    )
                )
            elif (open_case := uow.cases.open_case_for_item(team_id, contract.id, ref)) is not None:
                unavailable.append(Unavailable(candidate.label, "open_case", case_id=open_case.id))
            else:
                refunded = uow.ledger.refunded_on_item(team_id, contract.id, ref, contract.currency)
                held = uow.cases.held_on_item(team_id, contract.id, ref, contract.currency)
                balance = refundable_balance(candidate.paid, refunded, held)
                if balance.is_positive:
                    choices.append(ItemChoice(item_key(ref), candidate.label, candidate.paid.minor, balance.minor))
                else:
                    unavailable.append(Unavailable(candidate.label, "refunded"))
    return replace(
        form,
        contract_id=contract.id,
        currency=contract.currency,
        items=choices,
        item_key=item if any(c.key == item for c in choices) else None,
        unavailable=unavailable,
    )


def reader_locale(deps: Deps, team_id: str, user_id: str) -> str | None:
    """The locale Slack last gave for this person (the relay learns it as it writes to them), None before it has;
    held by this process a while once known."""
    if (held := deps.locales.get(team_id, user_id)) is not None:
        return held
    with deps.uow() as uow:
        return _locale(deps, uow, team_id, user_id)


def _locale(deps: Deps, uow: UnitOfWork, team_id: str, user_id: str) -> str | None:
    """The person's locale, held or read in a transaction already open."""
    if (found := deps.locales.get(team_id, user_id)) is None and (found := uow.people.locale(team_id, user_id)):
        deps.locales.hold(team_id, user_id, found)
    return found


def case_status(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """Only the case's parties and the mediators see it."""
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        if case.role_of(user_id) is None and not deps.roster.is_mediator(team_id, user_id):
            raise NotYourCase(case.id, "client or freelancer")
        return case_view(uow, case, deps.clock(), deps.policy)


def open_cases(deps: Deps, team_id: str, user_id: str, limit: int) -> tuple[list[CaseView], int]:
    """`/refund list`: up to ``limit`` of this person's open cases, what waits for their answer first and each
    part by deadline, and how many they have in all. Bounded by ``limit``, not by how many cases there are."""
    now = deps.clock()
    with deps.uow() as uow:
        waiting = uow.cases.most_urgent_for_user(team_id, user_id, waiting=True, limit=limit)
        others = uow.cases.most_urgent_for_user(team_id, user_id, waiting=False, limit=limit - len(waiting))
        total = sum(uow.cases.count_open_for_user(team_id, user_id))
        return [case_view(uow, case, now, deps.policy) for case in [*waiting, *others]], total


def own_record(deps: Deps, team_id: str, user_id: str) -> dict[str, Any]:
    """`/refund history`: what mediators see of this person, as client and as freelancer, across all their cases,
    flagged by the current policy; for their own eyes (the command's answer reaches them alone)."""
    with deps.uow() as uow:
        people = (("client", user_id), ("freelancer", user_id))
        return records_of(uow, team_id, people, "", deps.clock(), deps.policy)


def checked_view(deps: Deps, team_id: str, case_id: str, check: Callable[[Case, datetime], object]) -> CaseView:
    """The case behind a button that opens a form, refused before the form opens when ``check`` says this
    person may not use it now (stale, not theirs, too late)."""
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        check(case, now)
        return case_view(uow, case, now, policy_for(uow, case.policy_version, deps.policy))


def ask_again_form(deps: Deps, team_id: str, user_id: str, case_id: str) -> AskAgainForm:
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        case.ensure_client_may_ask_again(user_id, now)
        contract = uow.contracts.get(team_id, case.contract_id)
        item = uow.contracts.item(team_id, case.contract_id, case.item)
        if contract is None or item is None:
            raise CaseNotFound(case_id)
        policy = policy_for(uow, case.policy_version, deps.policy)
        route = route_after_request(contract.kind, item, now, policy)
        refunded = uow.ledger.refunded_on_item(team_id, case.contract_id, case.item, case.currency)
        return AskAgainForm(
            case=case_view(uow, case, now, policy, contract),
            route=route.kind,
            until=route.until,
            review_opens_at=route.review.opens_at if route.review else None,
            review_closes_at=route.review.closes_at if route.review else None,
            mediation_closes_at=route.mediation.closes_at if route.mediation else None,
            week_minutes=item.minutes if isinstance(item, Timesheet) else None,
            balance_minor=refundable_balance(item.paid, refunded, Money.zero(case.currency)).minor,
        )


def show_home(deps: Deps, team_id: str, user_id: str, opened_at: str) -> None:
    """Publish this person's App Home (through the outbox: views.publish is no call for the ack path): for a
    mediator, the desk; for anyone else, the most urgent of what waits for their answer and of their other
    cases, and how many more there are. Its work is bounded by what is shown, however many cases there are."""
    if at_desk(deps, team_id, user_id):
        show_desk(deps, team_id, user_id, DeskFilters(), {}, opened_at)
        return
    now = deps.clock()
    with deps.uow() as uow:
        shown = [
            [
                case_view(uow, case, now, policy_for(uow, case.policy_version, deps.policy))
                for case in uow.cases.most_urgent_for_user(team_id, user_id, waiting=waiting, limit=HOME_SHOWN)
            ]
            for waiting in (True, False)
        ]
        counts = uow.cases.count_open_for_user(team_id, user_id)
        more = sum(count - len(part) for count, part in zip(counts, shown, strict=True))
        uow.outbox.add(team_id, notify.home_tab(user_id, shown[0], shown[1], more, opened_at), now)
        uow.commit()
    deps.delivered()


def at_desk(deps: Deps, team_id: str, user_id: str) -> bool:
    """Mediators and their leads see the desk as their App Home."""
    return deps.roster.is_mediator(team_id, user_id) or deps.roster.is_lead(team_id, user_id)


def show_desk(
    deps: Deps,
    team_id: str,
    user_id: str,
    filters: DeskFilters,
    pages: dict[str, int],
    key: str,
    notice: Refused | None = None,
) -> None:
    """Publish a mediator's desk: a page of each part (unclaimed, theirs, the rest) under these filters, how many
    each has, and ``notice`` (why their last click on it changed nothing). A page past the end (cases moved on
    meanwhile) shows the last one. Four statements, however many cases the workspace has."""
    now = deps.clock()
    with deps.uow() as uow:
        counts = uow.cases.desk_counts(team_id, user_id, filters, now)
        sections = {}
        for name in DESK_SECTIONS:
            last = max(counts[name] - 1, 0) // DESK_PAGE * DESK_PAGE
            offset = min(max(pages.get(name, 0), 0) // DESK_PAGE * DESK_PAGE, last)
            rows = uow.cases.desk(team_id, user_id, name, filters, now, offset, DESK_PAGE)
            sections[name] = DeskPart(offset, counts[name], rows)
        desk = DeskShown(user_id, now, filters, sections, notice, deps.roster.is_lead(team_id, user_id))
        uow.outbox.add(team_id, notify.desk_tab(desk, key), now)
        uow.commit()
    deps.delivered()
