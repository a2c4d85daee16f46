"""The copies of Slack's schemas and checkers the tests rely on are the ones vendor/README.md names, unchanged."""

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "vendor"


def test_each_vendored_file_is_the_copy_its_readme_names_and_nothing_else_is_there():
    listed = dict(
        (path, digest)
        for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", (VENDOR / "README.md").read_text(), re.M)
    )
    found = {
        str(path.relative_to(VENDOR)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name != "README.md" and "__pycache__" not in path.parts
    }
    assert found == listed
