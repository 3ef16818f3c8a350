"""Errors of the Faust worker shell."""

from streams.exceptions import StreamsError


class WorkerError(StreamsError):
    """Root of the errors raised by the ``streams.faust_app`` package."""


class FaustIncompatible(WorkerError):
    """The installed faust-streaming is not one leadclock's consumer patches were made for."""


class WorkerCrashed(WorkerError):
    """An unexpected error (a bug) stopped the worker; its traceback is in the log."""


class WorkerStuck(WorkerError):
    """The worker did not stop within its shutdown timeout; the stacks are in the log."""
