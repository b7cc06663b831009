"""The schema of delivery channels: what users write under ``channels:`` in monitor.yaml.

Owns: the pydantic models ``ConsoleChannel``, ``SlackChannel``, ``EmailChannel``,
``WebhookChannel`` (with ``SmtpSettings``) and the tagged union ``ChannelSpec``; a channel's
``route`` is its routing filter, decided by ``monitor.routing``. Pure: validates values, does no
I/O. May import ``monitor.schedule`` and ``monitor.routing``; must not import config, store,
deliver or anything that does I/O.

Secrets (the Slack webhook URL, the SMTP password, the webhook URL, signing secret and extra
header values) arrive already expanded from ``${VAR}`` references and are held as
``SecretStr``, so neither ``repr`` nor a JSON dump shows them. Error messages never quote a
secret; a model that embeds channels should set ``hide_input_in_errors=True`` so that
``str(ValidationError)`` does not echo the input either.
"""

from __future__ import annotations

import ipaddress
import re
from email.utils import parseaddr
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.routing import Route
from monitor.schedule import CronSpec, QuietHours, parse_cron, parse_quiet_hours

SmtpSecurity = Literal["starttls", "ssl", "none"]

DEFAULT_SMTP_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}

#: Headers the webhook sender sets itself; a channel's ``headers`` may not override them.
RESERVED_WEBHOOK_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "idempotency-key",
        "x-monitor-timestamp",
        "x-monitor-signature",
        "transfer-encoding",
    }
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOPIC = re.compile(r"^\S+$")
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,}$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name (RFC 9110 token)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_http_url(value: str, field: str, *, https_only: bool) -> str:
    """Validate an http(s) URL without ever quoting it (it may carry a token)."""
    if not value or value != value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"{field} must be a URL without spaces, e.g. https://hooks.example.org/x")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"{field} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        shown = parts.scheme or "none"
        wanted = "https://" if https_only else "https:// or http://"
        raise ValueError(f"{field} must start with {wanted} (got scheme '{shown}')")
    if not parts.hostname:
        raise ValueError(
            f"{field} has no host; write the full URL, e.g. https://hooks.example.org/x"
        )
    if https_only and parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"{field} must use https:// (it carries a token); plain http:// is only allowed "
            "for localhost"
        )
    return value


def _secret_text(value: Any, field: str) -> Any:
    """Refuse non-string secrets without echoing them (YAML turns 0123 into 123)."""
    if isinstance(value, SecretStr) or isinstance(value, str):
        return value
    raise ValueError(
        f"{field} must be a string; quote it in YAML or use a ${{VARIABLE}} reference "
        f"(got a {type(value).__name__})"
    )


def _duration_seconds(value: Any, field: str) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a duration such as 30 or '30s' (got {value})")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m is None:
            raise ValueError(
                f"{field} must be a duration such as 30, '30s' or '2m' (got '{value}')"
            )
        number, unit = float(m.group(1)), m.group(2) or "s"
        return number * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        hide_input_in_errors=True,
        allow_inf_nan=False,
    )


class SmtpSettings(_Strict):
    """How to reach the SMTP server of an email channel.

    ``security``: ``starttls`` (port 587, upgrade after connecting), ``ssl`` (port 465, TLS from
    the first byte) or ``none`` (plain text; only for a relay on a trusted network). ``port``
    defaults from ``security``. ``username`` and ``password`` come together or not at all.
    """

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: SmtpSecurity = "starttls"
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _default_port(cls, data: Any) -> Any:
        if isinstance(data, dict) and "port" not in data:
            security = data.get("security", "starttls")
            if isinstance(security, str) and security in DEFAULT_SMTP_PORTS:
                data = {**data, "port": DEFAULT_SMTP_PORTS[security]}
        return data

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if any(c.isspace() for c in value) or "/" in value or ":" in value.strip("[]"):
            raise ValueError(
                f"smtp.host must be a host name such as smtp.example.org, without scheme or "
                f"port (got '{value}'); put the port in smtp.port"
            )
        return value

    @field_validator("password", mode="before")
    @classmethod
    def _password(cls, value: Any) -> Any:
        return _secret_text(value, "smtp.password")

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        return _duration_seconds(value, "smtp.timeout")

    @model_validator(mode="after")
    def _auth_pair(self) -> SmtpSettings:
        if (self.username is None) != (self.password is None):
            given = "username" if self.username is not None else "password"
            missing = "password" if given == "username" else "username"
            raise ValueError(
                f"smtp has a {given} but no {missing}; give both to log in, or neither"
            )
        return self


class _ChannelBase(_Strict):
    """Fields every channel has."""

    name: str = Field(
        description="Unique channel name, used in logs, the outbox and digest keys.",
    )
    topics: tuple[str, ...] | None = Field(
        default=None, description="Topic ids routed to this channel; omitted means all topics."
    )
    min_score: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    min_severity: Literal["digest", "alert"] = "digest"
    digest: str | None = Field(
        default=None, description="Cron expression in the configured timezone; none = no digest."
    )
    alerts: bool = False
    quiet_hours: str | None = None
    include_alerted_in_digest: bool = Field(
        default=True,
        description=(
            "Whether a digest repeats matches already sent as alerts. True because a digest is "
            "the complete record of its window: people who read only the digest, or who missed "
            "an alert, must still see every match."
        ),
    )
    max_items: int = Field(default=50, ge=1, le=500)
    notices: bool = Field(
        default=False,
        description=(
            "Whether the channel hears of sources failing, silent or back (one notice per "
            "change of state, and a list at the foot of its digests)."
        ),
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"channel name '{value}' must be 1-64 letters, digits, '-', '_' or '.', "
                "starting with a letter or digit (e.g. team-slack)"
            )
        return value

    @field_validator("topics", mode="before")
    @classmethod
    def _topics_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(f"topics must be a list such as [{value}], not a single string")
        return value

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("topics is empty; list topic ids, or omit topics for all topics")
        for topic in value:
            if not _TOPIC.match(topic):
                raise ValueError(f"topic id '{topic}' must not be empty or contain spaces")
        return tuple(dict.fromkeys(value))

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return parse_cron(value).expression

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return str(parse_quiet_hours(value))

    @property
    def cron(self) -> CronSpec | None:
        """The parsed digest schedule, or ``None`` when the channel has no scheduled digest."""
        return parse_cron(self.digest) if self.digest is not None else None

    @property
    def quiet(self) -> QuietHours | None:
        """The parsed quiet hours, or ``None``."""
        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours is not None else None

    @property
    def route(self) -> Route:
        """Which matches this channel takes (the rule is :mod:`monitor.routing`'s)."""
        return Route.of(
            topics=self.topics, min_score=self.min_score, min_severity=self.min_severity
        )


class ConsoleChannel(_ChannelBase):
    """Print digests to standard output (the embedded default)."""

    type: Literal["console"]


class SlackChannel(_ChannelBase):
    """Post to a Slack incoming webhook with Block Kit messages."""

    type: Literal["slack"]
    webhook_url: SecretStr

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _url_type(cls, value: Any) -> Any:
        return _secret_text(value, "webhook_url")

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        _check_http_url(value.get_secret_value(), "webhook_url", https_only=True)
        return value


class EmailChannel(_ChannelBase):
    """Send multipart (plain text + HTML) email over SMTP."""

    type: Literal["email"]
    to: tuple[str, ...] = Field(min_length=1)
    sender: str = Field(alias="from")
    subject_prefix: str = Field(default="[monitor]", max_length=60)
    smtp: SmtpSettings

    @field_validator("to", mode="before")
    @classmethod
    def _to_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _to(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            _check_address(address, "to")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        _check_address(value, "from")
        return value

    @field_validator("subject_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if any(c in value for c in "\r\n"):
            raise ValueError("subject_prefix must be a single line")
        return value

    @property
    def sender_address(self) -> str:
        """The bare address of ``from`` (``monitor@example.org``), for the SMTP envelope."""
        return parseaddr(self.sender)[1]

    @property
    def recipient_addresses(self) -> tuple[str, ...]:
        """The bare addresses of ``to``, for the SMTP envelope."""
        return tuple(parseaddr(a)[1] for a in self.to)


def _check_address(value: str, field: str) -> None:
    if any(c in value for c in "\r\n"):
        raise ValueError(f"an address in '{field}' must be on one line")
    _, address = parseaddr(value)
    if not address or not _ADDRESS.match(address):
        raise ValueError(
            f"'{value}' is not an email address; write name@example.org "
            "or 'Name <name@example.org>'"
        )


class WebhookChannel(_ChannelBase):
    """POST signed JSON to any HTTP endpoint.

    The URL and the extra header values are held as secrets too: webhook URLs often carry a
    token, and headers an ``Authorization`` value.
    """

    type: Literal["webhook"]
    url: SecretStr
    secret: SecretStr
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("url", "secret", mode="before")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        return _secret_text(value, str(info.field_name))

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        _check_http_url(value.get_secret_value(), "url", https_only=False)
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError(
                "secret is shorter than 16 characters; use a long random value, e.g. the "
                "output of `openssl rand -hex 32`"
            )
        return value

    @field_validator("headers", mode="before")
    @classmethod
    def _header_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _secret_text(v, f"header '{k}'") for k, v in value.items()}
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, secret in value.items():
            if not _TOKEN.match(name):
                raise ValueError(f"'{name}' is not a valid HTTP header name")
            if name.lower() in RESERVED_WEBHOOK_HEADERS:
                raise ValueError(
                    f"header '{name}' is set by the webhook sender and cannot be overridden; "
                    "remove it"
                )
            if any(c in secret.get_secret_value() for c in "\r\n\0"):
                raise ValueError(f"the value of header '{name}' must be on one line")
        return value

    def header_values(self) -> dict[str, str]:
        """The extra headers with their real values, for the sender."""
        return {k: v.get_secret_value() for k, v in self.headers.items()}


ChannelSpec = Annotated[
    ConsoleChannel | SlackChannel | EmailChannel | WebhookChannel,
    Field(discriminator="type"),
]
"""Any channel; pydantic picks the model from the ``type`` key."""

CHANNEL_TYPES: tuple[str, ...] = ("console", "slack", "email", "webhook")
