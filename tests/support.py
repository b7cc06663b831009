"""Helpers shared by tests: a small watchlist and configuration files written per test."""

from __future__ import annotations

import asyncio
import re
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

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
    neither is refused. Article text is off (``polling.fulltext: never``) unless the body says
    ``fulltext`` somewhere: otherwise a daemon would fetch the test items' pages (example.org
    links, a DNS lookup each) for nothing."""
    (folder / "watchlists").mkdir(exist_ok=True)
    (folder / "watchlists" / "test.yaml").write_text(watchlist, encoding="utf-8")
    path = folder / "monitor.yaml"
    body = textwrap.dedent(body)
    head = "" if "database:" in body else f"database: sqlite:///{folder / 'monitor.db'}\n"
    head += "" if "timezone:" in body else "timezone: UTC\n"
    head += "" if "status:" in body else "status: {listen: '127.0.0.1:0'}\n"
    if "feeds:" not in body and "channels:" not in body:
        head += "channels: [{name: console, type: console}]\n"
    if "fulltext" not in body:
        body, head = _without_fulltext(body, head)
    path.write_text(head + body, encoding="utf-8")
    return path


def _without_fulltext(body: str, head: str) -> tuple[str, str]:
    """``body`` and ``head`` with ``fulltext: never`` added to the body's polling mapping (on
    its first line, so that line numbers stay), or to the head when the body has none."""
    flow = re.compile(r"^(polling:[ \t]*\{)", re.MULTILINE)
    if flow.search(body):
        return flow.sub(r"\1fulltext: never, ", body, count=1), head
    block = re.compile(r"^polling:[ \t]*\n([ \t]+)", re.MULTILINE)
    if match := block.search(body):
        indent = match.group(1)
        fixed = body[: match.end()] + f"fulltext: never\n{indent}" + body[match.end() :]
        return fixed, head
    if re.search(r"^polling:", body, re.MULTILINE):
        return body, head  # not a mapping: the test is about that
    return body, head + "polling: {fulltext: never}\n"


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    *,
    every: float = 0.05,
    detail: Callable[[], str] | None = None,
) -> T:
    """Wait until ``condition()`` returns something true, and return that; after ``timeout``
    seconds fail with an AssertionError naming ``what`` (and ``detail()``, e.g. a log's tail)."""
    end = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > end:
            extra = f":\n{detail()}" if detail is not None else ""
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}{extra}")
        time.sleep(every)
    return value


def wait_for(path: Path, text: str, timeout: float, start: int = 0) -> bool:
    """Wait until ``text`` appears in the file at ``path`` after offset ``start``; return
    whether it did."""

    def seen() -> bool:
        return path.exists() and text in path.read_text(errors="replace")[start:]

    try:
        return wait_until(seen, timeout, repr(text), every=0.1)
    except AssertionError:
        return False


async def until(condition: Callable[[], object], what: str, within_s: float = 30.0) -> None:
    """In async tests: wait for ``condition`` (checked every 20 ms), failing after
    ``within_s`` with ``what`` in the message."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within_s
    while not condition():
        if loop.time() > end:
            raise AssertionError(f"gave up after {within_s:g} s waiting for {what}")
        await asyncio.sleep(0.02)


class Progress(list[int]):
    """What a sender reports after each accepted part: ``on_part=progress.record``."""

    async def record(self, parts: int) -> None:
        self.append(parts)
