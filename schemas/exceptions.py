"""Error types of the event contract, and the root error of the whole project.

Every error leadclock raises on purpose derives from :class:`LeadclockError`, so the CLI
can turn any of them into a one-line message and a non-zero exit without catching
programming errors (``TypeError``, ``KeyError``...) by accident.
"""


class LeadclockError(Exception):
    """Root of every error leadclock raises deliberately."""


class SchemaError(LeadclockError):
    """An event contract problem that is not about one event (e.g. a bad schema file)."""
