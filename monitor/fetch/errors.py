"""What can go wrong in one HTTP exchange, as the network backend and the HTTP/1.1 connection
raise it and :mod:`monitor.fetch.transport` translates it into a stable error kind.

Owns the exception classes only. Imports nothing.
"""

from __future__ import annotations


class NetworkError(Exception):
    """The network failed: a connection refused, reset or closed under a read or write."""


class ConnectError(NetworkError):
    """No connection could be opened (refused, unreachable, the TLS handshake failed)."""


class ReadError(NetworkError):
    """Reading from an open connection failed."""


class WriteError(NetworkError):
    """Writing to an open connection failed."""


class NetworkTimeout(Exception):
    """One network step took longer than its timeout."""


class ConnectTimeout(NetworkTimeout):
    """Connecting, or the TLS handshake, took too long."""


class ReadTimeout(NetworkTimeout):
    """No data arrived in time."""


class WriteTimeout(NetworkTimeout):
    """The peer did not take what was sent in time."""


class ProtocolError(Exception):
    """An exchange broke HTTP/1.1."""


class RemoteProtocolError(ProtocolError):
    """The server broke HTTP/1.1 (or closed the connection without answering)."""


class LocalProtocolError(ProtocolError):
    """The request could not be sent as HTTP/1.1 (a header value it cannot carry, say)."""
