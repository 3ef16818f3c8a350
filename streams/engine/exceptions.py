"""Errors of the engine: a configuration it cannot honour, and what an output raises to it."""

from __future__ import annotations

from schemas.exceptions import LeadclockError


class EngineError(LeadclockError):
    """Root of the errors raised by (or to) the ``streams.engine`` package."""


class ConfigError(EngineError):
    """A configuration value (flag or environment variable) is not acceptable."""


class OutputError(EngineError):
    """An output (a sink behind ``streams.engine.port.Writer``) could not write a batch.

    ``retry_after`` says what the caller should do: None, retrying cannot help (a bug, a
    missing table, a bad configuration), so stop without acknowledging anything; a
    number, the failure may go away (connection, timeout, too many parts), so keep the
    batch and try again after that many seconds.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
