"""The fake ClickBook's HTTP side, an ASGI app: the four WSDLs, SOAP 1.1 envelopes (RPC/literal,
parsed and written with lxml, not with zeep), the JSON sign-in and the logout.

Paths: ``GET /wsapi/latest/<endpoint>?WSDL`` (the fixtures in ``wsdl/``, their address pointing
here), ``POST /wsapi/latest/<endpoint>``, ``GET /auth/auth.nsf/LoginOK?Open&cacheHack=..`` with
HTTP Basic (401, "You are locked out" after three failures, else ``{"model": {"user",
"usercn"}}`` and a ``DomAuthSessID`` cookie for ``cookie_domain``), ``GET /names.nsf?Logout``.
A Private call without a live session answers Domino's HTML login form (200), as Domino does
for a protected resource. Faults are ``soap:Fault`` with HTTP 500.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from lxml import etree
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tests.fakes.clickbook import operations
from tests.fakes.clickbook.state import World

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:DefaultNamespace"
WSDL_DIR = Path(__file__).parent / "wsdl"
LOGIN_FORM = (
    "<html><head><title>Server Login</title></head><body>"
    '<form method="post" action="/names.nsf?Login" name="_DominoForm">'
    '<input name="Username"><input type="password" name="Password"></form></body></html>'
)


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    operation: str
    headers: dict[str, str]
    body: bytes


def element(tag: str, value: Any) -> etree._Element:
    """``value`` (a dict, a list of (tag, value) items, or a scalar) as an unqualified element."""
    node = etree.Element(tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, list):
                for item in inner:
                    node.append(element(key, item))
            elif inner is not None:
                node.append(element(key, inner))
    elif value is not None:
        node.text = str(value)
    return node


def envelope(body: etree._Element) -> bytes:
    root = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soapenv": SOAP_ENV})
    etree.SubElement(root, etree.QName(SOAP_ENV, "Body")).append(body)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def fault(text: str) -> bytes:
    node = etree.Element(etree.QName(SOAP_ENV, "Fault"))
    etree.SubElement(node, "faultcode").text = "soapenv:Server"
    etree.SubElement(node, "faultstring").text = text
    return envelope(node)


def parameters(call: etree._Element) -> dict[str, Any]:
    """An RPC/literal call's parts: text, or for FIELDS the NAME/VALUE pairs."""
    found: dict[str, Any] = {}
    for part in call:
        name = etree.QName(part).localname
        if name == "FIELDS":
            found[name] = {(f.findtext("NAME") or ""): (f.findtext("VALUE") or "") for f in part}
        else:
            found[name] = part.text or ""
    return found


def without_operation(wsdl: str, name: str) -> str:
    """``wsdl`` with operation ``name`` removed from its port type and binding."""
    root = etree.fromstring(wsdl.encode())
    wsdl_ns = "http://schemas.xmlsoap.org/wsdl/"
    for found in root.iter(f"{{{wsdl_ns}}}operation"):
        if found.get("name") == name:
            found.getparent().remove(found)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


class FakeClickbook:
    """The ASGI app; ``world`` holds the state, ``requests`` every request received."""

    def __init__(self, world: World | None = None, *, cookie_domain: str = ".clickbook.test"):
        self.world = world or World()
        self.cookie_domain = cookie_domain
        self.requests: list[Recorded] = []
        #: operations to answer with a SOAP fault, by name (counts down)
        self.faults: dict[str, int] = {}
        #: endpoint -> WSDL text served (a test may remove an operation from one)
        self.wsdl = {p.stem: p.read_text(encoding="utf-8") for p in WSDL_DIR.glob("*.wsdl")}
        self.handlers: dict[tuple[str, str], Callable[..., Any]] = operations.HANDLERS

    def drop_operation(self, endpoint: str, name: str) -> str:
        """Serve ``endpoint``'s WSDL without operation ``name`` (as a real WSDL that differs from
        our reading would); returns the new WSDL text."""
        self.wsdl[endpoint] = without_operation(self.wsdl[endpoint], name)
        return self.wsdl[endpoint]

    @property
    def control(self) -> Any:
        return self.world.control

    def count(self, operation: str) -> int:
        return sum(1 for r in self.requests if r.operation == operation)

    def wsdl_requests(self) -> int:
        return sum(1 for r in self.requests if r.method == "GET" and r.query.upper() == "WSDL")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        request = Request(scope, receive)
        body = await request.body()
        path, query = scope["path"], scope.get("query_string", b"").decode()
        operation = ""
        if request.method == "POST":
            try:
                call = etree.fromstring(body).find(f"{{{SOAP_ENV}}}Body")[0]  # type: ignore[index]
                operation = etree.QName(call).localname
            except (etree.XMLSyntaxError, TypeError, IndexError):
                call = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Recorded(request.method, path, query, operation, headers, body))
        if self.control.latency_ms:
            await asyncio.sleep(self.control.latency_ms / 1000)
        is_wsdl = request.method == "GET" and query.upper() == "WSDL"
        failure = None if is_wsdl else self.control.take(operation)
        if failure == "timeout":
            raise httpx.ReadTimeout("the fake ClickBook did not answer")
        if failure in ("unavailable", "error"):
            status = 503 if failure == "unavailable" else 500
            await Response("<html>Service Unavailable</html>", status, media_type="text/html")(
                scope, receive, send
            )
            return
        if failure == "fault" or (operation and self.faults.get(operation, 0) > 0):
            if operation in self.faults:
                self.faults[operation] -= 1
            await self._xml(fault("LotusScript error: object variable not set"), 500)(
                scope, receive, send
            )
            return
        response = self._route(request, path, query, operation, call if operation else None)
        if failure == "lost":
            raise httpx.ReadTimeout("the fake ClickBook did the work but its answer was lost")
        await response(scope, receive, send)

    @staticmethod
    def _xml(content: bytes, status: int = 200) -> Response:
        return Response(content, status, media_type="text/xml; charset=UTF-8")

    def _route(
        self, request: Request, path: str, query: str, operation: str, call: Any
    ) -> Response:
        if path.startswith("/wsapi/latest/"):
            endpoint = path.rsplit("/", 1)[-1]
            if endpoint not in self.wsdl:
                return Response("Not found", 404)
            if request.method == "GET":
                if query.upper() != "WSDL":
                    return Response("Not found", 404)
                base = f"{request.url.scheme}://{request.url.netloc}/wsapi/latest/{endpoint}"
                text = self.wsdl[endpoint].replace(
                    f"http://clickbook.net/wsapi/latest/{endpoint}", base
                )
                return Response(text, media_type="text/xml")
            return self._soap(request, endpoint, operation, call)
        if path == "/auth/auth.nsf/LoginOK" and query.startswith("Open&cacheHack="):
            return self._login(request)
        if path == "/names.nsf" and query.startswith("Logout"):
            self.world.sessions.pop(request.cookies.get("DomAuthSessID", ""), None)
            return Response("", 302, headers={"Location": "/"})
        return Response("Not found", 404)

    def _soap(self, request: Request, endpoint: str, operation: str, call: Any) -> Response:
        if call is None:
            return self._xml(fault("Unable to parse the request"), 500)
        handler = self.handlers.get((endpoint, operation))
        if handler is None or f'operation name="{operation}"' not in self.wsdl[endpoint]:
            return self._xml(fault(f"No such operation {operation}"), 500)
        params = parameters(call)
        user = None
        if endpoint == "ClickBookPrivate":
            user = self.world.session_user(request.cookies.get("DomAuthSessID"))
            if user is None:
                return Response(LOGIN_FORM, 200, media_type="text/html; charset=UTF-8")
        answer = handler(self.world, params, user)
        body = etree.Element(etree.QName(NS, f"{operation}Response"), nsmap={"ns1": NS})
        body.append(element(f"{operation}Return", answer))
        return self._xml(envelope(body))

    def _login(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        email = password = ""
        if header.startswith("Basic "):
            email, _, password = base64.b64decode(header[6:]).decode().partition(":")
        account = self.world.accounts.get(email.lower())
        if account is not None and account.locked:
            return Response("<html>You are locked out. Please try later.</html>", 401)
        if account is None or account.password != password:
            if account is not None:
                account.failures += 1
                account.locked = account.failures >= 3
            return Response(
                "<html>Invalid username or password</html>",
                401,
                headers={"WWW-Authenticate": 'Basic realm="ClickBook"'},
            )
        account.failures = 0
        token = self.world.open_session(account.email)
        name = f"{account.first_name} {account.last_name}"
        body = {"model": {"user": f"CN={name}/O=ClickBook", "usercn": name}}
        response = Response(json.dumps(body), media_type="application/json")
        response.set_cookie(
            "DomAuthSessID", token, domain=self.cookie_domain, path="/", httponly=True
        )
        return response
