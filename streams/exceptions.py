"""Errors of the ``streams`` shells (CLI, composition root); each subpackage has its own."""

from schemas.exceptions import LeadclockError


class StreamsError(LeadclockError):
    """Root of the errors raised by the ``streams`` shells (Kafka tools, worker, CLI)."""


class InputError(StreamsError):
    """An input file or stream could not be read."""


class ReplayError(StreamsError):
    """A replay that must not write anything (an empty log, every line rejected...)."""
