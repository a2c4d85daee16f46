"""Files as evidence, before and after they are read (bot.domain.files): what the payload alone shows, and what the
bytes show that a name hides."""

import pytest

from bot.domain import errors
from bot.domain.files import FileClaim, FileRules, claim_problems, content_problem, extension, is_program

RULES = FileRules(("pdf", "png", "zip"), max_bytes=1000, max_files=3)
ME, THEM, TEAM = "U0ME", "U0THEM", "T0001"


def claim(name: str = "brief.pdf", size: int = 10, owner: str = ME, team: str = TEAM) -> FileClaim:
    return FileClaim("F1", name, size, "application/pdf", owner, team)


@pytest.mark.parametrize(
    ("attached", "refused"),
    [
        ([claim()], []),
        ([claim(owner=THEM)], [errors.FileNotYours]),
        ([claim(team="T0OTHER")], [errors.FileNotYours]),
        ([claim(size=0)], [errors.FileEmpty]),
        ([claim(size=1001)], [errors.FileTooLarge]),
        ([claim("setup.exe")], [errors.FileTypeRefused]),
        ([claim("no-extension")], [errors.FileTypeRefused]),
        ([claim(".pdf")], [errors.FileTypeRefused]),  # a dot file is a name, not a type
        ([claim("Brief.PDF")], []),
        ([claim("a.pdf"), claim("b.exe"), claim("c.pdf", size=0)], [errors.FileTypeRefused, errors.FileEmpty]),
        ([claim()] * 4, [errors.TooManyFiles]),
    ],
)
def test_what_the_payload_alone_shows(attached, refused):
    found = claim_problems(attached, RULES, owners=frozenset({ME}), team=TEAM)
    assert [type(each) for each in found] == refused


def test_a_case_threads_file_may_be_either_partys():
    assert claim_problems([claim(owner=THEM)], RULES, owners=frozenset({ME, THEM}), team=TEAM) == []


@pytest.mark.parametrize(
    "head",
    [b"MZ\x90\x00", b"\x7fELF\x02\x01", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!/bin/sh"],
    ids=["windows", "linux", "macos", "universal-or-java", "script"],
)
def test_a_program_is_known_by_its_first_bytes_whatever_its_name(head):
    assert is_program(head)
    assert isinstance(content_problem(claim("report.pdf"), head, 10, RULES), errors.FileTypeRefused)


def test_what_the_bytes_show_that_the_description_hid():
    assert content_problem(claim(size=10), b"%PDF-1.7", 10, RULES) is None
    assert isinstance(content_problem(claim(size=10), b"", 0, RULES), errors.FileEmpty)
    assert isinstance(content_problem(claim(size=10), b"%PDF-1.7", 1001, RULES), errors.FileTooLarge)
    assert not is_program(b"%PDF-1.7")
    assert (extension("archive.tar.gz"), extension("README"), extension("x.")) == ("gz", "", "")
