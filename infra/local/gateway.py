"""A loopback HTTP server that hands requests to handlers as API Gateway REST proxy events.

Approval links in emails and `curl` against the integrator API then behave as they do against
API Gateway: the handler sees the same event shape and its response is written back as HTTP.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Invoke = Callable[[dict[str, Any]], dict[str, Any]]

LOCAL_INTEGRATOR_ARN = "arn:aws:iam::123456789012:user/local-integrator"
"""The identity API Gateway would report for a SigV4-signed call; locally nothing is signed."""

_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form")


class Gateway:
    """Routes by path prefix: the longest matching prefix picks the function."""

    def __init__(self, routes: dict[str, Invoke], host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes = sorted(routes.items(), key=lambda route: -len(route[0]))
        gateway = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                gateway._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        event = proxy_event(request.command, request.path, dict(request.headers.items()), body)
        invoke = next((f for prefix, f in self._routes if event["path"].startswith(prefix)), None)
        if invoke is None:
            self._reply(request, {"statusCode": 404, "body": '{"error": "no route"}'})
            return
        try:
            response = invoke(event)
        except Exception as error:  # the gateway answers 502 as API Gateway does
            response = {"statusCode": 502, "body": f'{{"error": "{type(error).__name__}"}}'}
        self._reply(request, response)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, response: dict[str, Any]) -> None:
        body = response.get("body") or ""
        payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        request.send_response(int(response.get("statusCode", 200)))
        headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            for value in values:
                if name not in headers:
                    request.send_header(name, str(value))
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(payload)


def proxy_event(method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The REST API proxy integration event for one request, as API Gateway builds it."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    text = _is_text(headers) and _decodes(body)
    return {
        "resource": "/{proxy+}",
        "path": url.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": url.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": "/local" + url.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {
                "sourceIp": "127.0.0.1",
                "userArn": LOCAL_INTEGRATOR_ARN,
                "caller": LOCAL_INTEGRATOR_ARN,
                "userAgent": headers.get("User-Agent"),
            },
            "accountId": "123456789012",
        },
        "body": (body.decode() if text else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and not text,
    }


def _is_text(headers: dict[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return not content_type or content_type.startswith(_TEXT_TYPES)


def _decodes(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True
