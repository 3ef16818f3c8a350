"""The read-only role of dashboards: SELECT on the public ``v_*`` views and nothing else.

Pure string work, like ``sinks.ddl_render``. The statements are idempotent and
converge: every run first revokes whatever the role (and the user) held, then grants
SELECT view by view, so a view dropped from the DDL also loses its grant. The views are
``SQL SECURITY DEFINER`` (see ``sinks.ddl_render``), which is what lets a role that
cannot read the tables still read the views.

The password is a parameter, never read here: the CLI takes it from the environment
(``LEADCLOCK_DASHBOARD_PASSWORD``), and ``None`` renders a placeholder for ``--dry-run``
so that a printed plan never contains a secret.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sinks.exceptions import DdlRenderError

PASSWORD_PLACEHOLDER = "<$LEADCLOCK_DASHBOARD_PASSWORD>"
CLUSTER_READ_SETTINGS = "distributed_product_mode = 'global'"
"""On a cluster the views filter a Distributed table with IN over another one; GLOBAL IN
computes the subquery once on the initiator instead of refusing the query."""


@dataclass(frozen=True, slots=True)
class DashboardAccess:
    """Who dashboards log in as: a role, and optionally a user holding only that role."""

    role: str
    user: str = ""
    password: str | None = None

    def __post_init__(self) -> None:
        for what, name in (("role", self.role), ("user", self.user)):
            if (name or what == "role") and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                msg = f"dashboard {what} name {name!r} must be letters, digits and underscores"
                raise DdlRenderError(msg)


def statements(access: DashboardAccess, views: Sequence[str], cluster: str | None = None,
               database: str | None = None) -> list[str]:
    """Create/refresh the role (and user); grant SELECT on exactly ``views``.

    ``database`` (where the views are) becomes the user's default database, so that
    dashboards can name the views without it.
    """
    if not views:
        msg = "no v_* views in the DDL: nothing a dashboard role could read"
        raise DdlRenderError(msg)
    on = f" ON CLUSTER {cluster}" if cluster else ""
    role = access.role
    out = [f"CREATE ROLE IF NOT EXISTS {role}{on}"]
    if cluster:
        out.append(f"ALTER ROLE {role}{on} SETTINGS {CLUSTER_READ_SETTINGS}")
    out.append(f"REVOKE{on} ALL ON *.* FROM {role}")
    out.extend(f"GRANT{on} SELECT ON {view} TO {role}" for view in views)
    if access.user:
        user = access.user
        password = _literal(access.password) if access.password is not None else (
            f"'{PASSWORD_PLACEHOLDER}'")
        identified = f"IDENTIFIED WITH sha256_password BY {password}"
        out += [
            f"CREATE USER IF NOT EXISTS {user}{on} {identified}",
            f"ALTER USER {user}{on} {identified}",
            f"REVOKE{on} ALL ON *.* FROM {user}",
            f"GRANT{on} {role} TO {user}",
            f"ALTER USER {user}{on} DEFAULT ROLE {role}",
        ]
        if database:
            quoted = "`" + database.replace("\\", "\\\\").replace("`", "\\`") + "`"
            out.append(f"ALTER USER {user}{on} DEFAULT DATABASE {quoted}")
    return out


def _literal(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
