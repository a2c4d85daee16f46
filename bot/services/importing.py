"""Import contracts, milestones and timesheets from the marketplace (design §4, README "Import format").

Validation happens in full before anything is written; the whole file then goes in one transaction, so a bad
row leaves the database exactly as it was. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from bot.domain.contract import (
    Contract,
    ContractKind,
    ContractStatus,
    Item,
    Milestone,
    MilestoneStatus,
    Timesheet,
)
from bot.domain.errors import Refused
from bot.domain.money import Money, exponent
from bot.domain.policy import Policy
from bot.services.ports import UnitOfWork

Path_ = tuple[str | int, ...]


def _slack_user(value: str) -> str:
    if not re.fullmatch(r"[UW][A-Z0-9]{2,31}", value):
        raise ValueError(f"{value!r} is not a Slack user id (they look like U0123ABCD)")
    return value


SlackUser = Annotated[str, AfterValidator(_slack_user)]


def _amount_text(value: Any) -> Any:
    """Amounts stay text until the contract's currency says how many decimals they may have."""
    return str(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else value


Amount = Annotated[str, BeforeValidator(_amount_text)]
MINUTES_IN_A_WEEK = 7 * 24 * 60


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MilestoneIn(_Row):
    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    amount: Amount
    status: MilestoneStatus
    funded_at: AwareDatetime | None = None
    submitted_at: AwareDatetime | None = None
    released_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _released(self) -> MilestoneIn:
        if self.status is MilestoneStatus.RELEASED and self.released_at is None:
            raise ValueError("a released milestone needs released_at")
        if self.status is not MilestoneStatus.RELEASED and self.released_at is not None:
            raise ValueError(f"released_at is set but status is {self.status.value}")
        return self


class TimesheetIn(_Row):
    week: date
    minutes: int = Field(ge=0, le=MINUTES_IN_A_WEEK)
    amount: Amount
    billed_at: AwareDatetime | None = None
    paid_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _monday(self) -> TimesheetIn:
        if self.week.weekday() != 0:
            raise ValueError(f"week must be the Monday that starts it; {self.week} is a {self.week:%A}")
        return self


class ContractIn(_Row):
    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    kind: ContractKind
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    hourly_rate: Amount | None = None
    client: SlackUser
    freelancer: SlackUser
    status: ContractStatus = ContractStatus.ACTIVE
    milestones: list[MilestoneIn] = []
    timesheets: list[TimesheetIn] = []

    @model_validator(mode="after")
    def _shape(self) -> ContractIn:
        if self.client == self.freelancer:
            raise ValueError("client and freelancer must be different people")
        if self.kind is ContractKind.HOURLY and (self.milestones or self.hourly_rate is None):
            raise ValueError("an hourly contract has an hourly_rate and timesheets, not milestones")
        if self.kind is ContractKind.FIXED_PRICE and (self.timesheets or self.hourly_rate is not None):
            raise ValueError("a fixed_price contract has milestones, not timesheets or an hourly_rate")
        return self


class ImportFile(_Row):
    team_id: str = Field(pattern=r"^[TE][A-Z0-9]{2,31}$", description="Slack workspace (team) id")
    contracts: list[ContractIn]
    # Where each contract is in its document ("demo.yaml line 12: contract C-100", "$.contracts[3]"), for
    # what only the database can find wrong with it.
    _places: dict[str, str] = PrivateAttr(default_factory=dict)

    def located(self, places: dict[str, str]) -> ImportFile:
        self._places = places
        return self

    def place(self, contract_id: str) -> str:
        return self._places.get(contract_id) or f"contract {contract_id}"


Said = str | Refused
"""What is wrong at a place: a message, or a refusal (an amount, a currency) that the edge words as it words
refusals, since the blocks are the only place that words them."""


class ImportRejected(Exception):
    """Every problem of a file, each naming where it is; nothing of the file was applied."""

    def __init__(self, found: list[tuple[str, Said]]) -> None:
        super().__init__(f"{len(found)} problem(s)")
        self.found = found

    def problems(self, word: Callable[[Refused], str]) -> list[str]:
        """Each problem in one line: its place, then what is wrong, refusals worded by ``word``."""
        return [place + (said if isinstance(said, str) else word(said)) for place, said in self.found]


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: {"contracts": 0, "items": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"contracts": 0, "items": 0})
    unchanged: dict[str, int] = field(default_factory=lambda: {"contracts": 0, "items": 0})

    def __str__(self) -> str:
        def part(counts: dict[str, int]) -> str:
            return f"{counts['contracts']} contracts, {counts['items']} items"

        return f"created {part(self.created)}; updated {part(self.updated)}; unchanged {part(self.unchanged)}"


# --- reading the file -----------------------------------------------------------------------------------


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML with decimals kept exact: 19.99 stays Decimal("19.99"), never a float. libyaml's parser where PyYAML has
    it (a marketplace's file may hold thousands of contracts), its nodes marked with their lines as the pure one's."""


_Loader.add_constructor(
    "tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node).replace("_", ""))
)


def _yaml_lines(node: yaml.Node, path: Path_ = ()) -> Iterator[tuple[Path_, int]]:
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _yaml_lines(value, (*path, str(key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            yield from _yaml_lines(value, (*path, index))


def read_import_file(path: Path, adapt: Callable[[Any], Any] | None = None) -> ImportFile:
    """Parse and validate a YAML or JSON file, or raise ImportRejected listing every problem with its place.

    ``adapt`` may rewrite the parsed data before validation (the demo set, moved to this week).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRejected([(f"{path}: ", f"cannot read it ({exc})")]) from None
    lines: dict[Path_, int] = {}
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text, parse_float=Decimal)
        else:
            loader = _Loader(text)  # a safe loader: no arbitrary objects
            try:
                node = loader.get_single_node()  # read once: the data, and each node's line for the messages
                data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
            lines = dict(_yaml_lines(node)) if node is not None else {}
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ImportRejected([(f"{path}: ", f"not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {exc}")]) from None
    if adapt is not None:
        data = adapt(data)
    parsed, found = _problems(data)
    if found:
        found.sort(key=lambda problem: _line(lines, problem[0]))  # in the file's order
        raise ImportRejected([(_where(path, data, lines, where), said) for where, said in found])
    assert parsed is not None  # a file without problems validated
    places = {row.id: _where(path, data, lines, ("contracts", c)) for c, row in enumerate(parsed.contracts)}
    return parsed.located({key: place.removesuffix(": ") for key, place in places.items()})


def read_document(data: Any) -> ImportFile:
    """A document pushed to the API, its JSON already read: as a file is checked, each problem named by its
    JSON path (``$.contracts[1].client: …``)."""
    parsed, found = _problems(data)
    if found:
        found.sort(key=lambda problem: _contract_index(problem[0]))  # contract by contract, as they come
        raise ImportRejected([(f"{json_path(where)}: ", said) for where, said in found])
    assert parsed is not None
    return parsed.located({row.id: json_path(("contracts", c)) for c, row in enumerate(parsed.contracts)})


def _contract_index(loc: Path_) -> int:
    return loc[1] if len(loc) > 1 and loc[0] == "contracts" and isinstance(loc[1], int) else -1


def json_path(loc: Path_) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _problems(data: Any) -> tuple[ImportFile | None, list[tuple[Path_, Said]]]:
    """Every problem at once: the document's shape, then the amounts and duplicates, read from the rows as
    written so that a contract with another fault has its amounts checked too: three mistakes take one round."""
    found: list[tuple[Path_, Said]] = []
    try:
        parsed = ImportFile.model_validate(data)
    except ValidationError as exc:
        parsed = None
        found = [(tuple(err["loc"]), _message(err)) for err in exc.errors()]
    flagged = {loc for loc, _ in found}
    found += [(loc, message) for loc, message in _amount_problems(data) if loc not in flagged]
    return parsed, found


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "timezone_aware":
        message = "needs a time zone, e.g. 2026-11-02T10:00:00Z"
    return message


def _line(lines: dict[Path_, int], loc: Path_) -> int:
    """The line of the nearest node of ``loc`` that the file has (0 in JSON, which keeps no lines)."""
    return next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 0)


def _where(path: Path, data: Any, lines: dict[Path_, int], loc: Path_) -> str:
    """'demo.yaml line 12: contract C-100, milestones[1].amount: ' — the row by its id, the field by name."""
    line = _line(lines, loc)
    place = f"{path.name} line {line}" if line else path.name
    if len(loc) >= 2 and loc[0] == "contracts" and isinstance(loc[1], int):
        try:
            contract_id = data["contracts"][loc[1]]["id"]
        except (KeyError, IndexError, TypeError):
            contract_id = f"#{loc[1] + 1}"
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[2:]).lstrip(".")
        return f"{place}: contract {contract_id}{', ' + rest if rest else ''}: "
    return f"{place}: {'.'.join(map(str, loc)) or 'file'}: "


def _rows(node: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    rows = node.get(key) if isinstance(node, dict) else None
    return [(n, row) for n, row in enumerate(rows) if isinstance(row, dict)] if isinstance(rows, list) else []


def _amount_problems(data: Any) -> Iterator[tuple[Path_, Said]]:
    """Amounts in their contract's currency, and ids given twice, from the rows as written."""
    for c, contract in _rows(data, "contracts"):
        currency = contract.get("currency")
        if isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency):
            try:
                exponent(currency)
            except Refused as exc:
                yield ("contracts", c, "currency"), exc
                currency = None
        else:
            currency = None  # the shape's own check says what is wrong with it
        here: Path_ = ("contracts", c)
        amounts: list[tuple[Path_, Any]] = [((*here, "hourly_rate"), contract.get("hourly_rate"))]
        amounts += [((*here, "milestones", m, "amount"), row.get("amount")) for m, row in _rows(contract, "milestones")]
        amounts += [((*here, "timesheets", t, "amount"), row.get("amount")) for t, row in _rows(contract, "timesheets")]
        for where, amount in amounts:
            text = _amount_text(amount)
            if currency is None or not isinstance(text, str):
                continue
            try:
                money = Money.parse(text, currency)
            except Refused as exc:
                yield where, exc
                continue
            if money.minor < 0:
                yield where, "cannot be negative"
        yield from _duplicates(c, "milestones", [row.get("id") for _, row in _rows(contract, "milestones")])
        yield from _duplicates(c, "timesheets", [str(row.get("week")) for _, row in _rows(contract, "timesheets")])
    seen: set[str] = set()
    for c, contract in _rows(data, "contracts"):
        key = contract.get("id")
        if isinstance(key, str | int) and not isinstance(key, bool):
            if str(key) in seen:
                yield ("contracts", c, "id"), f"contract {key} appears twice in this file"
            seen.add(str(key))


def _duplicates(c: int, rows: str, keys: list[object]) -> Iterator[tuple[Path_, str]]:
    seen: set[object] = set()
    for index, key in enumerate(keys):
        if key in seen:
            yield ("contracts", c, rows, index), f"{key} appears twice in this contract"
        seen.add(key)


# The demo data set, shipped in the package: `refundbot demo` loads it for real people, the sandbox for its own.
DEMO = Path(__file__).resolve().parents[1] / "demo.yaml"
DEMO_WEEK = date(2026, 11, 23)  # the week it was written for


def demo_for(team_id: str, client: str, freelancer: str, today: date) -> Callable[[Any], Any]:
    """The demo set for a real workspace: its people in place of the demo's, its dates moved by whole weeks so
    that every item stands in and out of its windows this week as it did in the week it was written for."""
    weeks = timedelta(weeks=(today - timedelta(days=today.weekday()) - DEMO_WEEK).days // 7)
    people = {"U0CLIENT01": client, "U0CLIENT02": client, "U0FREELA01": freelancer, "U0FREELA02": freelancer}

    def move(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: move(value) for key, value in node.items()}
        if isinstance(node, list):
            return [move(value) for value in node]
        if isinstance(node, date):  # datetimes too: a datetime is a date
            return node + weeks
        return people.get(node, node) if isinstance(node, str) else node

    def adapt(data: Any) -> Any:
        moved = move(data)
        if isinstance(moved, dict):
            moved["team_id"] = team_id
        return moved

    return adapt


# --- applying it ----------------------------------------------------------------------------------------


def _contract(team_id: str, row: ContractIn, policy_version: str) -> Contract:
    rate = Money.parse(row.hourly_rate, row.currency) if row.hourly_rate is not None else None
    return Contract(
        team_id=team_id,
        id=row.id,
        title=row.title,
        kind=row.kind,
        currency=row.currency,
        client_id=row.client,
        freelancer_id=row.freelancer,
        hourly_rate=rate,
        status=row.status,
        policy_version=policy_version,
    )


def _items(row: ContractIn) -> list[Item]:
    def money(amount: Amount) -> Money:
        return Money.parse(amount, row.currency)

    milestones: list[Item] = [
        Milestone(row.id, m.id, m.title, money(m.amount), m.status, m.funded_at, m.submitted_at, m.released_at)
        for m in row.milestones
    ]
    timesheets: list[Item] = [
        Timesheet(row.id, t.week, t.minutes, money(t.amount), t.billed_at, t.paid_at) for t in row.timesheets
    ]
    return milestones + timesheets


def import_contracts(file: ImportFile, uow: UnitOfWork, now: datetime, policy: Policy) -> ImportReport:
    """Upsert every contract and item of the file, or nothing at all.

    Refused, with the numbers: changing a contract's kind or currency once imported, and lowering what an
    item paid below what its cases have refunded or still hold — that money is already spoken for.
    """
    report = ImportReport()
    problems: list[str] = []
    with uow:
        for row in file.contracts:
            existing = uow.contracts.get(file.team_id, row.id)
            contract = _contract(file.team_id, row, existing.policy_version if existing else policy.version)
            if existing and (existing.kind, existing.currency) != (contract.kind, contract.currency):
                problems.append(
                    f"{file.place(row.id)}: kind and currency cannot change once imported "
                    f"(stored: {existing.kind.value} in {existing.currency})"
                )
                continue
            _count(report, "contracts", existing, contract)
            uow.contracts.save(contract, now)
            for item in _items(row):
                stored = uow.contracts.item(file.team_id, row.id, item.ref)
                if stored is not None and stored != item:
                    spoken_for = uow.ledger.refunded_on_item(
                        file.team_id, row.id, item.ref, row.currency
                    ) + uow.cases.held_on_item(file.team_id, row.id, item.ref, row.currency)
                    if item.paid < spoken_for:
                        problems.append(
                            f"{file.place(row.id)}, {item.label}: paid would become {item.paid}, less than the "
                            f"{spoken_for} already refunded or held by its cases"
                        )
                        continue
                _count(report, "items", stored, item)
                uow.contracts.save_item(file.team_id, item)
        if problems:
            raise ImportRejected([("", problem) for problem in problems])
        uow.commit()
    return report


def _count(report: ImportReport, what: str, before: object | None, after: object) -> None:
    bucket = report.created if before is None else report.updated if before != after else report.unchanged
    bucket[what] += 1
