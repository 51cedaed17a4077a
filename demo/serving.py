"""What the server accepts before any route runs: requests addressed to a host it is served as, from its
own pages, not for a feature the app does not use, carrying no file, of a bounded size, their body whole
within `BODY_SECONDS`; and what it sends back when it refuses: a short error, never the input echoed
(`RequestGuard`).

Why the Host check: a web page on another site can point a domain of its own at 127.0.0.1 (DNS rebinding)
and then call this app's API from the visitor's browser as if it were that site; the request still
says ``Host: evil.example``. An IP address in the Host header cannot be rebound, so any is accepted;
names are accepted only when they are this app's: ``localhost``, the name given to ``--host``, names
given to ``--allow-host``, and this machine's own names when serving a network.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from urllib.parse import urlsplit

import anyio
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse

from lm.core.checks import shown

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")  # the addresses that serve this machine only
MAX_REQUEST_BYTES = 16 << 20  # a request's body at most (a pasted text of a million characters fits)
BODY_SECONDS = 10  # a request's whole body must arrive within this; a stalled or slow client is cut off
MAX_ERROR_BYTES = 2_000  # an error reply at most: a longer one (a validation error echoing the input) is replaced
UNUSED_ROUTES = (  # the app takes no files and makes no deep links (each one a file written from a session)
    "/gradio_api/upload",
    "/gradio_api/upload_progress",
    "/gradio_api/deep_link",
)
FILE_CONTENT_TYPES = ("multipart/form-data",)  # how a file is sent: refused on every route, named or not
MAX_WAITING_PER_CLIENT = 8  # requests one client address may have waiting in Gradio's queue, per endpoint
MAX_WAITING_PER_ENDPOINT = 128  # requests waiting for one endpoint, all clients together (a quarter of the queue)
SHARE_DOMAIN = ".gradio.live"  # `--share` links are names under it


def hostname(netloc: str) -> str:
    """The host part of a ``Host`` header or an origin's ``host:port``, lower-cased, without brackets.

    Example:
        >>> hostname("LocalHost:7860"), hostname("[::1]:7860"), hostname("10.0.0.5")
        ('localhost', '::1', '10.0.0.5')
    """
    return (urlsplit(f"//{netloc}").hostname or "").lower()


def is_ip_address(name: str) -> bool:
    """Whether `name` is an IP address (which DNS rebinding cannot point elsewhere)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def served_names(host: str, allowed: tuple[str, ...] = (), share: bool = False) -> frozenset[str]:
    """The host names a request may be addressed to: localhost, `host` and `allowed` when they are names,
    this machine's names when serving a network (`host` not loopback), and share links' when sharing.

    Example:
        >>> sorted(served_names("127.0.0.1", ("class.example",)))
        ['class.example', 'localhost']
    """
    names = {"localhost", *proxy_names(allowed, share), *(() if is_ip_address(host) else (host.lower(),))}
    if host not in LOOPBACK:
        short = socket.gethostname().lower()
        names |= {short, f"{short}.local", socket.getfqdn().lower()}
    return frozenset(names - {""})


def proxy_names(allowed: tuple[str, ...] = (), share: bool = False) -> frozenset[str]:
    """Names a page of this app may be served under by something in front of it (a proxy named with
    ``--allow-host``, a share link): requests from such pages are accepted whatever Host they carry."""
    return frozenset(name.lower() for name in (*allowed, *((SHARE_DOMAIN,) if share else ())) if name)


def refusal(method: str, path: str, headers: Headers, names: frozenset[str], proxies=frozenset()):
    """Why a request is refused, as (HTTP status, reason), or None to let it through. `names`: what a
    request may be addressed to (`served_names`); `proxies`: pages' names accepted as well (`proxy_names`).

    Example:
        >>> names = served_names("127.0.0.1")
        >>> refusal("GET", "/", Headers({"host": "127.0.0.1:7860"}), names) is None
        True
        >>> refusal("GET", "/", Headers({"host": "evil.example:7860"}), names)
        (421, "this app is not served as 'evil.example:7860' (to serve that name, start it with --allow-host NAME)")
    """
    host = headers.get("host", "")
    if not _accepted(hostname(host), names):
        return 421, f"this app is not served as {shown(host)} (to serve that name, start it with --allow-host NAME)"
    origin = headers.get("origin")
    if origin is not None and not _same_site(origin, host, proxies):
        return 403, f"requests from pages of {shown(origin)} are refused"
    if path.rstrip("/") in UNUSED_ROUTES:
        return 404, "this app takes no files and makes no deep links"
    if headers.get("content-type", "").lower().lstrip().startswith(FILE_CONTENT_TYPES):
        return 415, "this app takes no files"
    size = headers.get("content-length")
    if method == "POST" and size is None and "transfer-encoding" in headers:
        return 411, "a request's body needs a Content-Length"
    if size is not None and (not size.isdigit() or int(size) > MAX_REQUEST_BYTES):
        return 413, f"a request's body is at most {MAX_REQUEST_BYTES:,} bytes"
    return None


def _accepted(name: str, names: frozenset[str]) -> bool:
    shared = SHARE_DOMAIN in names and name.endswith(SHARE_DOMAIN)
    return bool(name) and (name in names or is_ip_address(name) or shared)


def _same_site(origin: str, host: str, proxies: frozenset[str]) -> bool:
    """The page that sent the request is this app's: its origin is the host the request went to (the page
    came from this server), or a name in front of it (`proxies`). Another site's page, another port's
    (another app on this machine), "null" (a sandboxed frame, a file): refused."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    name = (parts.hostname or "").lower()
    shared = SHARE_DOMAIN in proxies and name.endswith(SHARE_DOMAIN)
    return parts.netloc.lower() == host.lower() or name in proxies or shared


class RequestGuard:
    """ASGI middleware: answers a refused request (`refusal`) itself, with one line in the log; reads the
    rest's body whole first (`whole_body`: a late body gets 408, a client gone mid-body one line in the log)
    and lets them through to the app, whose long error replies are cut (`ShortErrors`).

    Example:
        >>> guard = RequestGuard(app=None, names=served_names("127.0.0.1"))
        >>> sorted(guard.names), sorted(guard.proxies)
        (['localhost'], [])
    """

    def __init__(self, app, names: frozenset[str], proxies: frozenset[str] = frozenset()):
        self.app, self.names, self.proxies = app, names, proxies

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        method, path = scope.get("method", "WEBSOCKET"), scope["path"]
        refused = refusal(scope.get("method", "GET"), path, Headers(scope=scope), self.names, self.proxies)
        if refused is None and scope["type"] == "http" and method not in ("GET", "HEAD", "OPTIONS"):
            try:
                receive = await whole_body(receive)
            except TimeoutError:
                refused = 408, f"a request's body has to arrive within {BODY_SECONDS} s"
            except ConnectionAbortedError:
                log.warning("%s %s: the client left before its request's body arrived", method, shown(path))
                return
        if refused is None:
            return await self.app(scope, receive, ShortErrors(send))
        status, reason = refused
        log.warning("refused %s %s: %s", method, shown(path), reason)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        await PlainTextResponse(reason, status_code=status)(scope, receive, send)


async def whole_body(receive):
    """Read a request's body whole within `BODY_SECONDS` and return a `receive` that hands it to the app,
    then passes on what the client sends next (a disconnect). Raises `TimeoutError` when the body is
    late, `ConnectionAbortedError` when the client left before sending it all. So no route waits on a
    slow client or meets a half-sent body, and a connection holds its memory for seconds at most."""
    chunks = []
    with anyio.fail_after(BODY_SECONDS):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionAbortedError
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
    body = b"".join(chunks)
    handed = False

    async def replay():
        nonlocal handed
        if handed:
            return await receive()
        handed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class ShortErrors:
    """An ASGI `send` that passes everything on, except that an error reply (status 400 or more) longer
    than `MAX_ERROR_BYTES` is replaced by one short line: a refused 15 MB body is never sent back
    (FastAPI's validation errors quote their input)."""

    def __init__(self, send):
        self.send = send
        self.start = None  # an error reply's start, held until its body is known to be short
        self.body = b""
        self.replaced = False

    async def __call__(self, message):
        if self.replaced:
            return  # the rest of a reply already replaced
        if message["type"] == "http.response.start" and message["status"] >= 400:
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            return await self.send(message)
        self.body += message.get("body", b"")
        if len(self.body) > MAX_ERROR_BYTES:
            self.replaced = True
            status = self.start["status"]
            note = f"the request was refused ({status}); its reply, over {MAX_ERROR_BYTES:,} bytes, is not sent"
            return await self._reply(json.dumps({"error": note}).encode(), b"application/json")
        if not message.get("more_body", False):
            await self._reply(self.body, None)

    async def _reply(self, body: bytes, content_type: bytes | None):
        headers = [(k, v) for k, v in self.start["headers"] if k.lower() != b"content-length"]
        if content_type is not None:
            headers = [(k, v) for k, v in headers if k.lower() != b"content-type"] + [(b"content-type", content_type)]
        await self.send({**self.start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})


def share_the_queue(queue) -> None:
    """Make Gradio's `queue` admit a request only while its endpoint has fewer than `MAX_WAITING_PER_ENDPOINT`
    requests waiting, and its client's address fewer than `MAX_WAITING_PER_CLIENT` of them; past either,
    the caller gets ``503`` and a line naming the endpoint. A session is free to mint (every ``/call``
    brings a new one), an address is not: one client can no longer fill the whole queue and lock every
    other user out of every queued feature (530 Compare calls did, before)."""
    from gradio.route_utils import get_fn

    push = queue.push

    async def admit(body, request, username):
        try:
            fn = get_fn(queue.blocks, None, body)
        except Exception:  # no such endpoint: Gradio's own push answers it
            return await push(body, request, username)
        waiting = [event for events in queue.event_queue_per_concurrency_id.values() for event in events.queue]
        waiting = [event for event in waiting if event.fn is fn]
        name = f"/{fn.api_name or fn.name}"
        if len(waiting) >= MAX_WAITING_PER_ENDPOINT:
            return False, f"{name} has {len(waiting)} requests waiting already; try again in a moment", "queue_full"
        client = client_address(request)
        if sum(client_address(event.request) == client for event in waiting) >= MAX_WAITING_PER_CLIENT:
            log.warning("refused a request to %s: %s has %d waiting", name, client, MAX_WAITING_PER_CLIENT)
            return (
                False,
                f"{name}: you have {MAX_WAITING_PER_CLIENT} requests waiting already; wait for them",
                "queue_full",
            )
        return await push(body, request, username)

    queue.push = admit


def client_address(request) -> str | None:
    """The address a request came from (behind a proxy on this machine, the one it forwards for)."""
    return request.client.host if request is not None and request.client is not None else None
