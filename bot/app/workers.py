"""What works off the request path: the outbox relay, the files reader, the payouts sender and the deadline
ticker."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy.exc import SQLAlchemyError

from bot.app.runtime import Runtime, one_line, purge_outbox, roster_of, utc_now
from bot.blocks.render import render
from bot.clients import relay_client, web_client
from bot.files import FileCopier, FileReader
from bot.limits import SlackLimits
from bot.payouts import PayoutSender
from bot.relay import Relay
from bot.services import mediation, scheduler
from bot.services.core import Deps
from bot.services.fairness import fairness, pseudonyms
from bot.services.messages import OutboxMessage, Surface, channel
from bot.services.payments import LedgerOnly, Webhook
from bot.services.ports import StorageUnavailable
from bot.services.roster import GroupMembers
from bot.services.surfaces import FairnessShown
from bot.workspaces import Installed, Workspaces
from storage import reports
from storage.db import background
from storage.outbox import OutboxRepository

# How often each process reads the workspaces' desks again: a change reaches it within this.
DESKS_SECONDS = 5.0
log = logging.getLogger("refundbot")


@dataclass
class Workers:
    """What works off the request path: the outbox relay and the deadline ticker. Every HTTP instance runs
    them; `refundbot worker` runs only them, and `refundbot tick --once` one sweep of them."""

    runtime: Runtime
    client: WebClient
    relay: Relay
    deps: Deps
    owner: str
    files: FileReader
    payouts: PayoutSender | None = None  # PAYMENTS_WEBHOOK_URL is set
    installations: SQLAlchemyInstallationStore | None = None  # OAuth: the workspaces that installed the app
    installed: Installed | None = None  # OAuth: each workspace's installation, kept a minute, rotated when due
    stop: threading.Event = field(default_factory=threading.Event)
    database_warned_at: float = -60.0
    running: list[threading.Thread | BackgroundScheduler] = field(default_factory=list)

    @classmethod
    def build(cls, runtime: Runtime) -> Workers:
        settings = runtime.settings
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # whose leases these are
        base_url = settings.slack_api_url
        installations, installed = None, None
        if settings.oauth:
            installations = SQLAlchemyInstallationStore(settings.slack_client_id or "", runtime.engine)
            rotator = TokenRotator(
                client_id=settings.slack_client_id or "",
                client_secret=settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else "",
                client=web_client(None, base_url),
            )
            installed = Installed(installations, rotator, lambda token: relay_client(token, base_url))
            slack: WebClient | Workspaces = installed
            client = web_client(None, base_url)  # no workspace's: each call names its token
        else:
            token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
            client = web_client(token, base_url)
            slack = relay_client(token, base_url)
        pace = timedelta(seconds=settings.slack_pace_seconds)
        limits = SlackLimits(settings.distribution, paced=bool(pace))
        copier = FileCopier(base_url)
        relay = Relay(
            runtime.sessions, slack, render, owner=owner, clock=runtime.clock, pace=pace, limits=limits, copier=copier
        )
        roster = roster_of(runtime, _group_members(relay))
        webhook = settings.payments_webhook_url
        payouts: PayoutSender | None = None
        files: FileReader | None = None

        def delivered() -> None:  # a commit queued Slack messages, files to read, perhaps a payout
            relay.wake.set()
            if files is not None:
                files.wake.set()
            if payouts is not None:
                payouts.wake.set()

        deps = Deps(
            uow=runtime.uow,
            clock=runtime.clock,
            policy=runtime.policy,
            payments=Webhook() if webhook else LedgerOnly(),
            roster=roster,
            mediator_channel=settings.mediator_channel_id,
            delivered=delivered,
        )
        if webhook and settings.payments_webhook_secret:
            secret = settings.payments_webhook_secret.get_secret_value()
            payouts = PayoutSender(runtime.sessions, deps, webhook, secret, owner=owner, clock=runtime.clock)
        files = FileReader(runtime.sessions, deps, relay.workspaces, base_url, owner=owner, clock=runtime.clock)
        return cls(runtime, client, relay, deps, owner, files, payouts, installations, installed)

    def tick(self) -> int:
        try:
            with background():
                return scheduler.tick(self.deps, self.owner)
        except StorageUnavailable as down:  # the next tick tries again; one line a minute says why
            if time.monotonic() - self.database_warned_at >= 60:
                self.database_warned_at = time.monotonic()
                log.warning("ticker: the database is unavailable (%s); deadlines wait for it", down)
            return 0

    def hand_out(self) -> int:
        """Where cases are handed out, those still waiting for a mediator go to one (``mediation.hand_out_waiting``)."""
        try:
            with background():
                return mediation.hand_out_waiting(self.deps)
        except StorageUnavailable as down:  # the next minute's sweep tries again
            log.warning("assignment: the database is unavailable (%s); waiting cases wait for it", down)
            return 0

    def sweep(self) -> tuple[int, int]:
        """Tick until nothing is due and hand waiting cases out, then deliver until the outbox has nothing due:
        (deadlines acted on, messages attempted)."""
        acted = sent = 0
        while batch := self.tick():
            acted += batch
        self.hand_out()
        while self.files.run_once():
            pass  # what the forms' files caused is the relay's, below
        while batch := self.relay.run_once():
            sent += batch
        while self.payouts is not None and (batch := self.payouts.run_once()):
            sent += batch
        return acted, sent

    def post_fairness(self) -> bool:
        """On the 1st of a month (UTC), last month's fairness report for FAIRNESS_REPORT_CHANNEL: queued once, under a
        key naming the month, whichever instance and whichever of the day's runs gets there first. One workspace's:
        a channel id belongs to one. Whether a report was queued now."""
        settings, now = self.runtime.settings, self.runtime.clock()
        if settings.fairness_report_channel is None or settings.oauth or now.day != 1:
            return False
        until = now.replace(hour=0, minute=0, second=0, microsecond=0)
        since = (until - timedelta(days=1)).replace(day=1)
        with background(), self.runtime.sessions.begin() as session:
            closed = list(reports.closed_cases(session, since, until))
            if not closed:
                return False  # no case closed last month: nothing to say, and no workspace to say it in
            shown = FairnessShown(
                since.isoformat(), until.isoformat(), fairness(closed, pseudonyms(settings.report_key()))
            )
            told = OutboxMessage(
                "fairness",
                f"fairness:{since:%Y-%m}",
                channel(settings.fairness_report_channel),
                Surface.FAIRNESS_REPORT,
                shown.as_json(),
            )
            OutboxRepository(session).add(closed[0].team_id, told, now)
        self.deps.delivered()
        return True

    def purge(self) -> int:
        try:
            with background():
                return purge_outbox(self.runtime)
        except SQLAlchemyError as exc:  # the next hour's purge tries again
            log.warning("outbox: purging sent messages failed (%s)", one_line(exc))
            return 0

    def start(self, tick_seconds: float = 5.0) -> BackgroundScheduler:
        """The relay thread, and APScheduler as a ticker only: the deadlines are rows, claimed by every tick.
        Jitter keeps several instances started together from ticking in step. The mediator user group is
        listed off the request path: now, then every few minutes."""
        relaying = threading.Thread(target=self.relay.run, args=(self.stop,), name="slack-relay", daemon=True)
        relaying.start()
        reading = threading.Thread(target=self.files.run, args=(self.stop,), name="files", daemon=True)
        reading.start()
        self.running.append(reading)
        if self.payouts is not None:
            paying = threading.Thread(target=self.payouts.run, args=(self.stop,), name="payouts", daemon=True)
            paying.start()
            self.running.append(paying)
        ticker = self._roster_jobs()
        ticker.add_job(
            self.tick, "interval", seconds=tick_seconds, jitter=tick_seconds / 5, max_instances=1, coalesce=True
        )
        ticker.add_job(self.hand_out, "interval", minutes=1, jitter=10, max_instances=1, coalesce=True)
        ticker.add_job(self.purge, "interval", hours=1, jitter=300, max_instances=1, coalesce=True)
        ticker.add_job(self.post_fairness, "interval", hours=1, jitter=300, max_instances=1, coalesce=True)
        ticker.start()
        self.running += [ticker, relaying]
        return ticker

    def watch_roster(self) -> BackgroundScheduler:
        """The roster's jobs alone: for web processes whose relay and ticker run in `refundbot worker`, which
        still check who mediates and where the cards go."""
        watcher = self._roster_jobs()
        watcher.start()
        self.running.append(watcher)
        return watcher

    def _roster_jobs(self) -> BackgroundScheduler:
        """A scheduler holding the roster's jobs: the user groups listed now, then every few minutes, and the
        workspaces' desks read every few seconds, so `refundbot workspace set` reaches a running process at once."""
        scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
        roster = self.deps.roster
        scheduler.add_job(
            roster.refresh, "interval", minutes=5, next_run_time=utc_now(), max_instances=1, coalesce=True
        )
        scheduler.add_job(roster.refresh_desks, "interval", seconds=DESKS_SECONDS, max_instances=1, coalesce=True)
        return scheduler

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop ticking and relaying once the tick and the relay's batch under way are done, so that what they
        hold is recorded rather than left leased for another instance to take over minutes later."""
        self.stop.set()
        self.deps.delivered()  # wakes the relays to see the stop
        for part in self.running:
            if isinstance(part, BackgroundScheduler):
                part.shutdown(wait=True)
            else:
                part.join(timeout)
        self.running.clear()


def _group_members(relay: Relay) -> GroupMembers:
    """A workspace's user group, listed with that workspace's token."""

    def members(team_id: str | None, group_id: str) -> set[str]:
        client = relay.workspaces.client(team_id or "")
        return set(client.usergroups_users_list(usergroup=group_id)["users"] or [])

    return members
