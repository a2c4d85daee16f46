"""The Slack stand-in in a process of its own, for benches: its HTTP serving, and its check of every payload
against Slack's schema, must not share the app's CPU or GIL (design §7). The bench talks to it through a
``multiprocessing`` proxy, which offers the stand-in's methods (``dms``, ``issue_trigger``…), so ``SlackUser``
works with it unchanged."""

from __future__ import annotations

from collections.abc import Callable
from multiprocessing.managers import BaseManager
from typing import Any

from tests.slack_standin import SlackStandIn


class _Served(SlackStandIn):
    def begin(self, checking: bool) -> str:
        self.checking = checking
        self.start()
        return self.api_url

    def call_count(self) -> int:
        return len(self.calls)


class _Manager(BaseManager):
    pass


_Manager.register("SlackStandIn", _Served)


def standin_process(*, checking: bool = True) -> tuple[Any, str, Callable[[], None]]:
    """(the stand-in's proxy, its Web API URL, stop). ``checking=False`` skips its check of each payload against
    Slack's schema, for benches of the relay's pace: that check costs more than the call it checks."""
    manager = _Manager()
    manager.start()
    standin = manager.SlackStandIn()  # type: ignore[attr-defined]
    api_url = standin.begin(checking)

    def stop() -> None:
        standin.stop()
        manager.shutdown()

    return standin, api_url, stop
