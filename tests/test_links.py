"""Signed feedback links: signing, expiry, tampering (pure, no database)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.links import DigestLinks, LinkError, sign_token, token_id, verify_token
from tests.support import write_config

SECRET = "s3cret-s3cret-s3cret"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_token_says_what_it_was_signed_with() -> None:
    token = sign_token(SECRET, 42, "norad", "not_relevant", NOW + timedelta(days=1))
    claim = verify_token(SECRET, token, NOW)
    assert (claim.item_id, claim.topic, claim.verdict) == (42, "norad", "not_relevant")
    assert claim.expires == NOW + timedelta(days=1)
    assert claim.token_id == token_id(token) != token


def test_a_token_expires() -> None:
    token = sign_token(SECRET, 42, "norad", "open", NOW + timedelta(hours=1))
    verify_token(SECRET, token, NOW + timedelta(minutes=59))
    with pytest.raises(LinkError, match="expired on 2026-12-01 13:00 UTC") as exc:
        verify_token(SECRET, token, NOW + timedelta(hours=1))
    assert exc.value.reason == "expired"


def _tampered(token: str, old: str, new: str) -> str:
    head, _, mac = token.partition(".")
    payload = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()
    assert old in payload
    changed = base64.urlsafe_b64encode(payload.replace(old, new).encode()).rstrip(b"=").decode()
    return f"{changed}.{mac}"


@pytest.mark.parametrize(
    ("old", "new"),
    [(".42.", ".43."), ("not_relevant", "relevant"), ("norad", "tariffs"), (".17", ".27")],
    ids=["item", "verdict", "topic", "expiry"],
)
def test_changing_any_part_breaks_the_signature(old: str, new: str) -> None:
    token = sign_token(SECRET, 42, "norad", "not_relevant", datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(LinkError) as exc:
        verify_token(SECRET, _tampered(token, old, new), NOW)
    assert exc.value.reason == "signature"


def test_another_secret_or_a_cut_link_is_refused() -> None:
    token = sign_token(SECRET, 42, "norad", "open", NOW + timedelta(days=1))
    with pytest.raises(LinkError) as exc:
        verify_token("another-secret-entirely", token, NOW)
    assert exc.value.reason == "signature"
    for bad in (token[:20], token.split(".")[0], "", "a.b.c", "%%%.%%%"):
        with pytest.raises(LinkError):
            verify_token(SECRET, bad, NOW)


def test_signing_refuses_what_would_make_a_bad_token() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        sign_token("short", 1, "norad", "open", NOW)
    with pytest.raises(ValueError, match="verdict must be one of"):
        sign_token(SECRET, 1, "norad", "maybe", NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a topic id"):
        sign_token(SECRET, 1, "No.Rad", "open", NOW)
    with pytest.raises(ValueError, match="aware"):
        sign_token(SECRET, 1, "norad", "open", datetime(2027, 1, 1))


def test_digest_links_are_the_same_each_time_a_digest_is_rendered() -> None:
    links = DigestLinks("https://monitor.example.org/", SECRET)
    one = links.for_match(42, "norad", NOW)
    assert one == links.for_match(42, "norad", NOW)
    assert one.open_url.startswith("https://monitor.example.org/f/")
    open_claim = verify_token(SECRET, one.open_url.rsplit("/", 1)[1], NOW)
    reject = verify_token(SECRET, one.not_relevant_url.rsplit("/", 1)[1], NOW)
    assert (open_claim.verdict, reject.verdict) == ("open", "not_relevant")
    assert reject.expires == NOW + links.ttl


# --------------------------------------------------------------------------- web: settings


def _load(tmp_path: Path, web: str, env: dict[str, str] | None = None) -> Config:
    return load_config(write_config(tmp_path, web), env or {})


def test_links_come_from_web_settings_and_the_secret_from_the_environment(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path, "web: {public_url: 'https://m.example.org/', secret: '${S}'}\n", {"S": SECRET}
    )
    links = cfg.web.digest_links()
    assert links is not None and links.secret == SECRET
    assert links.for_match(1, "norad", NOW).open_url.startswith("https://m.example.org/f/")
    assert SECRET not in repr(cfg) and cfg.scrubber()(f"x {SECRET} y") != f"x {SECRET} y"
    assert _load(tmp_path, "").web.digest_links() is None
    # the pages listen where status.listen says: web: holds no address of its own
    assert not hasattr(_load(tmp_path, "").web, "port")


@pytest.mark.parametrize(
    ("web", "said"),
    [
        ("web: {public_url: 'https://m.example.org'}", "need web.secret to sign them"),
        ("web: {public_url: 'javascript:alert(1)', secret: '${S}'}", "is not an http(s) address"),
        ("web: {secret: tooshort}", "shorter than 16 characters"),
        ("web: {port: 8080}", "unknown key 'port'"),  # the address is status.listen
        ("web: {public_url: 'https://m.example.org', secret: '${MISSING}'}", "MISSING"),
    ],
)
def test_bad_web_settings_say_what_would_be_right(tmp_path: Path, web: str, said: str) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, web + "\n", {"S": SECRET})
    assert any(said in str(p) and "monitor.yaml:" in str(p) for p in exc.value.problems), exc.value
