"""Errors of the gateway: ClickHouse-style answers to a request, and failures to serve.

A request that fails is answered the way a ClickHouse server would (``Code: N.
DB::Exception: ...`` with the code in a header), so a client raises the same exception
class and the sink's transient/data classification (``sinks.errors``) keeps working.
"""

from __future__ import annotations

import re

from sinks.exceptions import SinkError

_CODE = re.compile(r"Code: (\d+)")


class GatewayError(SinkError):
    """One request failed; ``body`` is what a ClickHouse server would have answered."""

    def __init__(self, code: int, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @classmethod
    def of(cls, code: int, name: str, text: str, status: int = 500) -> GatewayError:
        """An error raised by the gateway itself, worded like the server's own."""
        return cls(code, f"Code: {code}. DB::Exception: {text}. ({name})", status)

    @classmethod
    def from_engine(cls, error: BaseException) -> GatewayError:
        """The engine's own message, from its ``Code:`` on (chdb prefixes some of them)."""
        text = str(error).strip()
        start = text.find("Code: ")
        message = text[start:] if start >= 0 else text
        match = _CODE.match(message)
        return cls(int(match.group(1)) if match else 1001, message or type(error).__name__)

    def body(self) -> bytes:
        """The response body: the message and a newline, as the server sends it."""
        return (self.message.rstrip("\n") + "\n").encode()


class ServeError(SinkError):
    """The gateway could not start (address in use, directory held elsewhere...)."""
