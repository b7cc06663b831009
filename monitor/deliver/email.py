"""Send digests by email over SMTP (STARTTLS, implicit TLS or plain), with optional AUTH.

Owns: the SMTP conversation (stdlib ``smtplib`` run in a worker thread) and the translation of
``smtplib``, ``ssl`` and ``OSError`` failures into :class:`monitor.errors.DeliveryError`; this
is the only module that does so. Imports ``monitor.render``, ``monitor.channels`` and
``monitor.deliver.base``; must not import store, pipeline, scheduler or cli. The password is
never logged and never part of an error message.

Once the server has accepted the message (the reply to DATA), delivery counts as done: an error
while saying QUIT afterwards is logged, not raised, so a retry cannot send the mail twice.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from monitor.channels import EmailChannel
from monitor.deliver.base import ProgressCallback, checked_start, log
from monitor.errors import DeliveryError
from monitor.links import DigestLinks
from monitor.model import Digest
from monitor.render import email_message


class EmailSender:
    """Sends each digest as one multipart email to the channel's recipients."""

    def __init__(
        self,
        channel: EmailChannel,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        links: DigestLinks | None = None,
    ) -> None:
        """``ssl_context`` defaults to the system trust store with hostname checking;
        ``links`` adds each match's feedback links to the message."""
        self.channel = channel
        self.links = links
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        return f"EmailSender(channel={self.channel.name!r})"

    def message(self, digest: Digest) -> EmailMessage:
        return email_message(
            digest,
            sender=self.channel.sender,
            to=self.channel.to,
            subject_prefix=self.channel.subject_prefix,
            links=self.links,
        )

    async def send(
        self,
        digest: Digest,
        *,
        start_part: int = 0,
        on_part: ProgressCallback | None = None,
    ) -> None:
        """Send ``digest``; raises ``DeliveryError`` (``permanent`` for 5xx and bad config)."""
        if checked_start(start_part, 1) >= 1:
            return
        msg = self.message(digest)
        await asyncio.to_thread(self._send_sync, msg)
        log.info(
            "delivered %s to email channel %s (%d recipient(s) via %s:%d)",
            digest.key,
            self.channel.name,
            len(self.channel.to),
            self.channel.smtp.host,
            self.channel.smtp.port,
        )
        if on_part is not None:
            await on_part(1)

    def _what(self) -> str:
        smtp = self.channel.smtp
        return f"email channel '{self.channel.name}' ({smtp.host}:{smtp.port}, {smtp.security})"

    def _send_sync(self, msg: EmailMessage) -> None:
        smtp = self.channel.smtp
        conn: smtplib.SMTP | None = None
        try:
            if smtp.security == "ssl":
                conn = smtplib.SMTP_SSL(
                    smtp.host,
                    smtp.port,
                    local_hostname=self.local_hostname,
                    timeout=smtp.timeout,
                    context=self.ssl_context,
                )
            else:
                conn = smtplib.SMTP(
                    smtp.host, smtp.port, local_hostname=self.local_hostname, timeout=smtp.timeout
                )
            conn.ehlo()
            if smtp.security == "starttls":
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
            if smtp.username is not None and smtp.password is not None:
                conn.login(smtp.username, smtp.password.get_secret_value())
            refused = conn.send_message(
                msg,
                from_addr=self.channel.sender_address,
                to_addrs=list(self.channel.recipient_addresses),
            )
        except Exception as exc:
            if conn is not None:
                _close(conn)
            translated = self._translate(exc)
            if translated is exc:
                raise  # not an SMTP, TLS or socket failure: a bug, with its traceback
            raise translated from exc
        if refused:
            # some recipients were accepted: the mail is sent; resending would duplicate it
            log.warning(
                "email channel %s: server refused %d recipient(s): %s",
                self.channel.name,
                len(refused),
                ", ".join(f"{addr} ({code})" for addr, (code, _) in refused.items()),
            )
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError) as exc:
            log.info("email channel %s: QUIT failed after delivery: %s", self.channel.name, exc)
            _close(conn)

    def _translate(self, exc: Exception) -> Exception:
        """The ``DeliveryError`` for an SMTP/TLS/socket failure; anything else is a bug."""
        what = self._what()
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"{what}: the server refused the login ({exc.smtp_code} {_reply(exc.smtp_error)}); "
                "check smtp.username and smtp.password",
                permanent=True,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(
                f"{what}: the server does not support a required command ({exc}); check "
                "smtp.security (starttls, ssl or none) and whether the server offers AUTH",
                permanent=True,
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            detail = ", ".join(f"{a} ({c} {_reply(m)})" for a, (c, m) in exc.recipients.items())
            return DeliveryError(
                f"{what}: every recipient was refused: {detail}",
                permanent=all(code >= 500 for code in codes),
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return DeliveryError(f"{what}: the server closed the connection ({exc})")
        if isinstance(exc, smtplib.SMTPResponseException):
            return DeliveryError(
                f"{what}: the server answered {exc.smtp_code} {_reply(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            )
        if isinstance(exc, smtplib.SMTPException):
            return DeliveryError(f"{what}: {type(exc).__name__}: {exc}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"{what}: the server's TLS certificate was not accepted "
                f"({exc.verify_message or exc.reason}); fix the certificate or smtp.host",
                permanent=True,
            )
        if isinstance(exc, ssl.SSLError):
            return DeliveryError(f"{what}: TLS failed ({exc.reason or exc})")
        if isinstance(exc, TimeoutError):
            return DeliveryError(f"{what}: timed out after {self.channel.smtp.timeout:g}s")
        if isinstance(exc, OSError):
            return DeliveryError(f"{what}: cannot connect: {exc.strerror or exc}")
        return exc


def _reply(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())[:200]


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:  # pragma: no cover - closing a broken socket
        pass
