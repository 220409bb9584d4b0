"""Slow and hoarding clients against `python main.py` over raw sockets: header deadline, per-address cap."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from live_server import server_process

PARTIAL_HEADER = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
FULL_REQUEST = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# Far longer than the deadline under test, so a loaded machine does not make the test flaky.
WAIT_S = 30.0


@contextlib.contextmanager
def raw_connection(base: str) -> Iterator[socket.socket]:
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=WAIT_S) as connection:
        yield connection


def closed_by_server(connection: socket.socket, timeout_s: float = WAIT_S) -> bool:
    """True when the server closes the connection (EOF or reset) without answering, within `timeout_s`."""
    connection.settimeout(timeout_s)
    try:
        data = connection.recv(4096)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    assert data == b"", f"the server answered instead of closing: {data[:80]!r}"
    return True


def read_response(connection: socket.socket) -> bytes:
    """One whole response (b"" when the server closed without one): the header and its Content-Length body,
    which may come in separate segments (reading only the first left the body to be taken for the answer
    to the next request)."""
    connection.settimeout(WAIT_S)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk and not data:
            return b""
        assert chunk, f"the connection closed inside a response header: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [
        line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    ]
    assert lengths, f"a response without Content-Length: {head!r}"
    while len(body) < int(lengths[0]):
        chunk = connection.recv(4096)
        assert chunk, "the connection closed inside a response body"
        body += chunk
    assert len(body) == int(lengths[0]), "more bytes than the response holds"
    return head + b"\r\n\r\n" + body


def served(connection: socket.socket) -> bool:
    connection.sendall(FULL_REQUEST)
    return read_response(connection).startswith(b"HTTP/1.1 200")


def test_a_partial_header_is_cut_off_after_the_deadline(tmp_path: Path, model_dir: Path) -> None:
    with server_process(tmp_path / "data", model_dir, HEADER_TIMEOUT_S="1") as base:
        with raw_connection(base) as slow:
            slow.sendall(PARTIAL_HEADER)
            assert closed_by_server(slow)
        with raw_connection(base) as silent:
            assert closed_by_server(silent), "a connection that sends nothing is closed too"
        with raw_connection(base) as keep_alive:
            assert served(keep_alive)
            keep_alive.sendall(PARTIAL_HEADER)
            assert closed_by_server(keep_alive), "the next request's header has the same deadline"
        with raw_connection(base) as normal:
            assert served(normal), "complete requests are served as before"


def test_one_address_cannot_hold_more_than_its_share(tmp_path: Path, model_dir: Path) -> None:
    cap = 20
    with (
        server_process(tmp_path / "data", model_dir, MAX_CONNECTIONS_PER_CLIENT=str(cap)) as base,
        contextlib.ExitStack() as stack,
    ):
        held = [stack.enter_context(raw_connection(base)) for _ in range(cap)]
        assert served(held[0]), "the held connections are real, usable ones"
        with raw_connection(base) as extra:
            assert closed_by_server(extra)
        held.pop().close()
        # A slot is free again once the server has seen the close.
        for _ in range(50):
            with raw_connection(base) as retry, contextlib.suppress(ConnectionResetError):
                if served(retry):
                    break
        else:
            raise AssertionError("no connection was accepted after one was closed")


def test_without_the_settings_nothing_is_cut_off(tmp_path: Path, model_dir: Path) -> None:
    with server_process(tmp_path / "data", model_dir) as base, contextlib.ExitStack() as stack:
        many = [stack.enter_context(raw_connection(base)) for _ in range(30)]
        many[0].sendall(PARTIAL_HEADER)
        # Three times the deadline the other tests use, and the partial header is still being waited for.
        assert not closed_by_server(many[0], timeout_s=3.0)
        assert all(served(connection) for connection in many[1:])
