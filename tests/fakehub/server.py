"""Threaded HTTP server for the fake Hub, the `run_hub` context manager and a command line entry point.

python -m tests.fakehub.server --port 8765 --token hf_test_token
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .api import HubApp
from .protocol import DropConnection, Request, RequestRecord, Response
from .store import HubError
from .views import RepoView

logger = logging.getLogger("fakehub")


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP/1.1 requests (keep-alive, chunked uploads, HEAD) into `HubApp` calls."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections are closed after this many seconds
    server: _HubServer

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        split = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, split.path, parse_qs(split.query, keep_blank_values=True), headers)
        app = self.server.app
        try:
            request.body = self._read_body()
            response = app.handle(request)
        except DropConnection:
            app.record(self.command, split.path, 0)
            self.close_connection = True
            return
        except Exception:  # a server bug must answer, not hang the client
            logger.exception("fakehub crashed on %s %s", self.command, self.path)
            response = Response.json({"error": traceback.format_exc()}, 500)
        app.record(self.command, split.path, response.status)
        self._send(response)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


class _HubServer(ThreadingHTTPServer):
    """Threaded server that can cut its open keep-alive connections so that closing joins every thread."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], app: HubApp):
        super().__init__(address, _Handler)
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[no-untyped-def]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        with self._connections_lock:
            for connection in self._connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        super().server_close()  # joins the request threads


class HubHandle:
    """A running fake Hub: where it listens, its token, failure injection and a view of its repos."""

    def __init__(self, server: _HubServer):
        self._server = server
        self._app = server.app
        host, port = server.server_address[:2]
        self.endpoint = f"http://{host}:{port}"
        self._app.endpoint = self.endpoint
        self.token = self._app.token
        self.user = self._app.store.user
        self._thread = threading.Thread(target=server.serve_forever, name="fakehub-server", daemon=True)

    def fail_next_commit(self, mode: str = "error", status: int = 500) -> None:
        """Make the next commit request fail after its body was received (LFS uploads are already done then).

        `mode="error"` answers `status` with a JSON error; `mode="drop"` closes the connection without answering.
        Either way the branch head is left unchanged. Each call queues one failure for one later commit.
        """
        if mode not in ("error", "drop"):
            raise ValueError(f"mode must be 'error' or 'drop', not {mode!r}")
        self._app.fail_next_commit(mode, status)

    def repo(self, repo_id: str, repo_type: str = "model") -> RepoView:
        """View of an existing repo; raises KeyError if it does not exist."""
        try:
            return RepoView(self._app.store, self._app.store.get(repo_type, repo_id, authorized=True))
        except HubError as err:
            raise KeyError(f"{repo_type} {repo_id}") from err

    def repo_ids(self, repo_type: str = "model") -> list[str]:
        with self._app.store.lock:
            return sorted(repo_id for kind, repo_id in self._app.store.repos if kind == repo_type)

    def requests(self) -> list[RequestRecord]:
        """Every request served so far, in order (a dropped connection has status 0)."""
        return self._app.records()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, cut open connections and join every server thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def run_hub(
    token: str = "hf_test_token", port: int = 0, *, host: str = "127.0.0.1", user: str = "tester", page_size: int = 1000
) -> Iterator[HubHandle]:
    """Run a fake Hub on `host:port` (0 picks a free port) for the duration of the `with` block.

    `page_size` caps tree listings per page (the Hub's is 1000), small values exercise pagination.
    """
    handle = HubHandle(_HubServer((host, port), HubApp(token=token, user=user, page_size=page_size)))
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; prints the endpoint URL as the first line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="hf_test_token", help="token required for writes and private repos")
    parser.add_argument("--user", default="tester", help="user name returned by whoami")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with run_hub(args.token, args.port, host=args.host, user=args.user) as hub:
        print(hub.endpoint, flush=True)
        while not stop.wait(0.5):
            pass


if __name__ == "__main__":
    main()
