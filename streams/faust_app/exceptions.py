"""Errors of the Faust worker shell."""

from streams.exceptions import StreamsError


class WorkerError(StreamsError):
    """Root of the errors raised by the ``streams.faust_app`` package."""


class FaustIncompatible(WorkerError):
    """The installed faust-streaming is not one leadclock's consumer patches were made for."""
