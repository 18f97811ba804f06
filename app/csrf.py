"""Cross-site request forgery: refuse state-changing requests that a browser sent from another site.

Why this design (token-free, as Go's net/http.CrossOriginProtection and OWASP's "Fetch Metadata"
and "verifying origin with standard headers" defences):

* Browsers say where a request comes from. `Sec-Fetch-Site` (every current browser) is
  `same-origin` for our own pages and `cross-site` / `same-site` for a form or script on another
  site or a sibling subdomain; a page cannot forge it. Where it is absent (browsers send it only
  to HTTPS and localhost), the `Origin` header, sent with every cross-origin POST, must name this
  host. A request with neither header did not come from a browser form (curl, scripts, the CLI).
* It needs no token in forms, no second cookie and no reading of the body: uploads stream as
  before, and it covers every route at once — the login form (login CSRF needs no cookie), the
  logout form, and API routes called with the session cookie.
* Requests carrying `Authorization: Bearer` are API clients: a browser cannot attach that header
  cross-site without a CORS preflight, which this service never grants.

Libraries weighed: asgi-csrf (double-submit; buffers url-encoded bodies, wants the token before any
file in multipart uploads and answers in plain text), fastapi-csrf-protect (double-submit wired
route by route) and starlette-csrf (header only, so no HTML forms). The session cookie stays
SameSite=Lax as a second layer (Strict would sign users out when they follow a link to a call).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALLOWED_FETCH_SITES = frozenset({b"same-origin", b"none"})  # "none": typed URL or bookmark


class CrossSiteProtection:
    """ASGI middleware: 403 for a state-changing browser request that another site initiated."""

    def __init__(self, app: ASGIApp, trusted_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted = frozenset(_origin(o) for o in trusted_origins if o.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            refusal = self.refusal(dict(scope.get("headers") or []))
            if refusal is not None:
                await _forbidden(refusal, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, headers: dict[bytes, bytes]) -> str | None:
        """Why the request must be refused, or None when it may go on."""
        if headers.get(b"authorization", b"")[:7].lower() == b"bearer ":
            return None
        origin = headers.get(b"origin", b"").decode("latin-1").strip()
        if origin and _origin(origin) in self.trusted:
            return None
        site = headers.get(b"sec-fetch-site")
        if site is not None:
            if site in ALLOWED_FETCH_SITES:
                return None
            return f"the browser says it was sent from another site (Sec-Fetch-Site: {site.decode('latin-1')})"
        if not origin:
            return None  # not a browser form or script
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if origin != "null" and urlsplit(origin).netloc.lower() == host:
            return None
        return f"it was sent from {origin}, not from this site ({host or 'unknown host'})"


def _origin(value: str) -> str:
    parts = urlsplit(value.strip().rstrip("/"))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


async def _forbidden(reason: str, send: Send) -> None:
    body = json.dumps({
        "error": "CrossSiteRequestRefused",
        "detail": f"Refused: {reason}. Talktrack accepts forms and cookie-authenticated changes only from "
                  "its own pages; API clients authenticate with 'Authorization: Bearer <token>'. If this is "
                  "your own deployment behind a proxy that changes the Host header, list its public origin "
                  "in TALKTRACK_TRUSTED_ORIGINS.",
    }).encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
