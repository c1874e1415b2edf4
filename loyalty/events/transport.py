"""One HTTP POST under a total deadline: name lookup, connecting, TLS, sending and reading the whole answer.

A socket timeout bounds a single read, so a receiver that sends a byte every few seconds holds an ordinary
client for as long as it likes. Here every blocking step gets only the time left before the deadline: the
name lookup runs in a daemon thread waited on that long, each connect and the TLS handshake get the time
left, sending gets it, and the answer (status line, headers and body) is read through a reader that sets
the socket's timeout to the time left before every ``recv``. Past the deadline the attempt ends as timed
out, whatever the receiver sends afterwards. Redirects are answers, never followed.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from functools import cache, partial
from typing import Any
from urllib.parse import urlsplit

MAX_ANSWER_BYTES = 64 * 1024  # what is read of the receiver's answer; the rest is dropped with the connection


class DeadlineExceeded(TimeoutError):
    """The attempt's time is up."""


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no complete answer (network error or out of time)
    error: str = ""
    timed_out: bool = False


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; raises ``DeadlineExceeded`` once none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("deadline passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """Reads the socket with, before each ``recv``, a timeout of the time left: a trickle cannot outlast it.

    It reads through the socket's own unbuffered file, which keeps the socket open until this reader is closed
    (``http.client`` closes its connection as soon as the headers say ``Connection: close``).
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._file = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._deadline.left())
        return self._file.readinto(buffer)

    def close(self) -> None:
        self._file.close()
        super().close()


class _Response(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the buffered file http.client opened, still unread: ours replaces it
        self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))


def _resolve(host: str, port: int, deadline: _Deadline) -> list[Any]:
    """``getaddrinfo`` bounded by the deadline (it takes no timeout: a thread does it, abandoned if late)."""
    found: list[Any] = []
    failed: list[OSError] = []

    def lookup() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            failed.append(exc)

    thread = threading.Thread(target=lookup, name="webhook-dns", daemon=True)
    thread.start()
    thread.join(deadline.left())
    if thread.is_alive():
        raise DeadlineExceeded(f"name lookup of {host}")
    if failed:
        raise failed[0]
    return found


def _connect(host: str, port: int, deadline: _Deadline) -> socket.socket:
    """A connected socket to the first address of ``host`` that answers, within the deadline."""
    error: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _name, address in _resolve(host, port, deadline):
        timeout = deadline.left()
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            if isinstance(exc, TimeoutError):
                raise
            error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise error


class _Connection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, deadline: _Deadline) -> None:
        super().__init__(host, port)
        self._deadline = deadline
        self.response_class = partial(_Response, deadline=deadline)  # type: ignore[assignment]

    def connect(self) -> None:
        self.sock = _connect(self.host, self.port, self._deadline)

    def send(self, data: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._deadline.left())  # sendall: one timeout for all of it
        super().send(data)


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class _TLSConnection(_Connection):
    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self._deadline.left())  # the handshake: one timeout for all of it
        self.sock = _tls_context().wrap_socket(self.sock, server_hostname=self.host)


def post_within(*, url: str, body: bytes, headers: dict[str, str], seconds: float) -> PostResult:
    """POST ``body`` to ``url`` and read the answer, all within ``seconds``; never raises for network trouble."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return PostResult(None, "URL scheme must be http or https")
    deadline = _Deadline(seconds)
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or (http.client.HTTPS_PORT if scheme == "https" else http.client.HTTP_PORT)
    except (UnicodeError, ValueError) as exc:
        return PostResult(None, f"Invalid URL: {exc}"[:1000])
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: _Connection | None = None
    try:
        connection = (_TLSConnection if scheme == "https" else _Connection)(host, port, deadline=deadline)
        connection.connect()
        connection.request("POST", path, body=body, headers={**headers, "Connection": "close"})
        with connection.getresponse() as response:
            response.read(MAX_ANSWER_BYTES)
            return PostResult(response.status)
    except TimeoutError:
        return PostResult(None, f"Timed out: no complete answer within {seconds:g} s", timed_out=True)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return PostResult(None, f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        if connection is not None:
            connection.close()
