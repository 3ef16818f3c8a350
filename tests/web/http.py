"""A tiny HTTP client for the dashboard tests (stdlib only, never through a proxy)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> str:
        return str(self.json()["error"])


def call(url: str, *, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=60) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def sql(base: str, text: str, *, limit: int | None = None, fmt: str = "") -> Reply:
    payload: dict[str, object] = {"sql": text}
    if limit is not None:
        payload["limit"] = limit
    suffix = f"?format={fmt}" if fmt else ""
    return call(f"{base}/api/sql{suffix}", method="POST", body=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"})
