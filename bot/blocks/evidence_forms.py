"""The evidence form, with its files, and what it shows while its files are read and once they are: added (each
file named with its SHA-256 fingerprint) or the form again, as it was filled, with what was wrong under the
files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.blocks import ids, kit
from bot.blocks.format import DEFAULT_LOCALE, counted, escape, size, trim
from bot.blocks.kit import Block, View
from bot.blocks.modals import SLACK_TEXT_INPUT, text_input
from bot.blocks.refusals import Voice, sentence
from bot.blocks.stages import file_line
from bot.domain.errors import Refused
from bot.domain.events import Evidence
from bot.domain.vocabulary import LINKS_PER_EVIDENCE, Visibility
from bot.services.models import EvidenceForm, FilesFromMessage

WHO = {
    Visibility.BOTH_SIDES: "Both sides and the mediator",
    Visibility.MEDIATOR_ONLY: "The mediator only",
}


@dataclass(frozen=True)
class Draft:
    """The form as it was submitted, shown again when its files could not be taken (Slack cannot refill a file
    input: the files are attached again)."""

    text: str | None = None
    links: list[str] = field(default_factory=list)
    visibility: Visibility = Visibility.BOTH_SIDES
    refused: Refused | None = None


def evidence_modal(form: EvidenceForm, locale: str = DEFAULT_LOCALE, draft: Draft | None = None) -> View:
    draft, case, rules = draft or Draft(), form.case, form.files
    files_hint = (
        f"Up to {counted(rules.max_files, 'file', 'files', locale)}, {size(rules.max_bytes, locale)} each: "
        f"{', '.join(rules.types)}. Each is read once and fingerprinted (SHA-256), so a later change shows."
    )
    blocks: list[Block] = [
        kit.section(
            trim(f"Evidence for case {case.id} (*{escape(case.item_label)}*). It cannot be changed once added.")
        ),
        text_input(
            ids.EVIDENCE_BLOCK,
            ids.EVIDENCE_INPUT,
            "Description",
            limit=case.terms.reason_max_length,
            optional=True,
            locale=locale,
            initial=draft.text,
        ),
        text_input(
            ids.LINKS_BLOCK,
            ids.LINKS_INPUT,
            "Links",
            optional=True,
            hint=f"One per line: web links or Slack file permalinks. At most {LINKS_PER_EVIDENCE}.",
            limit=SLACK_TEXT_INPUT,
            locale=locale,
            initial="\n".join(draft.links),
        ),
        kit.input_block(
            ids.FILES_BLOCK,
            "Files",
            kit.file_field(ids.FILES_INPUT, filetypes=list(rules.types), max_files=rules.max_files),
            hint=trim(files_hint, 2000, "…"),
            optional=True,
        ),
    ]
    if draft.refused is not None:
        problem = sentence(draft.refused, Voice(False, locale))
        blocks.append(kit.context(trim(f":warning: {problem} Nothing was added.")))
    blocks.append(_who_sees(draft.visibility))
    return kit.modal(
        "Add evidence",
        blocks,
        callback_id=ids.EVIDENCE_MODAL,
        submit="Add",
        close="Back",
        private_metadata=json.dumps({"case": case.id}),
    )


def from_message_modal(
    found: FilesFromMessage, files: list[dict[str, Any]], channel: str, locale: str = DEFAULT_LOCALE
) -> View:
    """Add as evidence: a message's files, for its case thread's case or one the person picks, with a note."""
    listed = "\n".join(
        f"• {escape(trim(str(f['name']), 200, '…'))} ({size(int(f['size'] or 0), locale)})" for f in files
    )
    blocks: list[Block] = [kit.section(trim(f"*Files from the message*\n{listed}"))]
    if found.case is not None:
        blocks.append(
            kit.context(
                trim(f"For case {found.case.id} (*{escape(found.case.item_label)}*). It cannot be changed once added.")
            )
        )
    else:
        options = [kit.option(c.id, trim(f"{c.id} · {c.item_label}", 75, "…")) for c in found.choices]
        picker = kit.static_select(ids.EVIDENCE_CASE_INPUT, "Choose a case", options)
        blocks.append(kit.input_block(ids.EVIDENCE_CASE_BLOCK, "Case", picker))
    limit = found.case.terms.reason_max_length if found.case else found.choices[0].terms.reason_max_length
    blocks += [
        text_input(ids.EVIDENCE_BLOCK, ids.EVIDENCE_INPUT, "Description", limit=limit, optional=True, locale=locale),
        _who_sees(Visibility.BOTH_SIDES),
    ]
    kept = [
        {k: (str(v)[:60] if k in ("name", "mimetype") else v) for k, v in f.items() if k != "shared_in"} for f in files
    ]
    meta = {"case": found.case.id if found.case else None, "in": channel, "files": kept}
    return kit.modal(
        "Add as evidence",
        blocks,
        callback_id=ids.EVIDENCE_FROM_MESSAGE,
        submit="Add",
        close="Back",
        private_metadata=json.dumps(meta),
    )


def _who_sees(initial: Visibility) -> Block:
    options = {seen: kit.option(seen.value, words) for seen, words in WHO.items()}
    return kit.input_block(
        ids.VISIBILITY_BLOCK,
        "Who sees it",
        kit.radio_buttons(ids.VISIBILITY_INPUT, list(options.values()), initial=options[initial]),
    )


def checking_modal(case_id: str, files: int, visibility: Visibility, locale: str = DEFAULT_LOCALE) -> View:
    """The answer to a form with files: they are read now, off the request path."""
    where = (
        "the case thread, where both sides see it"
        if visibility is Visibility.BOTH_SIDES
        else "the mediators' thread, and you get a DM saying so"
    )
    text = (
        f":hourglass_flowing_sand: Checking {counted(files, 'file', 'files', locale)} for case {escape(case_id)}: "
        "refund-bot reads each once and keeps its SHA-256 fingerprint. This takes a few seconds.\n\n"
        f"Once checked, the evidence goes to {where}. If a file cannot be taken, this form says why; "
        "should you have closed it, a DM does."
    )
    return kit.modal("Add evidence", [kit.section(text)], close="Close", callback_id=ids.EVIDENCE_CHECKING)


def added_modal(case_id: str, evidence: Evidence, locale: str = DEFAULT_LOCALE) -> View:
    """The form once its files were read and the piece recorded."""
    lines = [f"*Added to case {case_id} as evidence #{evidence.seq}.* {WHO[evidence.visibility]} can see it."]
    lines += [file_line(each, locale) for each in evidence.files]
    return kit.modal("Evidence added", [kit.section(trim("\n".join(lines)))], close="Done")
