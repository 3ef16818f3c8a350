"""Errors of the stream processors, the engine configuration and the CLI."""

from schemas.exceptions import LeadclockError


class StreamsError(LeadclockError):
    """Root of the errors raised by the ``streams`` package."""


class ConfigError(StreamsError):
    """A configuration value (flag or environment variable) is not acceptable."""


class BrokerUnavailable(StreamsError):
    """Kafka could not be reached; the message says which address was tried."""


class InputError(StreamsError):
    """An input file or stream could not be read."""
