"""Server CPU per interaction, beside a bare Bolt app that acks the same signed requests (design §7).

Both run as in production (gunicorn with uvicorn workers, one worker each so the figures are per process),
with the Slack stand-in in a process of its own. Each interaction is sent one at a time and the CPU the
server's processes used is read from /proc; for refund-bot the bench waits for the relay to deliver what the
interaction queued, so the relay's work is counted. ``--relay apart`` runs the relay in `refundbot worker`
(with SERVE_WORKERS=false) so the two are reported apart; ``inline`` runs it in the web worker, as the
default deployment does.

    .venv/bin/python -m bench.cpu [--database sqlite|postgresql] [--requests 200] [--relay apart|inline]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.ack import (
    BARE,
    NOW,
    REFUNDBOT,
    ROOT,
    SECRET,
    SERVE,
    ask,
    contracts_file,
    environment,
    fresh_schema,
    wait_for_port,
)
from bench.standin import standin_process
from bot.app.runtime import build_runtime
from bot.config import load_settings
from bot.services.core import Deps
from bot.services.disputes import AskAgain, ask_again, position, respond
from bot.services.importing import import_contracts, read_import_file
from bot.services.mediation import Mediate, mediate
from bot.services.requests import AnswerRequest, answer_request
from bot.services.roster import Desk, Roster
from storage.outbox import PENDING
from storage.tables import OutboxRow
from tests.ports import free_port
from tests.slack_standin import Message, SlackUser

TEAM, CHANNEL = "T0DEMO01", "C0MEDIATORS"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (gunicorn's master and workers)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return 0.0
    return total + sum(cpu_seconds(int(child)) for child in children)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)


@contextmanager
def started(command: list[str], env: dict[str, str], *, port: int | None = None) -> Iterator[Server]:
    full = os.environ | env | {"WEB_CONCURRENCY": "1"} | ({"PORT": str(port)} if port else {})
    process = subprocess.Popen(command, cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if port:
            wait_for_port(port, process, str(command))
        yield Server(f"http://127.0.0.1:{port}/slack/events", process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def client(n: int) -> str:
    return f"U0C{n:06d}"


def mediator(n: int) -> str:
    return f"U0M{n:06d}"


def in_mediation(deps: Deps, first: int, count: int) -> None:
    """Cases claimed by a mediator each, ready for a proposal: asked, declined, taken to the escrow refund
    process, contested, rejected, claimed."""
    for n in range(first, first + count):
        case = ask(deps, n, client(n), "50.00")
        decline = AnswerRequest(team_id=TEAM, user_id="U0FREELA01", case_id=case.id, action="decline", text="no")
        answer_request(deps, decline)
        ask_again(deps, AskAgain(team_id=TEAM, user_id=client(n), case_id=case.id, route="escrow_refund"))
        respond(deps, TEAM, "U0FREELA01", case.id, accept=False, statement="Delivered as briefed.")
        position(deps, TEAM, client(n), case.id, accept=False)
        mediate(deps, Mediate(team_id=TEAM, user_id=mediator(n), case_id=case.id, action="claim"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--relay", choices=["apart", "inline"], default="apart")
    args = parser.parse_args()
    for line in report(run(args.database, args.requests, args.relay), args.database, args.requests, args.relay):
        print(line)


def run(database: str, n: int, relay: str) -> dict[str, Sample]:
    standin, api_url, stop_standin = standin_process()
    folder = Path(tempfile.mkdtemp(prefix="refundbot-bench-"))
    url, drop = f"sqlite:///{folder / 'bench.db'}", lambda: None
    if database == "postgresql":
        url, drop = fresh_schema()
    mediators = ",".join(mediator(k) for k in range(n, 2 * n))
    env = environment(url, api_url) | {"MEDIATOR_CHANNEL_ID": CHANNEL, "MEDIATOR_USER_IDS": mediators}
    settings = load_settings(**{key.lower(): value for key, value in env.items()})
    runtime = build_runtime(settings, NOW)
    import_contracts(read_import_file(contracts_file(folder, 2 * n, client)), runtime.uow(), NOW, runtime.policy)
    roster = Roster(Desk(None, frozenset(settings.mediator_user_ids)))
    deps = Deps(uow=runtime.uow, clock=lambda: NOW, policy=runtime.policy, roster=roster, mediator_channel=CHANNEL)
    in_mediation(deps, n, n)

    def pending() -> int:
        with runtime.sessions() as session:
            return int(session.scalar(select(func.count()).where(OutboxRow.status == PENDING)) or 0)

    try:
        with (
            started(
                SERVE,
                env | {"SERVE_WORKERS": "false" if relay == "apart" else "true"},
                port=(ours_port := free_port()),
            ) as ours,
            started(
                [REFUNDBOT, "worker", "--every", "3600"],
                env,
            )
            if relay == "apart"
            else _nothing() as worker,
            started([*BARE, "-b", f"127.0.0.1:{(bare_port := free_port())}"], env, port=bare_port) as bare,
        ):
            del ours_port
            relayed = worker if worker is not None else None
            results = measure(standin, ours, bare, relayed, n, pending)
    finally:
        stop_standin()
        runtime.engine.dispose()
        drop()
    return results


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


Sample = tuple[float, float, float]  # CPU seconds: refund-bot's web server, its relay (apart), the bare app


def measure(
    standin: Any, ours: Server, bare: Server, worker: Server | None, n: int, pending: Callable[[], int]
) -> dict[str, Sample]:
    clients = [SlackUser(standin, ours.url, SECRET, client(k)) for k in range(n)]
    bare_clients = [SlackUser(standin, bare.url, SECRET, client(k)) for k in range(n)]
    freelancer = SlackUser(standin, ours.url, SECRET, "U0FREELA01")
    bare_freelancer = SlackUser(standin, bare.url, SECRET, "U0FREELA01")
    mediators = [SlackUser(standin, ours.url, SECRET, mediator(k)) for k in range(n, 2 * n)]
    bare_mediators = [SlackUser(standin, bare.url, SECRET, mediator(k)) for k in range(n, 2 * n)]

    def settled() -> None:
        deadline = time.monotonic() + 120
        while pending():
            if time.monotonic() > deadline:
                raise SystemExit("bench: the relay did not deliver within 2 minutes")
            time.sleep(0.05)
        time.sleep(0.3)  # the relay's last settle, after the row stopped being pending

    settled()
    for warm in clients[:5]:
        warm.command("help")
        bare_clients[0].command("help")

    def phase(ours_calls: list[Callable[[], Any]], bare_calls: list[Callable[[], Any]]) -> Sample:
        web, relay = ours.cpu(), worker.cpu() if worker else 0.0
        for call in ours_calls:
            check(call())
        settled()
        web, relay = ours.cpu() - web, (worker.cpu() - relay) if worker else 0.0
        start = bare.cpu()
        for call in bare_calls:
            check(call())
        return web / len(ours_calls), relay / len(ours_calls), (bare.cpu() - start) / len(bare_calls)

    results: dict[str, Sample] = {}
    results["/refund (opens the form)"] = phase(
        [lambda c=c: c.command("") for c in clients], [lambda c=c: c.command("") for c in bare_clients]
    )
    for k, each in enumerate(clients):
        check(each.choose(standin.latest_view(each.id), "Contract", f"Bench {k}"))
        check(each.choose(standin.latest_view(each.id), "Item", "Milestone “Work”"))
    forms = [standin.latest_view(each.id) for each in clients]
    values = {"Amount (USD)": "10.00", "Reason": "Half of the pages were missing."}
    results["form submitted"] = phase(
        [lambda c=c, f=f: c.submit(f, values) for c, f in zip(clients, forms, strict=True)],
        [lambda c=c, f=f: c.submit(f, values) for c, f in zip(bare_clients, forms, strict=True)],
    )
    asked = [m for m in standin.dms("U0FREELA01") if "Approve" in str(m.blocks)][-n:]
    if len(asked) != n:
        raise SystemExit(f"bench: {len(asked)} requests of {n} reached the freelancer: {standin.take_violations()[:3]}")
    results["Approve"] = phase(
        [lambda m=m: freelancer.click(m, "Approve") for m in asked],
        [lambda m=m: bare_freelancer.click(m, "Approve") for m in asked],
    )
    cards = cards_by_mediator(standin.channel_messages(CHANNEL))
    for person in mediators:
        check(person.click(cards[person.id], "Propose"))
    proposals = [standin.latest_view(person.id) for person in mediators]
    proposal = {
        "Refund to the client (USD)": "20.00",
        "Rationale": "Two of five pages were delivered.",
        "Policy rule applied": "Part of the work was delivered as agreed; the refund covers the rest.",
    }
    results["a mediator's Propose"] = phase(
        [lambda p=p, f=f: p.submit(f, proposal) for p, f in zip(mediators, proposals, strict=True)],
        [lambda p=p, f=f: p.submit(f, proposal) for p, f in zip(bare_mediators, proposals, strict=True)],
    )
    problems = standin.take_violations()
    if problems:
        raise SystemExit(f"bench: Slack's rules were broken: {problems[:3]}")
    return results


def cards_by_mediator(messages: list[Message]) -> dict[str, Message]:
    """Each claimed case's card, by the mediator who holds it (named on the card)."""
    found: dict[str, Message] = {}
    for message in messages:
        shown = str(message.blocks)
        if "Propose" in shown and (held := re.search(r"<@(U0M\d{6})>", shown)):
            found[held.group(1)] = message
    return found


def check(answer: Any) -> None:
    if answer.status != 200:
        raise SystemExit(f"bench: a request answered {answer.status}: {answer.body[:200]}")
    if answer.body and "error" in answer.body and "response_action" in answer.body:
        raise SystemExit(f"bench: a form was refused: {answer.body[:300]}")


def report(results: dict[str, Sample], database: str, n: int, relay: str) -> list[str]:
    lines = [
        f"server CPU per interaction, {n} each, {database}, relay {relay}, one gunicorn worker each",
        f"{'interaction':<26} {'refund-bot ack':>14} {'relay':>8} {'bare Bolt':>10} {'ack/bare':>9} {'all/bare':>9}",
    ]
    for name, (web, relayed, bare) in results.items():
        lines.append(
            f"{name:<26} {web * 1000:11.2f} ms {relayed * 1000:5.2f} ms {bare * 1000:7.2f} ms "
            f"{web / max(bare, 1e-9):8.1f}x {(web + relayed) / max(bare, 1e-9):8.1f}x"
        )
    return lines


if __name__ == "__main__":
    main()
