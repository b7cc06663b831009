"""The email sender against real aiosmtpd servers on 127.0.0.1: STARTTLS with AUTH, implicit TLS,
plain SMTP; the received message parsed with the email package; failures mapped to
permanent or transient DeliveryError. Certificates are made in the test with `cryptography`."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from monitor.channels import EmailChannel
from monitor.deliver.email import EmailSender
from monitor.errors import DeliveryError
from monitor.model import Digest, DigestEntry, MatchRecord, Reason
from monitor.render import message_id
from tests.support import Progress
from tests.tlscerts import Certs, make_certs

USER, PASSWORD = "monitor-bot", "pw-Secret-42"
WHEN = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
TITLE = "NORAD <script>alert(1)</script> *bold* @here & « Arctique » 🚀"


def make_digest() -> Digest:
    rec = MatchRecord(
        id=1,
        item_id=10,
        feed_url="https://feeds.example.org/rss",
        feed_name="Le Devoir",
        url="https://www.example.org/norad?x=1&y=2",
        title=TITLE,
        summary="[x](javascript:alert(1)) AT&amp;T مرحبا",
        published=WHEN,
        topic="norad",
        score=6.5,
        severity="digest",
        reasons=(Reason("NORAD", "title", 0, 3.0, "acronym"),),
        matched_at=WHEN,
        also_in=("Globe and Mail",),
    )
    return Digest(
        key="analysts:digest:2026-03-09T12:00Z",
        channel="analysts",
        kind="digest",
        window_start=WHEN - timedelta(days=1),
        window_end=WHEN,
        entries=(DigestEntry(lead=rec, topics=("norad",), also_in=rec.also_in, match_ids=(1,)),),
        timezone="America/Toronto",
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls"))


@dataclass
class Sink:
    """An aiosmtpd handler that keeps what it receives; can refuse recipients."""

    messages: list[Envelope] = field(default_factory=list)
    rcpt_reply: str | None = None
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def authenticator(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    sink: Sink
    port: int


def run_server(**kwargs: Any) -> Iterator[Server]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield Server(sink, port)
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(certs: Certs) -> Iterator[Server]:
    yield from run_server(
        tls_context=certs.server_context(),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )


@pytest.fixture
def ssl_server(certs: Certs) -> Iterator[Server]:
    yield from run_server(
        ssl_context=certs.server_context(),
        server_hostname="localhost",
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,  # aiosmtpd counts only STARTTLS as TLS for AUTH
    )


@pytest.fixture
def plain_server() -> Iterator[Server]:
    yield from run_server()


def make_sender(
    port: int,
    security: str,
    *,
    certs: Certs | None = None,
    login: tuple[str, str] | None = (USER, PASSWORD),
    timeout: float = 5.0,
) -> EmailSender:
    smtp: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "timeout": timeout,
    }
    if login is not None:
        smtp |= {"username": login[0], "password": login[1]}
    channel = EmailChannel.model_validate(
        {
            "name": "analysts",
            "type": "email",
            "to": ["analyst@example.org", "Chief <chief@example.org>"],
            "from": "Policy Monitor <monitor@example.org>",
            "subject_prefix": "[watch]",
            "smtp": smtp,
        }
    )
    return EmailSender(
        channel, ssl_context=certs.client_context() if certs else None, local_hostname="test"
    )


def received(server: Server) -> email.message.EmailMessage:
    (envelope,) = server.sink.messages
    content = envelope.original_content or envelope.content
    assert isinstance(content, bytes)
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


# --------------------------------------------------------------------------- delivery


async def test_starttls_with_auth_delivers_both_parts(
    starttls_server: Server, certs: Certs
) -> None:
    d = make_digest()
    progress = Progress()
    await make_sender(starttls_server.port, "starttls", certs=certs).send(
        d, on_part=progress.record
    )
    assert progress == [1]
    (envelope,) = starttls_server.sink.messages
    assert envelope.mail_from == "monitor@example.org"
    assert envelope.rcpt_tos == ["analyst@example.org", "chief@example.org"]
    msg = received(starttls_server)
    assert msg["Subject"] == "[watch] Digest: 1 story, 1 match — norad"
    assert msg["From"] == "Policy Monitor <monitor@example.org>"
    assert msg["To"] == "analyst@example.org, Chief <chief@example.org>"
    assert msg["Message-ID"] == message_id(d.key, "monitor@example.org")
    plain, html = (p.get_content() for p in msg.iter_parts())
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert TITLE in plain
    assert "<script>" not in html
    assert "NORAD &lt;script&gt;alert(1)&lt;/script&gt; *bold* @here &amp; « Arctique » 🚀" in html
    assert 'href="https://www.example.org/norad?x=1&amp;y=2"' in html
    assert "javascript:" not in html.split("href=")[-1].split(">")[0]
    assert "AT&amp;amp;T" in html and "مرحبا" in html


# aiosmtpd warns that AUTH does not require (STARTTLS) TLS; here TLS starts with the first byte
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_implicit_tls_with_auth(ssl_server: Server, certs: Certs) -> None:
    await make_sender(ssl_server.port, "ssl", certs=certs).send(make_digest())
    msg = received(ssl_server)
    assert msg["Subject"].startswith("[watch] Digest")


async def test_plain_smtp_without_auth(plain_server: Server) -> None:
    await make_sender(plain_server.port, "none", login=None).send(make_digest())
    assert received(plain_server)["X-Monitor-Digest"] == make_digest().key


async def test_start_part_one_sends_nothing(plain_server: Server) -> None:
    await make_sender(plain_server.port, "none", login=None).send(make_digest(), start_part=1)
    assert plain_server.sink.messages == []


# --------------------------------------------------------------------------- failures


async def test_refused_login_is_permanent(starttls_server: Server, certs: Certs) -> None:
    s = make_sender(starttls_server.port, "starttls", certs=certs, login=(USER, "wrong-pw-X"))
    with pytest.raises(DeliveryError) as info:
        await s.send(make_digest())
    assert info.value.permanent is True
    assert "refused the login (535" in str(info.value)
    assert "wrong-pw-X" not in str(info.value)
    assert starttls_server.sink.messages == []


async def test_unreachable_port_is_transient() -> None:
    s = make_sender(free_port(), "starttls", login=None)
    with pytest.raises(DeliveryError) as info:
        await s.send(make_digest())
    assert info.value.permanent is False
    assert "cannot connect" in str(info.value)


async def test_untrusted_certificate_is_permanent(starttls_server: Server) -> None:
    s = make_sender(starttls_server.port, "starttls")  # system trust store: self-signed refused
    with pytest.raises(DeliveryError) as info:
        await s.send(make_digest())
    assert info.value.permanent is True
    assert "certificate was not accepted" in str(info.value)


async def test_starttls_required_but_not_offered_is_permanent(plain_server: Server) -> None:
    s = make_sender(plain_server.port, "starttls", login=None)
    with pytest.raises(DeliveryError) as info:
        await s.send(make_digest())
    assert info.value.permanent is True
    assert "smtp.security" in str(info.value)


async def test_auth_required_over_plain_connection_is_permanent(
    starttls_server: Server,
) -> None:
    s = make_sender(starttls_server.port, "none")
    with pytest.raises(DeliveryError) as info:
        await s.send(make_digest())
    assert info.value.permanent is True


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 No such user", True), ("451 4.3.0 Try again later", False)],
)
async def test_refused_recipients(plain_server: Server, reply: str, permanent: bool) -> None:
    plain_server.sink.rcpt_reply = reply
    with pytest.raises(DeliveryError) as info:
        await make_sender(plain_server.port, "none", login=None).send(make_digest())
    assert info.value.permanent is permanent
    assert "every recipient was refused" in str(info.value)
    assert reply.split(" ", 1)[0] in str(info.value)


async def test_some_recipients_refused_still_counts_as_sent(
    plain_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    plain_server.sink.refuse = {"chief@example.org"}
    progress = Progress()
    await make_sender(plain_server.port, "none", login=None).send(
        make_digest(), on_part=progress.record
    )
    (envelope,) = plain_server.sink.messages
    assert envelope.rcpt_tos == ["analyst@example.org"]
    assert progress == [1]
    assert "refused 1 recipient(s): chief@example.org (550)" in caplog.text


async def test_tls_handshake_against_a_plain_server_is_transient(plain_server: Server) -> None:
    s = make_sender(plain_server.port, "ssl", login=None, timeout=2)
    with pytest.raises(DeliveryError) as info:
        await s.send(make_digest())
    assert info.value.permanent is False


async def test_password_is_never_logged(
    starttls_server: Server, certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s = make_sender(starttls_server.port, "starttls", certs=certs)
    await s.send(make_digest())
    assert "delivered analysts:digest" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(s) and PASSWORD not in repr(s.channel)
