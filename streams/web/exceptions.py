"""Errors of the dashboard server, each mapped to one HTTP status or one CLI line."""

from schemas.exceptions import LeadclockError


class WebError(LeadclockError):
    """Root of the errors raised by the ``streams.web`` package."""


class BadRequest(WebError):
    """The request itself is wrong (parameter, body, SQL): HTTP 400 with this message."""


class QueryFailed(WebError):
    """ClickHouse refused or failed a query; ``code`` is its error code when known."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ListenError(WebError):
    """The server could not listen on the requested address (port busy, bad host)."""
