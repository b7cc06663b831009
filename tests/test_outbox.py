"""The delivery outbox in process: a real store on a SQLite file (and on PostgreSQL when
MONITOR_TEST_POSTGRES_URL is set), real Slack and webhook senders posting to the scriptable
receiver on 127.0.0.1, and a clock the tests move by hand.

What is proved here: a digest is recorded before it is sent and keeps one idempotency key
through every retry; failures back off (and honour Retry-After); a delivery that runs out of
attempts is dead until someone retries it; a failing or hanging channel does not hold up the
others; a split Slack digest resumes at the part that failed; a match enters a channel's
digests once; alerts are batched and held in quiet hours unless urgent.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.channels import SlackChannel, WebhookChannel
from monitor.deliver.slack import SlackSender
from monitor.deliver.webhook import WebhookSender
from monitor.ingest import save_items
from monitor.model import Digest, Item, Reason, Severity, TopicMatch
from monitor.outbox import Outbox, Sender
from monitor.render import slack_messages
from monitor.retry import RetryPolicy
from monitor.store import Store
from tests.receiver import Receiver, Reply
from tests.support import until

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
SECRET = "a-long-signing-secret-0123456789"


class Clock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def to(self, when: datetime) -> datetime:
        self.now = when
        return self.now


@dataclass(frozen=True)
class News:
    """One stored item and the match it made."""

    title: str
    topic: str = "norad"
    score: float = 5.0
    severity: Severity = "digest"
    urgent: bool = False
    summary: str = "Officials in Ottawa and Washington discussed the file on Tuesday."


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as c:
        yield c


_counter = iter(range(1, 1_000_000))


def store_news(store: Store, at: datetime, *news: News, feed: str = "Wire") -> list[int]:
    """Store ``news`` as items of one feed matched at ``at``; return the new match ids."""
    state = store.ensure_feed(f"https://{feed.lower()}.example.org/feed.xml", at, name=feed)
    items, scored = [], {}
    for n in news:
        key = f"k{next(_counter)}"
        items.append(
            Item(
                key=key,
                feed_url=state.url,
                title=n.title,
                summary=n.summary,
                url=f"https://{feed.lower()}.example.org/{key}",
                published=at - timedelta(minutes=5),
                lang="en",
                content_hash=f"h-{key}",
            )
        )
        reason = Reason("NORAD", "title", 0, n.score, "group:norad")
        scored[key] = [TopicMatch(n.topic, n.score, n.severity, (reason,), n.urgent)]
    before = {m.id for m in store.matches(limit=None)}
    save_items(store, state.id, items, [], scored, at)
    return sorted(m.id for m in store.matches(limit=None) if m.id not in before)


def webhook(
    rx: Receiver, name: str = "hook", path: str = "/hook", **extra: object
) -> WebhookChannel:
    return WebhookChannel.model_validate(
        {"name": name, "type": "webhook", "url": rx.url(path), "secret": SECRET, **extra}
    )


def make_outbox(
    store: Store,
    clock: Clock,
    senders: dict[str, Sender],
    channels: Sequence[WebhookChannel | SlackChannel],
    *,
    timezone: str = "UTC",
    policy: RetryPolicy | None = None,
    lease_s: float = 120.0,
) -> Outbox:
    return Outbox(
        store,
        senders,
        channels,
        timezone=timezone,
        policy=policy,
        clock=clock,
        rng=random.Random(7),
        lease_s=lease_s,
    )


def keys(rx: Receiver) -> list[str | None]:
    return [r.header("Idempotency-Key") for r in rx.requests]


def delivered_match_ids(rx: Receiver) -> list[int]:
    return sorted(i for r in rx.requests for m in r.json()["matches"] for i in m["match_ids"])


# -- a digest: recorded, then sent with its key ------------------------------------------------


async def test_a_digest_is_recorded_first_then_sent_with_its_idempotency_key(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    ids = store_news(
        store,
        clock(),
        News("Ottawa opens NORAD modernization talks"),
        News("Canada answers U.S. steel tariffs", topic="tariffs"),
    )
    ch = webhook(rx)
    outbox = make_outbox(store, clock, {"hook": WebhookSender(ch, client)}, [ch])

    built = await outbox.build_digest(ch, clock.advance(minutes=30))
    assert built is not None and built.kind == "digest"
    [pending] = store.deliveries()
    assert (pending.status, pending.key, pending.match_count) == ("pending", built.key, 2)
    assert rx.requests == []  # recorded, not sent yet

    [report] = await outbox.flush()
    assert (report.outcome, report.key) == ("sent", built.key)
    [request] = rx.requests
    assert request.header("Idempotency-Key") == built.key
    assert request.header("X-Monitor-Signature")
    assert delivered_match_ids(rx) == ids
    [sent] = store.deliveries()
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, clock())
    assert await outbox.flush() == []  # nothing left to send


# -- retries -----------------------------------------------------------------------------------


async def test_a_500_is_retried_with_growing_backoff_and_the_same_key(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    store_news(store, clock(), News("NORAD radar upgrade stalls"))
    ch = webhook(rx)
    policy = RetryPolicy(base_s=30, cap_s=3600, max_attempts=10)
    outbox = make_outbox(store, clock, {"hook": WebhookSender(ch, client)}, [ch], policy=policy)
    built = await outbox.build_digest(ch, clock.advance(minutes=30))
    assert built is not None
    rx.script(Reply(500, b"down"), Reply(503, b"still down"))

    [first] = await outbox.flush()
    assert first.outcome == "retry" and first.next_attempt_at is not None
    assert "HTTP 500" in (first.error or "")
    delay1 = first.next_attempt_at - clock()
    assert timedelta(seconds=15) <= delay1 <= timedelta(seconds=30)

    # not due yet: nothing is sent, however often the outbox is flushed
    clock.to(first.next_attempt_at - timedelta(seconds=1))
    assert await outbox.flush() == []
    assert len(rx.requests) == 1

    clock.to(first.next_attempt_at)
    [second] = await outbox.flush()
    assert second.outcome == "retry" and second.next_attempt_at is not None
    delay2 = second.next_attempt_at - clock()
    assert timedelta(seconds=30) <= delay2 <= timedelta(seconds=60)  # the window doubled

    clock.to(second.next_attempt_at)
    [third] = await outbox.flush()
    assert third.outcome == "sent"
    assert keys(rx) == [built.key] * 3
    assert len({r.body for r in rx.requests}) == 1  # the same digest every time
    [row] = store.deliveries()
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


async def test_a_429_with_retry_after_is_not_retried_before_it(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    store_news(store, clock(), News("Five Eyes ministers meet in Ottawa", topic="five_eyes"))
    ch = webhook(rx)
    outbox = make_outbox(store, clock, {"hook": WebhookSender(ch, client)}, [ch])
    built = await outbox.build_digest(ch, clock.advance(minutes=30))
    assert built is not None
    rx.script(Reply(429, b"slow down", headers={"Retry-After": "900"}))

    [limited] = await outbox.flush()
    assert limited.outcome == "retry" and limited.next_attempt_at is not None
    failed_at = clock()
    # the backoff alone would retry within 30 s; the receiver asked for 15 minutes
    assert limited.next_attempt_at >= failed_at + timedelta(seconds=900)
    for seconds in (30, 300, 899):
        clock.to(failed_at + timedelta(seconds=seconds))
        assert await outbox.flush() == []
    assert len(rx.requests) == 1

    clock.to(limited.next_attempt_at)
    [sent] = await outbox.flush()
    assert sent.outcome == "sent"
    assert keys(rx) == [built.key, built.key]


async def test_after_the_last_attempt_it_is_dead_until_retried(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    ids = store_news(store, clock(), News("Arctic sovereignty patrol delayed", topic="arctic"))
    ch = webhook(rx)
    policy = RetryPolicy(base_s=10, cap_s=60, max_attempts=3)
    outbox = make_outbox(store, clock, {"hook": WebhookSender(ch, client)}, [ch], policy=policy)
    built = await outbox.build_digest(ch, clock.advance(minutes=30))
    assert built is not None
    rx.script(Reply(500), Reply(502), Reply(500))

    outcomes = []
    for _ in range(3):
        [report] = await outbox.flush()
        outcomes.append(report.outcome)
        if report.next_attempt_at is not None:
            clock.to(report.next_attempt_at)
    assert outcomes == ["retry", "retry", "dead"]

    [dead] = store.deliveries(status="dead")
    assert (dead.key, dead.attempts, dead.match_count) == (built.key, 3, len(ids))
    assert dead.last_error is not None and "HTTP 500" in dead.last_error
    assert store.deliveries(status="pending") == []
    clock.advance(days=2)
    assert await outbox.flush() == []  # a dead delivery is never picked up on its own
    assert len(rx.requests) == 3

    assert store.retry_delivery(dead.id, clock())
    [report] = await outbox.flush()
    assert report.outcome == "sent"
    assert keys(rx) == [built.key] * 4
    assert store.deliveries(status="sent")[0].id == dead.id
    assert not store.retry_delivery(dead.id, clock())  # a sent delivery cannot be requeued


async def test_a_permanent_refusal_is_dead_at_once(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    store_news(store, clock(), News("Border security funding bill tabled", topic="border"))
    ch = webhook(rx)
    outbox = make_outbox(store, clock, {"hook": WebhookSender(ch, client)}, [ch])
    assert await outbox.build_digest(ch, clock.advance(minutes=30)) is not None
    rx.script(Reply(404, b"no such hook"))
    [report] = await outbox.flush()
    assert report.outcome == "dead" and report.next_attempt_at is None
    assert "HTTP 404" in (report.error or "")
    assert len(store.deliveries(status="dead")) == 1


# -- one channel's trouble is its own ----------------------------------------------------------


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_dead_or_hanging_channel_does_not_delay_another(
    store: Store, clock: Clock, client: httpx.AsyncClient
) -> None:
    store_news(store, clock(), News("NORAD commander warns of gaps"))
    with Receiver() as slow, Receiver() as good:
        slow.script(Reply(hang=True))
        hanging = webhook(slow, name="hanging")
        fine = webhook(good, name="fine")
        refused = WebhookChannel.model_validate(
            {
                "name": "refused",
                "type": "webhook",
                "url": f"http://127.0.0.1:{_closed_port()}/hook",
                "secret": SECRET,
            }
        )
        channels = [hanging, refused, fine]
        senders: dict[str, Sender] = {c.name: WebhookSender(c, client) for c in channels}
        outbox = make_outbox(store, clock, senders, channels)
        window = clock.advance(minutes=30)
        for ch in channels:
            assert await outbox.build_digest(ch, window) is not None

        flushing = asyncio.create_task(outbox.flush())
        await until(lambda: len(slow.requests) == 1 and len(good.requests) == 1, "both requests")
        # the hanging channel has not answered, and the good one is already recorded as sent
        await until(
            lambda: [d.channel for d in store.deliveries(status="sent")] == ["fine"],
            "the good channel's delivery to be recorded",
        )
        assert not flushing.done()
        by_channel = {d.channel: d for d in store.deliveries()}
        assert by_channel["refused"].attempts == 1 and by_channel["refused"].last_error
        assert "cannot reach" in by_channel["refused"].last_error
        assert by_channel["hanging"].attempts == 0

        slow.stop()  # the hanging request ends without an answer
        reports = {r.channel: r.outcome for r in await flushing}
    assert reports == {"hanging": "retry", "refused": "retry", "fine": "sent"}


async def test_a_delivery_is_leased_for_the_configured_time_and_never_sent_twice_at_once(
    store: Store, clock: Clock, client: httpx.AsyncClient
) -> None:
    store_news(store, clock(), News("NORAD radar contract signed"))
    with Receiver() as slow:
        slow.script(Reply(hang=True))
        ch = webhook(slow)
        outbox = make_outbox(store, clock, {"hook": WebhookSender(ch, client)}, [ch], lease_s=45)
        assert await outbox.build_digest(ch, clock.advance(minutes=30)) is not None
        flushing = asyncio.create_task(outbox.flush())
        await until(lambda: len(slow.requests) == 1, "the request")
        [leased] = store.deliveries()
        assert leased.next_attempt_at == clock() + timedelta(seconds=45)
        # the lease runs out while the request still hangs: this process does not send it again
        clock.advance(seconds=46)
        assert await outbox.flush() == []
        assert len(slow.requests) == 1
        slow.stop()
        [report] = await flushing
    assert report.outcome == "retry"


# -- a split Slack digest resumes where it failed ----------------------------------------------

_WORDS = (
    "radar northern warning modernization budget procurement treaty ministers summit "
    "icebreaker patrol sovereignty shipping passage infrastructure satellites interceptor "
    "fighter squadron base runway hangar contract industry supply aluminium lumber dairy "
    "automotive quota retaliation negotiation committee hearing testimony report audit "
    "estimate forecast deficit surplus allocation readiness exercise deployment"
).split()


def _distinct_news(n: int, seed: int = 3) -> list[News]:
    """``n`` stories different enough that none is taken for a copy of another."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.sample(_WORDS, 12)
        title = f"Story {i}: " + " ".join(words[:8]).capitalize() + " " + "x" * (i % 7)
        summary = " ".join(rng.choice(_WORDS) for _ in range(60)) + f" ({i})"
        out.append(News(title, score=5 + (i % 5), summary=summary))
    return out


async def test_a_split_slack_digest_resumes_at_the_part_that_failed(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    ids = store_news(store, clock(), *_distinct_news(60))
    ch = SlackChannel.model_validate(
        {"name": "team", "type": "slack", "webhook_url": rx.url("/slack"), "max_items": 200}
    )
    outbox = make_outbox(store, clock, {"team": SlackSender(ch, client, pause_s=0)}, [ch])
    built = await outbox.build_digest(ch, clock.advance(minutes=30))
    assert built is not None and len(built.entries) == 60
    # progress is written on the database's thread, never on the event loop's
    recorded_on: list[threading.Thread] = []
    record = store.delivery_progress

    def watched(*args: Any, **kw: Any) -> Any:
        recorded_on.append(threading.current_thread())
        return record(*args, **kw)

    store.delivery_progress = watched  # type: ignore[method-assign]
    messages = slack_messages(built)
    assert len(messages) >= 3, "the digest must be split for this test to mean anything"
    rx.script(Reply(200), Reply(500, b"internal_error"))

    [failed] = await outbox.flush()
    assert failed.outcome == "retry" and "part 2 of" in (failed.error or "")
    [row] = store.deliveries()
    assert (row.parts_sent, row.status) == (1, "pending")
    assert failed.next_attempt_at is not None
    clock.to(failed.next_attempt_at)
    [resumed] = await outbox.flush()
    assert resumed.outcome == "sent"

    bodies = [r.json() for r in rx.requests]
    # part 1 once, part 2 twice (refused, then accepted), every later part once
    assert bodies == [messages[0], messages[1], *messages[1:]]
    accepted = [bodies[0], *bodies[2:]]
    assert accepted == messages
    assert recorded_on and threading.current_thread() not in recorded_on
    shown = "".join(json.dumps(b) for b in accepted)
    assert all(f"Story {i}:" in shown for i in range(60)), "every story is in some part"
    assert len(ids) == built.match_count


# -- each match once per channel ---------------------------------------------------------------


async def test_a_match_goes_into_a_channel_digest_once(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    first_ids = store_news(
        store, clock(), News("NORAD review begins"), News("Tariff talks resume", topic="tariffs")
    )
    a, b = webhook(rx, name="a", path="/a"), webhook(rx, name="b", path="/b")
    senders: dict[str, Sender] = {c.name: WebhookSender(c, client) for c in (a, b)}
    outbox = make_outbox(store, clock, senders, [a, b])

    one = await outbox.build_digest(a, clock.advance(minutes=30))
    assert one is not None and sorted(i for e in one.entries for i in e.match_ids) == first_ids
    # a later window of the same channel has nothing new; building the same window is refused
    assert await outbox.build_digest(a, clock.advance(minutes=30)) is None
    assert await outbox.build_digest(a, one.window_end) is None

    later_ids = store_news(store, clock(), News("NORAD funding approved by Parliament"))
    two = await outbox.build_digest(a, clock.advance(minutes=30))
    assert two is not None and [i for e in two.entries for i in e.match_ids] == later_ids
    # another channel still gets everything
    other = await outbox.build_digest(b, clock())
    assert other is not None
    assert sorted(i for e in other.entries for i in e.match_ids) == first_ids + later_ids

    await outbox.flush()
    by_path: dict[str, list[int]] = {}
    for r in rx.requests:
        for m in r.json()["matches"]:
            by_path.setdefault(r.path, []).extend(m["match_ids"])
    assert sorted(by_path["/a"]) == first_ids + later_ids  # each once
    assert sorted(by_path["/b"]) == first_ids + later_ids


async def test_two_outboxes_racing_for_one_window_record_it_once(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    store_news(store, clock(), News("NORAD modernization costs rise"))
    ch = webhook(rx)
    senders: dict[str, Sender] = {"hook": WebhookSender(ch, client)}
    one, two = (make_outbox(store, clock, senders, [ch]) for _ in range(2))
    window = clock.advance(minutes=30)
    results = await asyncio.gather(one.build_digest(ch, window), two.build_digest(ch, window))
    assert sum(r is not None for r in results) == 1
    sent = [r for batch in await asyncio.gather(one.flush(), two.flush()) for r in batch]
    assert [r.outcome for r in sent] == ["sent"]
    assert len(rx.requests) == 1


# -- alerts: batched, quiet hours, urgent ------------------------------------------------------


def alert_channel(rx: Receiver, **extra: object) -> WebhookChannel:
    return webhook(rx, name="alerts", path="/alerts", alerts=True, **extra)


def _alerted(digest: Digest | None) -> list[int]:
    assert digest is not None
    return sorted(i for e in digest.entries for i in e.match_ids)


async def test_alerts_are_batched(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    ch = alert_channel(rx)
    outbox = make_outbox(store, clock, {"alerts": WebhookSender(ch, client)}, [ch])
    first = store_news(store, clock(), News("NORAD intercepts aircraft", score=8, severity="alert"))
    assert await outbox.build_alerts(ch, clock.advance(seconds=2)) is None  # waiting for a burst
    second = store_news(store, clock(), News("NORAD raises alert level", score=9, severity="alert"))
    store_news(store, clock(), News("NORAD budget note", score=3))  # digest severity: not an alert
    batch = await outbox.build_alerts(ch, clock.advance(seconds=4))
    assert batch is not None and batch.kind == "alert"
    assert _alerted(batch) == first + second
    assert await outbox.build_alerts(ch, clock.advance(seconds=10)) is None  # nothing new
    [report] = await outbox.flush()
    assert report.outcome == "sent" and keys(rx) == [batch.key]
    assert rx.requests[0].json()["kind"] == "alert"


@pytest.mark.parametrize("timezone", ["UTC", "America/Toronto"])
async def test_alerts_are_held_in_quiet_hours_and_released_when_they_end(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient, timezone: str
) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    night = datetime(2026, 11, 20, 23, 30, tzinfo=zone).astimezone(UTC)
    morning = datetime(2026, 11, 21, 7, 0, tzinfo=zone).astimezone(UTC)
    clock.to(night)
    ch = alert_channel(rx, quiet_hours="22:00-07:00")
    outbox = make_outbox(
        store, clock, {"alerts": WebhookSender(ch, client)}, [ch], timezone=timezone
    )
    held = store_news(
        store, clock(), News("NORAD tracks Russian bombers", score=8, severity="alert")
    )
    for when in (
        night + timedelta(seconds=10),
        night + timedelta(hours=3),
        morning - timedelta(seconds=1),
    ):
        assert await outbox.build_alerts(ch, clock.to(when)) is None, when
    assert store.deliveries() == []
    released = await outbox.build_alerts(ch, clock.to(morning))
    assert _alerted(released) == held
    await outbox.flush()
    assert len(rx.requests) == 1


async def test_an_urgent_alert_is_not_held_by_quiet_hours(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    clock.to(datetime(2026, 11, 20, 23, 30, tzinfo=UTC))
    ch = alert_channel(rx, quiet_hours="22:00-07:00")
    outbox = make_outbox(store, clock, {"alerts": WebhookSender(ch, client)}, [ch])
    calm = store_news(store, clock(), News("NORAD exercise planned", score=7, severity="alert"))
    urgent = store_news(
        store,
        clock(),
        News("NORAD scrambles jets over Arctic", score=9, severity="alert", urgent=True),
    )
    batch = await outbox.build_alerts(ch, clock.advance(seconds=6))
    assert _alerted(batch) == calm + urgent  # the urgent one takes the held one with it
    [report] = await outbox.flush()
    assert report.outcome == "sent"


@pytest.mark.parametrize("include", [True, False])
async def test_include_alerted_in_digest(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient, include: bool
) -> None:
    ch = webhook(rx, alerts=True, include_alerted_in_digest=include, digest="0 * * * *")
    outbox = make_outbox(store, clock, {"hook": WebhookSender(ch, client)}, [ch])
    alert = store_news(store, clock(), News("NORAD detects balloon", score=9, severity="alert"))
    quiet = store_news(store, clock(), News("NORAD review report published", score=4))
    assert _alerted(await outbox.build_alerts(ch, clock.advance(seconds=6))) == alert
    window = await outbox.due_digest_windows(ch, clock.advance(hours=1))
    assert window is not None
    in_digest = _alerted(await outbox.build_digest(ch, window))
    assert in_digest == (sorted(alert + quiet) if include else quiet)
    await outbox.flush()
    assert [r.json()["kind"] for r in rx.requests] == ["alert", "digest"]


# -- the window a digest covers ----------------------------------------------------------------


async def test_a_digest_covers_the_time_since_the_previous_digest(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    """Header, webhook payload and selection agree: a five-minute schedule gives five-minute
    windows, not seven days; a first digest reaches back to its oldest match only."""
    from monitor.render import console_text

    ch = webhook(rx, digest="*/5 * * * *", max_items=1)
    outbox = make_outbox(store, clock, {"hook": WebhookSender(ch, client)}, [ch])
    first_at = clock.advance(minutes=1)  # 15:01
    store_news(store, first_at, News("NORAD radar contract signed"))

    first = await outbox.build_digest(ch, clock.to(START + timedelta(minutes=5)))
    assert first is not None
    assert (first.window_start, first.window_end) == (first_at, clock())

    findings = News("NORAD review: first findings", score=9, summary="Radar gaps in the North.")
    costs = News("NORAD review: costs", score=3, summary="Billions over twenty years.")
    store_news(store, clock.advance(minutes=2), findings, costs)  # room for one: costs waits
    second = await outbox.build_digest(ch, clock.to(START + timedelta(minutes=10)))
    assert second is not None
    assert (second.window_start, second.window_end) == (first.window_end, clock())
    assert "15:05–15:10 UTC" in console_text(second)

    third = await outbox.build_digest(ch, clock.to(START + timedelta(minutes=15)))
    assert third is not None and [e.lead.title for e in third.entries] == ["NORAD review: costs"]
    # the match the previous digest had no room for is older than the previous digest's end:
    # the window reaches back to it, so every match shown is inside the window shown
    assert (third.window_start, third.window_end) == (START + timedelta(minutes=7), clock())

    await outbox.flush()
    windows = [r.json()["window"] for r in rx.requests]
    assert windows == [
        {"start": "2026-11-20T15:01:00Z", "end": "2026-11-20T15:05:00Z"},
        {"start": "2026-11-20T15:05:00Z", "end": "2026-11-20T15:10:00Z"},
        {"start": "2026-11-20T15:07:00Z", "end": "2026-11-20T15:15:00Z"},
    ]


# -- idempotency keys across installations -----------------------------------------------------


async def test_two_installations_never_send_the_same_key(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Two databases, each with a channel named ``hook``, build the digest of the same window
    and an alert of the same match ids: a receiver that drops keys it has seen gets both."""
    other = Store.open(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        for s in (store, other):
            store_news(s, clock(), News("NORAD radar contract signed", severity="alert"))
        ch = webhook(rx, alerts=True)
        senders: dict[str, Sender] = {"hook": WebhookSender(ch, client)}
        outboxes = [make_outbox(s, clock, senders, [ch]) for s in (store, other)]
        window = clock.advance(minutes=30)
        alerts = [await o.build_alerts(ch, window) for o in outboxes]
        digests = [await o.build_digest(ch, window) for o in outboxes]
        for batch in await asyncio.gather(*(o.flush() for o in outboxes)):
            assert [r.outcome for r in batch] == ["sent", "sent"]
    finally:
        other.close()
    assert all(d is not None for d in alerts + digests)
    sent = keys(rx)
    assert len(sent) == 4 and len(set(sent)) == 4, sent
    assert store.installation_id() != other.installation_id()
    assert len(store.installation_id()) == 32


async def test_a_delivery_that_cannot_be_built_is_dead_and_blocks_nothing(
    store: Store, clock: Clock, rx: Receiver, client: httpx.AsyncClient
) -> None:
    """A damaged outbox row (its payload cut short) fails the same way at every attempt: it is
    dead at once with its error, and the deliveries after it, of its own channel and of
    others, are sent in the same flush."""
    from monitor import digest as digests

    ch, other = webhook(rx), webhook(rx, name="other", path="/other")
    senders: dict[str, Sender] = {c.name: WebhookSender(c, client) for c in (ch, other)}
    outbox = make_outbox(store, clock, senders, [ch, other])
    damaged = digests.build_digest(
        "hook", [], window_start=clock() - timedelta(hours=1), window_end=clock()
    )
    store.enqueue_delivery(damaged, digests.digest_to_json(damaged)[:40], clock())
    store_news(store, clock(), News("NORAD radar contract signed"))
    window = clock.advance(minutes=30)
    assert await outbox.build_digest(ch, window) is not None
    assert await outbox.build_digest(other, window) is not None

    reports = await outbox.flush()
    assert sorted((r.channel, r.outcome) for r in reports) == [
        ("hook", "dead"),
        ("hook", "sent"),
        ("other", "sent"),
    ]
    [dead] = store.deliveries(status="dead")
    assert dead.key == damaged.key and dead.attempts == 1
    assert dead.last_error and dead.last_error.startswith("cannot be built: JSONDecodeError")
    assert sorted(r.path for r in rx.requests) == ["/hook", "/other"]
