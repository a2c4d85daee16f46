"""Modals: the /refund form (contract → item → amount → reason) and the freelancer's Adjust and Decline forms."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import ids
from bot.blocks.format import duration, escape, money, person, quote, trim, when
from bot.domain.money import Money, exponent
from bot.services.models import CaseView, RefundForm, Unavailable

OPTION_TEXT = 75  # Slack's limit for an option's text
SLACK_TEXT_INPUT = 3000  # the most a plain_text_input's max_length may be


def _amount_input(currency: str, most: Money, label: str, hint: str, *, below: bool = False) -> InputBlock:
    """A number_input with the currency's decimals; Slack checks the range, the server checks it again."""
    places = exponent(currency)
    one_unit = Money(1, currency)
    highest = most.minor - 1 if below else most.minor
    return InputBlock(
        block_id=ids.AMOUNT_BLOCK,
        label=label,
        hint=hint,
        element=NumberInputElement(
            action_id=ids.AMOUNT_INPUT,
            is_decimal_allowed=places > 0,
            min_value=str(one_unit.amount),
            max_value=str(Money(max(highest, 1), currency).amount),
        ),
    )


def text_input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    limit: int,
    optional: bool = False,
    hint: str | None = None,
    multiline: bool = True,
) -> InputBlock:
    """A text field as long as the policy allows (what it allows is checked again on submission)."""
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(action_id=action_id, multiline=multiline, max_length=limit),
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


def refund_modal(form: RefundForm) -> View:
    """Design §3: contract → item (follows the contract) → amount (max: the refundable balance) → reason."""
    contract_options = [Option(value=cid, text=option_text(f"{title} ({cid})")) for cid, title in form.contracts[:100]]
    chosen_contract = next((o for o in contract_options if o.value == form.contract_id), None)
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.CONTRACT_BLOCK,
            label="Contract",
            dispatch_action=True,
            element=StaticSelectElement(
                action_id=ids.CONTRACT_PICKED,
                placeholder="Choose a contract",
                options=contract_options,
                initial_option=chosen_contract,
            ),
        )
    ]
    if form.contract_id and form.currency:
        if form.items:
            options = [
                Option(
                    value=c.key,
                    text=option_text(f"{c.label} · {money(Money(c.balance_minor, form.currency))} refundable"),
                )
                for c in form.items[:100]
            ]
            blocks.append(
                InputBlock(
                    block_id=ids.ITEM_BLOCK,
                    label="Item",
                    dispatch_action=True,
                    element=StaticSelectElement(
                        action_id=ids.ITEM_PICKED,
                        placeholder="Choose a milestone or week",
                        options=options,
                        initial_option=next((o for o in options if o.value == form.item_key), None),
                    ),
                )
            )
        else:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="*No item of this contract can be refunded now.*")))
        if form.unavailable:
            notes = "\n".join(_unavailable(item) for item in form.unavailable[:10])
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=trim(f"Not listed:\n{notes}", 2000, "…"))]))
    if (choice := form.item) and form.currency:
        balance = Money(choice.balance_minor, form.currency)
        paid = Money(choice.paid_minor, form.currency)
        blocks += [
            _amount_input(
                form.currency,
                balance,
                f"Amount ({form.currency})",
                f"Up to {money(balance)}: what is left of the {money(paid)} paid after earlier refunds.",
            ),
            text_input(
                ids.REASON_BLOCK,
                ids.REASON_INPUT,
                "Reason",
                limit=form.reason_limit,
                hint="What went wrong? The freelancer sees this, and a mediator would too.",
            ),
        ]
    return View(
        type="modal",
        callback_id=ids.REFUND_MODAL,
        title="Request a refund",
        submit="Send request",
        close="Cancel",
        private_metadata=json.dumps({"contract": form.contract_id, "item": form.item_key}),
        blocks=blocks,
    )


def _what_was_asked(case: CaseView) -> SectionBlock:
    asked = money(case.money(case.requested_minor))
    return SectionBlock(
        text=MarkdownTextObject(
            text=f"{person(case.client_id)} asked for {asked} on *{escape(case.item_label)}*.\n"
            f"{quote(case.reason, 600)}"
        )
    )


def adjust_modal(case: CaseView) -> View:
    """Refund a smaller amount now, with an optional note (design §2.2, freelancer actions)."""
    requested = case.money(case.requested_minor)
    return View(
        type="modal",
        callback_id=ids.ADJUST_MODAL,
        title="Adjust the refund",
        submit="Refund this amount",
        close="Back",
        private_metadata=case.id,
        blocks=[
            _what_was_asked(case),
            _amount_input(
                case.currency,
                requested,
                f"Refund amount ({case.currency})",
                f"Refunded now: less than the {money(requested)} asked; to refund it all, use Approve.",
                below=True,
            ),
            text_input(
                ids.NOTE_BLOCK, ids.NOTE_INPUT, "Note to the client", limit=case.terms.reason_max_length, optional=True
            ),
        ],
    )


def decline_modal(case: CaseView) -> View:
    return View(
        type="modal",
        callback_id=ids.DECLINE_MODAL,
        title="Decline the request",
        submit="Decline",
        close="Back",
        private_metadata=case.id,
        blocks=[
            _what_was_asked(case),
            text_input(
                ids.REASON_BLOCK,
                ids.REASON_INPUT,
                "Why are you declining?",
                limit=case.terms.reason_max_length,
                hint="The client sees this, and a mediator would too.",
            ),
        ],
    )


def no_contracts_modal() -> View:
    return View(
        type="modal",
        title="Request a refund",
        close="Close",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text="You have no contracts as a client in this workspace, so there is nothing to refund yet. "
                    "If you expected one, ask your marketplace's support to check that it was imported."
                )
            )
        ],
    )
