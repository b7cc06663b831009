"""The figures the user documentation states are the code's.

Retry waits and attempt counts of the outbox are written down once, in the "Retry schedule"
table of docs/delivery.md; every other mention of a number of attempts anywhere in the docs
must agree with the code too. The polling cadence (longest gaps, backoff, bounds of server
hints) is written down once, in "When feeds are polled" of docs/operations.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor import cadence
from monitor.config import PollingSettings, parse_duration
from monitor.retry import RetryPolicy, wait_bounds

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
UNIT_S = {"s": 1.0, "min": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0}


def _seconds(text: str) -> tuple[float, float]:
    """'15–30 s' or '1–2 min' → (15.0, 30.0) or (60.0, 120.0)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)–(\d+(?:\.\d+)?) (s|min|h)", text.strip())
    assert m, f"not a range of waits: {text!r}"
    unit = UNIT_S[m.group(3)]
    return float(m.group(1)) * unit, float(m.group(2)) * unit


def _section(doc: str, heading: str) -> str:
    start = doc.index(heading)
    end = doc.find("\n#", start + len(heading))
    return doc[start : end if end != -1 else len(doc)]


def _table_rows(section: str) -> list[list[str]]:
    """The rows of the section's first table, without its header."""
    rows: list[list[str]] = []
    for line in section.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        if not set(line) <= set("|-: "):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]


def test_the_retry_schedule_table_is_the_code_schedule() -> None:
    policy = RetryPolicy()
    doc = (ROOT / "docs" / "delivery.md").read_text(encoding="utf-8")
    rows = _table_rows(_section(doc, "### Retry schedule"))
    covered: set[int] = set()
    dead_row = None
    for attempts, wait in rows:
        first, _, last = attempts.partition("–")
        numbers = range(int(first), int(last or first) + 1)
        if wait.startswith("none"):
            dead_row = list(numbers)
            continue
        for n in numbers:
            assert _seconds(wait) == wait_bounds(n, policy), (
                f"docs/delivery.md says the wait after {n} failed attempt(s) is {wait}; "
                f"the code waits {wait_bounds(n, policy)} s"
            )
            covered.add(n)
    assert covered == set(range(1, policy.max_attempts)), "every retry has its row"
    assert dead_row == [policy.max_attempts], "the row where a delivery is dead"
    low = sum(wait_bounds(n, policy)[0] for n in covered) / 3600
    high = sum(wait_bounds(n, policy)[1] for n in covered) / 3600
    m = re.search(r"tried (\d+) times over about ([\d.]+) to ([\d.]+) hours", doc)
    assert m, "docs/delivery.md sums the schedule up"
    assert int(m.group(1)) == policy.max_attempts
    assert float(m.group(2)) == pytest.approx(low, abs=0.5)
    assert float(m.group(3)) == pytest.approx(high, abs=0.5)


def test_every_retry_after_ceiling_in_the_docs_is_the_code_one() -> None:
    hours = RetryPolicy().max_retry_after_s / 3600
    doc = (ROOT / "docs" / "delivery.md").read_text(encoding="utf-8")
    found = re.findall(r"Retry-After[^|\n]*(?:\n[^|\n]*)?? (?:up to|at most) (\d+) hours", doc)
    assert found, "docs/delivery.md states how long a Retry-After is honoured"
    assert {float(h) for h in found} == {hours}


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_number_of_delivery_attempts_in_the_docs_is_the_code_one(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    stated = re.findall(r"(\d+) (?:failed )?(?:delivery )?attempts\b", text)
    stated += re.findall(r"tried (\d+) times", text)
    wrong = {int(n) for n in stated} - {RetryPolicy().max_attempts}
    assert not wrong, (
        f"{path.name} states {sorted(wrong)} delivery attempts; the code makes "
        f"{RetryPolicy().max_attempts} (docs/delivery.md, 'Retry schedule')"
    )


def test_the_polling_cadence_table_is_the_code_cadence() -> None:
    doc = _section((ROOT / "docs" / "operations.md").read_text(encoding="utf-8"), "## When feeds")
    settings = PollingSettings()
    policy = cadence.policy_from_settings(settings)
    rows = {row[0]: row for row in _table_rows(doc)}
    # every reason the code gives has its row, in the words `monitor feeds` shows
    for reason in cadence.REASONS:
        text = cadence.describe_reason(reason, 3).replace("3 failures", "N failures")
        assert f"`{text}`" in rows, f"docs/operations.md has no row for '{text}'"

    defaults = dict(re.findall(r"`polling\.(\w+)` \(default (\w+)\)", doc))
    assert defaults, "the defaults are stated"
    for name, value in defaults.items():
        assert parse_duration(value) == getattr(settings, name), name
    jitter = re.search(r"`polling\.jitter`, (\d+)% by default", doc)
    assert jitter and float(jitter.group(1)) / 100 == settings.jitter

    adaptive = rows["`adaptive`"][2]
    factor = re.search(r"(\d+) × the interval", adaptive)
    assert factor and float(factor.group(1)) == cadence.ADAPTIVE_MAX_FACTOR
    max_age = re.search(r"up to (\d+) × the interval", rows["`server's max-age`"][2])
    assert max_age and float(max_age.group(1)) == cadence.MAX_AGE_FACTOR

    backoff = next(row for key, row in rows.items() if key.startswith("`backoff after"))[2]
    steps = re.search(r": ((?:\d+, )+\d+) min, then (\d+) h", backoff)
    assert steps, backoff
    minutes = [float(m) * 60 for m in steps.group(1).split(", ")]
    assert minutes == [cadence.backoff_s(n, policy) for n in range(1, len(minutes) + 1)]
    assert cadence.backoff_s(len(minutes) + 1, policy) == float(steps.group(2)) * 3600
    assert cadence.backoff_s(1, policy, slow=True) == 3600  # "1 h from the first failure"
    assert policy.max_retry_after_s == settings.max_backoff  # "up to polling.max_backoff"
