"""The channel schema: the documented YAML shape validates, mistakes get clear errors,
secrets stay out of repr and error text, and routing follows topics, score and severity."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from monitor.channels import (
    ChannelSpec,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from monitor.yamlparse import parse_yaml
from monitor.yamlsrc import expand_env, validation_problems
from tests.test_routing import rec

# The channels part of the configuration shape users write (docs/delivery.md). A ${VAR} inside
# a YAML flow mapping ({...}) must be quoted: unquoted, its braces are flow syntax.
EXAMPLE = """\
channels:
  - {name: console, type: console, digest: "*/30 * * * *"}
  - name: team-slack
    type: slack
    webhook_url: ${SLACK_WEBHOOK_URL}
    topics: [norad, five_eyes]          # omitted = all topics
    min_score: 5
    digest: "0 8 * * mon-fri"           # cron, in `timezone`
    alerts: true                        # high-severity matches go out at once
    quiet_hours: "22:00-07:00"          # alerts held until the end, unless urgent
  - name: analysts
    type: email
    to: [analyst@example.org]
    from: monitor@example.org
    smtp:
      {host: smtp.example.org, port: 587, security: starttls,
       username: "${SMTP_USER}", password: "${SMTP_PASSWORD}"}
    digest: "30 7 * * *"
  - {name: ops-hook, type: webhook, url: "https://hooks.example.org/monitor",
     secret: "${WEBHOOK_SECRET}", alerts: true}
"""

ENV = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/TOKENslack123",
    "SMTP_USER": "monitor-bot",
    "SMTP_PASSWORD": "pw-SECRET-smtp",
    "WEBHOOK_SECRET": "whsec-SECRET-0123456789",
}

ADAPTER: TypeAdapter[Any] = TypeAdapter(ChannelSpec)


class Channels(BaseModel):
    channels: list[ChannelSpec]


def load_example() -> list[Any]:
    doc, problems = parse_yaml(EXAMPLE, "monitor.yaml")
    assert doc is not None and not problems
    data, problems = expand_env(doc, ENV)
    assert not problems
    return Channels.model_validate(data).channels


def channel(**fields: Any) -> Any:
    return ADAPTER.validate_python(fields)


def error_text(**fields: Any) -> str:
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python(fields)
    return "\n".join(e["msg"] for e in info.value.errors())


SLACK = {"name": "s", "type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/X"}
HOOK = {"name": "h", "type": "webhook", "url": "https://example.org/h", "secret": "s" * 20}
EMAIL = {
    "name": "e",
    "type": "email",
    "to": ["a@example.org"],
    "from": "m@example.org",
    "smtp": {"host": "smtp.example.org"},
}


def test_unquoted_reference_in_a_flow_mapping_is_a_yaml_error() -> None:
    # the reason the example above quotes "${SMTP_USER}"
    doc, problems = parse_yaml("smtp: {host: h, username: ${SMTP_USER}}\n", "monitor.yaml")
    assert doc is None and problems and problems[0].line == 1


def test_documented_shape_validates() -> None:
    console, slack, email, hook = load_example()
    assert isinstance(console, ConsoleChannel) and console.digest == "*/30 * * * *"
    assert isinstance(slack, SlackChannel)
    assert slack.webhook_url.get_secret_value() == ENV["SLACK_WEBHOOK_URL"]
    assert slack.topics == ("norad", "five_eyes")
    assert slack.min_score == 5.0 and slack.alerts is True
    assert str(slack.quiet) == "22:00-07:00"
    assert slack.cron is not None and slack.cron.hours == (8,)
    assert isinstance(email, EmailChannel)
    assert email.sender == "monitor@example.org" and email.to == ("analyst@example.org",)
    assert email.smtp.security == "starttls" and email.smtp.port == 587
    assert email.smtp.password is not None
    assert email.smtp.password.get_secret_value() == ENV["SMTP_PASSWORD"]
    assert isinstance(hook, WebhookChannel) and hook.alerts is True
    assert hook.secret.get_secret_value() == ENV["WEBHOOK_SECRET"]


def test_defaults() -> None:
    ch = channel(name="c", type="console")
    assert ch.topics is None
    assert ch.min_score == 0.0
    assert ch.digest is None and ch.cron is None
    assert ch.alerts is False
    assert ch.quiet_hours is None and ch.quiet is None
    assert ch.include_alerted_in_digest is True
    assert ch.max_items == 50


def test_secrets_never_appear_in_repr_or_dumps() -> None:
    for ch in load_example():
        for text in (repr(ch), str(ch), ch.model_dump_json()):
            for secret in ("TOKENslack123", "pw-SECRET-smtp", "whsec-SECRET", "hooks.example"):
                assert secret not in text


@pytest.mark.parametrize(
    "fields",
    [
        {**SLACK, "webhook_url": "ftp://hooks.slack.com/services/T000/B000/TOKENsecret"},
        {**SLACK, "webhook_url": "http://hooks.slack.com/services/T000/B000/TOKENsecret"},
        {**HOOK, "url": "gopher://example.org/TOKENsecret"},
        {**HOOK, "secret": "TOKENsecret"},
        {**HOOK, "headers": {"Authorization": "Bearer TOKENsecret\nX: y"}},
    ],
)
def test_invalid_secrets_are_not_quoted_in_errors(fields: dict[str, Any]) -> None:
    hiding: TypeAdapter[Any] = TypeAdapter(
        ChannelSpec, config=ConfigDict(hide_input_in_errors=True)
    )
    with pytest.raises(ValidationError) as info:
        hiding.validate_python(fields)
    assert "TOKENsecret" not in str(info.value)
    assert "TOKENsecret" not in "".join(e["msg"] for e in info.value.errors())


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"name": "c", "type": "consol"}, "does not match any of the expected tags"),
        ({"name": "c"}, "Unable to extract tag"),
        ({"name": "c d", "type": "console"}, "channel name 'c d' must be"),
        ({"name": "c", "type": "console", "digest": "0 8 * *"}, "needs 5"),
        ({"name": "c", "type": "console", "digest": "0 8 * * mon-fry"}, "'fry'"),
        ({"name": "c", "type": "console", "quiet_hours": "22-7"}, "HH:MM-HH:MM"),
        ({"name": "c", "type": "console", "topics": []}, "topics is empty"),
        ({"name": "c", "type": "console", "topics": "norad"}, "must be a list such as [norad]"),
        ({"name": "c", "type": "console", "min_score": -1}, "greater than or equal to 0"),
        ({"name": "c", "type": "console", "max_items": 0}, "greater than or equal to 1"),
        ({"name": "c", "type": "console", "min_severity": "high"}, "'digest' or 'alert'"),
        ({"name": "c", "type": "console", "colour": "red"}, "Extra inputs are not permitted"),
        ({**SLACK, "webhook_url": "http://hooks.slack.com/x"}, "must use https://"),
        ({**SLACK, "webhook_url": "hooks.slack.com/x"}, "got scheme 'none'"),
        ({**SLACK, "webhook_url": "https://"}, "has no host"),
        ({**SLACK, "webhook_url": 12345}, "must be a string"),
        ({**HOOK, "url": "mailto:x@example.org"}, "https:// or http://"),
        ({**HOOK, "secret": "short"}, "shorter than 16 characters"),
        ({**HOOK, "headers": {"Idempotency-Key": "x"}}, "cannot be overridden"),
        ({**HOOK, "headers": {"Bad Name": "x"}}, "not a valid HTTP header name"),
        ({**HOOK, "headers": {"X-A": "a\r\nB: c"}}, "must be on one line"),
        ({**EMAIL, "to": []}, "at least 1 item"),
        ({**EMAIL, "to": ["not-an-address"]}, "'not-an-address' is not an email address"),
        ({**EMAIL, "from": "monitor"}, "'monitor' is not an email address"),
        ({**EMAIL, "smtp": {"host": "smtp.example.org", "username": "u"}}, "no password"),
        ({**EMAIL, "smtp": {"host": "smtp.example.org", "password": "p"}}, "no username"),
        ({**EMAIL, "smtp": {"host": "smtp.example.org:587"}}, "put the port in smtp.port"),
        ({**EMAIL, "smtp": {"host": "h", "security": "tls"}}, "'starttls', 'ssl' or 'none'"),
        ({**EMAIL, "smtp": {"host": "h", "port": 70000}}, "less than or equal to 65535"),
        ({**EMAIL, "smtp": {"host": "h", "timeout": "soon"}}, "must be a duration"),
        ({**EMAIL, "smtp": {"host": "h", "username": "u", "password": 1234}}, "quote it"),
        ({**EMAIL, "subject_prefix": "a\nb"}, "single line"),
    ],
)
def test_mistakes_are_reported_clearly(fields: dict[str, Any], fragment: str) -> None:
    assert fragment in error_text(**fields)


def test_all_problems_are_reported_at_once_with_lines() -> None:
    text = """\
channels:
  - name: team-slack
    type: slack
    webhook_url: http://hooks.slack.com/services/T/B/SECRETPART
    digest: "0 8 * * mon-fry"
    quiet_hours: "25:00-01:00"
    sendr: x
"""
    doc, _ = parse_yaml(text, "monitor.yaml")
    assert doc is not None
    with pytest.raises(ValidationError) as info:
        Channels.model_validate(doc.data)
    problems = validation_problems(info.value, doc, model=Channels)
    messages = "\n".join(str(p) for p in problems)
    assert len(problems) == 4
    assert "must use https://" in messages
    assert "mon-fry" in messages
    assert "25:00 is not a time of day" in messages
    assert "unknown key 'sendr'" in messages
    assert "SECRETPART" not in messages
    assert all(str(p).startswith("monitor.yaml:") for p in problems)


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("ssl", 465), ("none", 25)])
def test_smtp_port_defaults_from_security(security: str, port: int) -> None:
    ch = channel(**{**EMAIL, "smtp": {"host": "smtp.example.org", "security": security}})
    assert ch.smtp.port == port


@pytest.mark.parametrize(("given", "seconds"), [(10, 10.0), ("30s", 30.0), ("2m", 120.0)])
def test_smtp_timeout_accepts_durations(given: Any, seconds: float) -> None:
    ch = channel(**{**EMAIL, "smtp": {"host": "smtp.example.org", "timeout": given}})
    assert ch.smtp.timeout == seconds


def test_email_accepts_one_address_and_display_names() -> None:
    ch = channel(**{**EMAIL, "to": "a@example.org", "from": "Policy Monitor <m@example.org>"})
    assert ch.to == ("a@example.org",)
    assert ch.sender_address == "m@example.org"
    assert ch.recipient_addresses == ("a@example.org",)
    by_name = EmailChannel(
        name="e", type="email", to=("a@example.org",), sender="m@example.org", smtp=EMAIL["smtp"]
    )
    assert by_name.sender == "m@example.org"


def test_slack_over_http_is_allowed_for_localhost_only() -> None:
    assert channel(**{**SLACK, "webhook_url": "http://127.0.0.1:8080/hook"}).name == "s"
    assert channel(**{**SLACK, "webhook_url": "http://localhost/hook"}).name == "s"
    assert "must use https://" in error_text(**{**SLACK, "webhook_url": "http://10.0.0.1/hook"})


def test_webhook_headers_are_kept() -> None:
    ch = channel(**{**HOOK, "headers": {"Authorization": "Bearer abc", "X-Team": "ops"}})
    assert ch.header_values() == {"Authorization": "Bearer abc", "X-Team": "ops"}
    assert "Bearer abc" not in repr(ch) and "Bearer abc" not in ch.model_dump_json()


def test_topics_are_deduplicated_in_order() -> None:
    ch = channel(name="c", type="console", topics=["norad", "tariffs", "norad"])
    assert ch.topics == ("norad", "tariffs")


@pytest.mark.parametrize(
    ("fields", "topic", "score", "severity", "accepted"),
    [
        ({}, "norad", 0.0, "digest", True),
        ({"topics": ["norad"]}, "norad", 1.0, "digest", True),
        ({"topics": ["norad"]}, "tariffs", 9.0, "alert", False),
        ({"min_score": 5}, "norad", 4.9, "alert", False),
        ({"min_score": 5}, "norad", 5.0, "digest", True),
        ({"min_severity": "alert"}, "norad", 9.0, "digest", False),
        ({"min_severity": "alert"}, "norad", 9.0, "alert", True),
        ({}, "norad", 1.0, "unknown", False),
    ],
)
def test_route_takes(
    fields: dict[str, Any], topic: str, score: float, severity: str, accepted: bool
) -> None:
    ch = channel(name="c", type="console", **fields)
    assert ch.route.takes(rec(1, topic, score, severity)) is accepted


def test_channels_are_immutable() -> None:
    ch = channel(name="c", type="console")
    with pytest.raises(ValidationError):
        ch.name = "other"
