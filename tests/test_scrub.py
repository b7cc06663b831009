"""Tests for monitor.scrub: which pieces of which secrets are hidden, in which spellings."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from monitor.channels import EmailChannel, WebhookChannel
from monitor.errors import ConfigError, Problem
from monitor.scrub import Scrubber, model_secrets, referenced_values, scrubbed_config_error

SLACK = "https://hooks.example.com/services/T0001/B0002/xoxbAbCdEfGhIjKlMnOp"
TOKEN = "xoxbAbCdEfGhIjKlMnOp"

CASES = [
    # (why, secrets, urls, text, must vanish, must stay)
    ("whole secret", [SLACK], [], f"posting to {SLACK} failed", [SLACK, TOKEN], ["posting to"]),
    (
        "path echoed by a receiver",
        [SLACK],
        [],
        f"404 Cannot POST /services/T0001/B0002/{TOKEN}",
        [TOKEN],
        ["404 Cannot POST"],
    ),
    ("token segment alone", [SLACK], [], f"unknown token {TOKEN}", [TOKEN], ["unknown token"]),
    (
        "percent-encoded",
        ["pa ss/wörd+1"],
        [],
        "login " + quote("pa ss/wörd+1", safe=""),
        [quote("pa ss/wörd+1", safe="")],
        ["login"],
    ),
    (
        "JSON-escaped",
        ['se"cret\\value'],
        [],
        json.dumps({"e": 'se"cret\\value'}),
        [json.dumps('se"cret\\value')[1:-1]],
        ['"e"'],
    ),
    (
        "feed URL: password and token, not the host",
        [],
        ["https://reader:hunter22@news.example.org/f.xml?token=abcd1234&page=2"],
        "auth failed with hunter22; token abcd1234; page 2 of news.example.org",
        ["hunter22", "abcd1234"],
        ["news.example.org", "page 2"],
    ),
    (
        "any URL's credentials, even unknown ones",
        [],
        [],
        "fetch https://u:p4ssw0rd@h.example/x?api_key=k3y&q=1 failed",
        ["p4ssw0rd", "k3y"],
        ["h.example/x", "q=1"],
    ),
    ("too short to tell from words", ["abc"], [], "abc def", [], ["abc def"]),
]


@pytest.mark.parametrize(
    ("secrets", "urls", "text", "gone", "kept"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_scrubbing(
    secrets: list[str], urls: list[str], text: str, gone: list[str], kept: list[str]
) -> None:
    out = Scrubber(secrets, urls=urls)(text)
    for secret in gone:
        assert secret not in out, out
    for word in kept:
        assert word in out, out


def test_a_scrubber_learns_and_never_forgets() -> None:
    scrub = Scrubber(["first-secret-value"])
    scrub.include(Scrubber(["second-secret-value"]))
    scrub.add(["third-secret-value"])
    out = scrub("first-secret-value second-secret-value third-secret-value")
    assert out == "*** *** ***"


def test_model_secrets_finds_every_secret_field() -> None:
    hook = WebhookChannel.model_validate(
        {
            "name": "hook",
            "type": "webhook",
            "url": "https://hooks.example.org/x?t=url-token",
            "secret": "signing-secret-0123456789",
            "headers": {"Authorization": "Bearer header-token"},
        }
    )
    mail = EmailChannel.model_validate(
        {
            "name": "mail",
            "type": "email",
            "to": "a@example.org",
            "from": "m@example.org",
            "smtp": {"host": "smtp.example.org", "username": "u", "password": "smtp-pw"},
        }
    )
    assert sorted(model_secrets([hook, mail])) == sorted(
        [
            "https://hooks.example.org/x?t=url-token",
            "signing-secret-0123456789",
            "Bearer header-token",
            "smtp-pw",
        ]
    )


def test_config_errors_lose_the_referenced_values() -> None:
    text = 'channels: [{secret: "${HOOK_SECRET}", url: "${HOOK_URL}"}] # ${UNSET}'
    env = {"HOOK_SECRET": "s3cret-value-123", "HOOK_URL": "https://h.example/t0k3n", "X": "y"}
    assert referenced_values(text, env) == ["s3cret-value-123", "https://h.example/t0k3n"]
    exc = ConfigError([Problem("m.yaml", 3, "secret s3cret-value-123 is bad")])
    out = scrubbed_config_error(exc, Scrubber(referenced_values(text, env)))
    assert [str(p) for p in out.problems] == ["m.yaml:3: secret *** is bad"]
