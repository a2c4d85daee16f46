"""Files as evidence (design §3): what Slack says of a file a party attached, checked against the policy before
anyone reads it; what a read of its content must show; and what is kept of it once read, its SHA-256 above all,
which every later read is compared with, so a file changed or removed in Slack afterwards is noticed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.errors import (
    FileEmpty,
    FileNotYours,
    FileTooLarge,
    FileTypeRefused,
    InvalidInput,
    TooManyFiles,
)

# Slack's own limit on a file attached through a modal's file_input, and the most files it takes at once.
SLACK_FILE_INPUT_BYTES = 10 * 1024 * 1024
SLACK_FILE_INPUT_FILES = 10
# What starts a program whatever its name says: Windows (MZ), Linux (ELF), macOS (Mach-O, 32/64-bit, both byte
# orders, and universal binaries), Java classes, and scripts (#!).
_PROGRAMS = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)
HEAD_BYTES = 8  # what ``is_program`` needs of a file's start


@dataclass(frozen=True)
class FileRules:
    """What a policy accepts as a file: its types by extension (an allow-list: executables and scripts are never
    on it), its size, and how many files one piece of evidence carries."""

    types: tuple[str, ...]
    max_bytes: int = SLACK_FILE_INPUT_BYTES
    max_files: int = SLACK_FILE_INPUT_FILES

    def accepts(self, name: str) -> bool:
        return extension(name) in self.types


@dataclass(frozen=True)
class FileClaim:
    """A file as Slack's payload describes it, before the app has read a byte of it: nothing here is trusted
    until ``files.info`` and a download confirm it."""

    file_id: str
    name: str
    size: int
    mimetype: str
    owner: str  # who put it in Slack
    team: str
    shared_in: str | None = None  # the conversation it was shared in, when taken from a message there


@dataclass(frozen=True)
class EvidenceFile:
    """A file as kept in a piece of evidence, frozen like the rest of it: read once with the bot token, and
    hashed."""

    file_id: str
    name: str
    mimetype: str
    size: int
    sha256: str
    owner: str


def extension(name: str) -> str:
    stem, dot, ext = name.strip().rpartition(".")
    return ext.lower() if dot and stem else ""


def is_program(head: bytes) -> bool:
    """Whether a file's first bytes are those of a program or a script, whatever its name says."""
    return head.startswith(_PROGRAMS)


def claim_problems(
    claims: Sequence[FileClaim], rules: FileRules, *, owners: frozenset[str], team: str
) -> list[InvalidInput]:
    """What the payload alone shows to be wrong with the files attached, before any is read: too many, not put in
    Slack by one of ``owners`` (a form's: its sender; a case thread's: either party) or of another workspace (a
    forged id), empty, too large, or of a type the policy does not take."""
    if len(claims) > rules.max_files:
        return [TooManyFiles(len(claims), rules.max_files)]
    found: list[InvalidInput] = []
    for claim in claims:
        if claim.owner not in owners or claim.team != team:
            found.append(FileNotYours(claim.name))
        elif claim.size <= 0:
            found.append(FileEmpty(claim.name))
        elif claim.size > rules.max_bytes:
            found.append(FileTooLarge(claim.name, claim.size, rules.max_bytes))
        elif not rules.accepts(claim.name):
            found.append(FileTypeRefused(claim.name, extension(claim.name), list(rules.types)))
    return found


def content_problem(claim: FileClaim, head: bytes, size: int, rules: FileRules) -> InvalidInput | None:
    """What a read of the file shows to be wrong that its description hid: empty or too large after all, or a
    program under another name."""
    if size <= 0:
        return FileEmpty(claim.name)
    if size > rules.max_bytes:
        return FileTooLarge(claim.name, size, rules.max_bytes)
    if is_program(head):
        return FileTypeRefused(claim.name, extension(claim.name), [])
    return None
