"""People's locales as one process holds them for a while: every form reads its reader's, every message the
relay renders its reader's, and a locale seldom changes (the relay refreshes the stored ones daily)."""

from __future__ import annotations

import time


class HeldLocales:
    """Each person's locale, held ``held`` seconds from when it was read. Bounded: past ``MOST`` it starts over."""

    MOST = 10_000

    def __init__(self, held: float = 600.0) -> None:
        self.held = held
        self._held: dict[tuple[str, str], tuple[str, float]] = {}

    def get(self, team_id: str, user_id: str) -> str | None:
        found = self._held.get((team_id, user_id))
        return found[0] if found and time.monotonic() - found[1] < self.held else None

    def hold(self, team_id: str, user_id: str, locale: str) -> str:
        if len(self._held) >= self.MOST:
            self._held.clear()
        self._held[team_id, user_id] = (locale, time.monotonic())
        return locale
