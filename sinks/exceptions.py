"""Errors of the ClickHouse sink, split by what the caller should do about them.

Following the DB-API split clickhouse-connect uses: a *transient* failure (connection,
timeout, too many parts) is retried with backoff and blocks offset commits; a
*permanent* failure is a bug or a bad configuration and stops with a clear message.
The split is the engine's output contract (``streams.engine.exceptions.OutputError``:
``retry_after`` set or not), so the worker acts on it without knowing this package.
"""

from streams.engine.exceptions import OutputError


class SinkError(OutputError):
    """Root of the errors raised by the ``sinks`` package; not retryable."""


class ClickHouseUnavailable(SinkError):
    """ClickHouse could not be opened or reached; the message names the DSN (no password)."""


class TransientSinkError(SinkError):
    """A write failed for a reason that may go away; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message, retry_after=retry_after)


class VersionConfigMismatch(SinkError):
    """The target attribution version was built with another engine configuration."""


class VersionError(SinkError):
    """A version operation that cannot be done as asked (unknown, current, retired...)."""


class MigrationError(SinkError):
    """A DDL file could not be applied."""


class PermanentRowError(SinkError):
    """ClickHouse refused rows for a reason retrying cannot fix (bad value, bad type)."""


class DdlRenderError(MigrationError):
    """The DDL cannot be rendered as asked (an untranslatable statement, a bad name)."""


class RegistryStoreError(SinkError):
    """The campaign registry could not be written or read (one line says why)."""
