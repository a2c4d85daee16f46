"""Modals: the /refund form (contract → item → amount → reason) and the freelancer's Adjust and Decline forms."""

from __future__ import annotations

import json
from decimal import Decimal

from babel.numbers import format_percent

from bot.blocks import ids, kit
from bot.blocks.format import DEFAULT_LOCALE, IN_THE_THREAD, duration, escape, money, number, person, quote, trim, when
from bot.blocks.kit import Block, View
from bot.domain.money import Money, exponent
from bot.services.models import CaseView, RefundForm, Unavailable

OPTION_TEXT = 75  # Slack's limit for an option's text
SLACK_TEXT_INPUT = 3000  # the most a plain_text_input's max_length may be


def amount_input(
    currency: str,
    low: Money,
    high: Money,
    label: str,
    hint: str,
    *,
    optional: bool = False,
    initial: Money | None = None,
) -> Block:
    """A number_input from ``low`` to ``high`` with the currency's decimals; Slack checks the range, the server
    checks it again."""
    return kit.input_block(
        ids.AMOUNT_BLOCK,
        label,
        kit.number_field(
            ids.AMOUNT_INPUT,
            decimals=exponent(currency) > 0,
            min_value=str(low.amount),
            max_value=str(high.amount),
            initial=str(initial.amount) if initial is not None else None,
        ),
        hint=hint,
        optional=optional,
    )


def _amount_input(currency: str, most: Money, label: str, hint: str, *, below: bool = False) -> Block:
    """One minor unit up to ``most`` (or just below it)."""
    highest = most.minor - 1 if below else most.minor
    return amount_input(currency, Money(1, currency), Money(max(highest, 1), currency), label, hint)


def text_input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    limit: int,
    optional: bool = False,
    hint: str | None = None,
    multiline: bool = True,
    locale: str = DEFAULT_LOCALE,
    initial: str | None = None,
) -> Block:
    """A text field as long as the policy allows (what it allows is checked again on submission), the limit said
    before anything is typed: Slack cuts a longer paste at ``max_length`` without a word."""
    most = f"Up to {number(limit, locale)} characters."
    return kit.input_block(
        block_id,
        label,
        kit.text_field(action_id, multiline=multiline, max_length=limit, initial=initial[:limit] if initial else None),
        optional=optional,
        hint=f"{hint} {most}" if hint else most,
    )


def option_text(text: str) -> str:
    return trim(text, OPTION_TEXT, "…")


def _unavailable(item: Unavailable) -> str:
    """Why an item of the contract is not offered (design §2.2: paid, recent enough, no open case, a balance)."""
    match item.why:
        case "unpaid":
            why = "not paid yet"
        case "too_old" if item.paid_at and item.limit:
            why = f"paid on {when(item.paid_at, '{date_short}')}, more than {duration(item.limit)} ago"
        case "open_case":
            why = f"case {escape(item.case_id or '')} is open"
        case _:
            why = "already refunded in full"
    return f"• {escape(trim(item.label, 200, '…'))}: {why}"


def _items(form: RefundForm, currency: str, locale: str) -> list[Block]:
    """The chosen contract's items that can be refunded now, and why the others cannot."""
    blocks: list[Block] = []
    if form.items:
        options = [
            kit.option(c.key, option_text(f"{c.label} · {money(Money(c.balance_minor, currency), locale)} refundable"))
            for c in form.items[:100]
        ]
        chosen_item = next((o for o in options if o["value"] == form.item_key), None)
        blocks.append(
            kit.input_block(
                ids.ITEM_BLOCK,
                "Item",
                kit.static_select(ids.ITEM_PICKED, "Choose a milestone or week", options, chosen_item),
                dispatch_action=True,
            )
        )
    else:
        blocks.append(kit.section("*No item of this contract can be refunded now.*"))
    if form.unavailable:
        notes = "\n".join(_unavailable(item) for item in form.unavailable[:10])
        blocks.append(kit.context(trim(f"Not listed:\n{notes}", 2000, "…")))
    return blocks


def refund_modal(form: RefundForm, locale: str = DEFAULT_LOCALE) -> View:
    """Design §3: contract → item (follows the contract) → amount (max: the refundable balance) → reason."""
    contract_options = [kit.option(cid, option_text(f"{title} ({cid})")) for cid, title in form.contracts[:100]]
    chosen_contract = next((o for o in contract_options if o["value"] == form.contract_id), None)
    blocks: list[Block] = [
        kit.input_block(
            ids.CONTRACT_BLOCK,
            "Contract",
            kit.static_select(ids.CONTRACT_PICKED, "Choose a contract", contract_options, chosen_contract),
            dispatch_action=True,
        )
    ]
    if form.contract_id and form.currency:
        blocks += _items(form, form.currency, locale)
    if (choice := form.item) and form.currency:
        balance = Money(choice.balance_minor, form.currency)
        paid = Money(choice.paid_minor, form.currency)
        blocks += [
            _amount_input(
                form.currency,
                balance,
                f"Amount ({form.currency})",
                f"Up to {money(balance, locale)}: what is left of the {money(paid, locale)} paid after earlier "
                "refunds.",
            ),
            text_input(
                ids.REASON_BLOCK,
                ids.REASON_INPUT,
                "Reason",
                limit=form.reason_limit,
                hint="What went wrong? The freelancer sees this, and a mediator would too.",
                locale=locale,
            ),
        ]
    return kit.modal(
        "Request a refund",
        blocks,
        callback_id=ids.REFUND_MODAL,
        submit="Send request",
        close="Cancel",
        private_metadata=json.dumps({"contract": form.contract_id, "item": form.item_key}),
    )


def _what_was_asked(case: CaseView, locale: str) -> Block:
    asked = money(case.money(case.requested_minor), locale)
    reason = quote(case.reason, 600, IN_THE_THREAD)
    return kit.section(f"{person(case.client_id)} asked for {asked} on *{escape(case.item_label)}*.\n{reason}")


def adjust_modal(case: CaseView, locale: str = DEFAULT_LOCALE) -> View:
    """Refund a smaller amount now, with an optional note (design §2.2, freelancer actions)."""
    requested = case.money(case.requested_minor)
    label = f"Refund amount ({case.currency})"
    if case.adjust_max_minor is not None and case.adjust_max_minor < case.requested_minor:
        most = case.money(case.adjust_max_minor)
        share = format_percent(Decimal(case.terms.adjust_max_share or 0), locale=locale)
        paid = money(case.money(case.paid_minor), locale)
        hint = f"Refunded now: at most {money(most, locale)}, {share} of the {paid} paid (the marketplace's rule)."
        amount = _amount_input(case.currency, most, label, hint)
    else:
        hint = f"Refunded now: less than the {money(requested, locale)} asked; to refund it all, use Approve."
        amount = _amount_input(case.currency, requested, label, hint, below=True)
    return kit.modal(
        "Adjust the refund",
        [
            _what_was_asked(case, locale),
            amount,
            text_input(
                ids.NOTE_BLOCK,
                ids.NOTE_INPUT,
                "Note to the client",
                limit=case.terms.reason_max_length,
                optional=True,
                locale=locale,
            ),
        ],
        callback_id=ids.ADJUST_MODAL,
        submit="Refund this amount",
        close="Back",
        private_metadata=case.id,
    )


def decline_modal(case: CaseView, locale: str = DEFAULT_LOCALE) -> View:
    return kit.modal(
        "Decline the request",
        [
            _what_was_asked(case, locale),
            text_input(
                ids.REASON_BLOCK,
                ids.REASON_INPUT,
                "Why are you declining?",
                limit=case.terms.reason_max_length,
                hint="The client sees this, and a mediator would too.",
                locale=locale,
            ),
        ],
        callback_id=ids.DECLINE_MODAL,
        submit="Decline",
        close="Back",
        private_metadata=case.id,
    )


def no_contracts_modal() -> View:
    return kit.modal(
        "Request a refund",
        [
            kit.section(
                "You have no contracts as a client in this workspace, so there is nothing to refund yet. "
                "If you expected one, ask your marketplace's support to check that it was imported."
            )
        ],
        close="Close",
    )
