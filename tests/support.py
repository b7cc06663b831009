"""Helpers shared by tests: a small watchlist and configuration files written per test."""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

# A small topic set used by tests that need a working configuration (not the shipped one).
TEST_WATCHLIST = """\
topics:
  - id: norad
    name: NORAD review
    description: The future and funding of NORAD.
    lang: [en, fr]
    threshold: 2
    alert_at: 6
    groups:
      norad:
        weight: 2
        terms:
          - {term: NORAD, case: sensitive}
          - North American Aerospace Defen{s,c}e Command
      santa:
        weight: 0
        terms: [Santa, Père Noël]
    exclude: [santa]
  - id: tariffs
    name: US–Canada tariffs
    description: Tariffs between the US and Canada.
    lang: [en, fr]
    threshold: 2
    groups:
      tariff:
        weight: 2
        terms: [tariff*, droits de douane, counter-tariff*]
      canada:
        weight: 0
        terms: [Canada, Canadian, Ottawa]
    require: {all: [tariff, canada]}
"""


# monitor.yaml's polling line for tests that want alerts from the sample items of a feed's
# first poll: by default those go to the digest (a backlog, and dated long ago), not out at once.
ALERTS_FROM_ANY_POLL = "polling: {first_poll_alerts: true, alert_max_age: 36500d}"


def write_config(folder: Path, body: str = "", watchlist: str = TEST_WATCHLIST) -> Path:
    """Write monitor.yaml (with ``body`` appended) and watchlists/test.yaml; return the path.

    A body with neither feeds nor channels gets a console channel, as a configuration with
    neither is refused."""
    (folder / "watchlists").mkdir(exist_ok=True)
    (folder / "watchlists" / "test.yaml").write_text(watchlist, encoding="utf-8")
    path = folder / "monitor.yaml"
    body = textwrap.dedent(body)
    head = "" if "database:" in body else f"database: sqlite:///{folder / 'monitor.db'}\n"
    head += "" if "timezone:" in body else "timezone: UTC\n"
    head += "" if "status:" in body else "status: {listen: '127.0.0.1:0'}\n"
    if "feeds:" not in body and "channels:" not in body:
        head += "channels: [{name: console, type: console}]\n"
    path.write_text(head + body, encoding="utf-8")
    return path


def wait_for(path: Path, text: str, timeout: float, start: int = 0) -> bool:
    """Wait until ``text`` appears in the file at ``path`` after offset ``start``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and text in path.read_text(errors="replace")[start:]:
            return True
        time.sleep(0.1)
    return False


async def until(condition: Callable[[], bool], what: str, within_s: float = 30.0) -> None:
    """In async tests: wait for ``condition`` (checked every 20 ms), failing after
    ``within_s`` with ``what`` in the message."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within_s
    while not condition():
        if loop.time() > end:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


class Progress(list[int]):
    """What a sender reports after each accepted part: ``on_part=progress.record``."""

    async def record(self, parts: int) -> None:
        self.append(parts)
