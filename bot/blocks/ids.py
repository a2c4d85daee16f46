"""Every action_id, callback_id and block_id the app uses, in one place; never retyped elsewhere."""

SHORTCUT_REQUEST = "request_refund"

REFUND_MODAL = "refund_modal"
CONTRACT_BLOCK, CONTRACT_PICKED = "contract", "contract_picked"
ITEM_BLOCK, ITEM_PICKED = "item", "item_picked"
AMOUNT_BLOCK, AMOUNT_INPUT = "amount", "amount_input"
REASON_BLOCK, REASON_INPUT = "reason", "reason_input"

APPROVE = "request_approve"
ADJUST = "request_adjust"
DECLINE = "request_decline"
WITHDRAW = "request_withdraw"
REQUEST_ACTIONS = "request_actions"
CLIENT_ACTIONS = "client_actions"

ADJUST_MODAL = "adjust_modal"
DECLINE_MODAL = "decline_modal"
NOTE_BLOCK, NOTE_INPUT = "note", "note_input"
