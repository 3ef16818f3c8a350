"""The read-only SQL gate: exactly one SELECT (or WITH ... SELECT) statement, or one read.

The endpoint takes a SELECT only (:func:`single_select`); ``leadclock sql`` also takes
SHOW, DESCRIBE, EXISTS and EXPLAIN (:func:`single_statement`), under the same rules.

ClickHouse itself enforces read-only access (the endpoint runs queries with
``readonly=1``, which also forbids table functions such as ``file()`` and ``url()`` and
any change of settings). This gate refuses, before ClickHouse sees them, what
``readonly`` does not stop or the embedded engine would misread: several statements in
one request (chdb runs them all), ``INTO OUTFILE`` (chdb writes the file even in
read-only mode) and a ``FORMAT`` clause (the endpoint picks the format).

The scan is deliberately conservative: it knows string literals, quoted identifiers and
``--`` / ``/* */`` comments, and treats everything else as code. Text it cannot
classify therefore counts as code, so an unusual construct is refused, never let by.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from streams.web.exceptions import BadRequest

MAX_SQL_CHARS = 20_000
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTES = {"'": "string literal", '"': "quoted identifier", "`": "quoted identifier"}
_FORBIDDEN = {
    "OUTFILE": "INTO OUTFILE is not allowed (use format=csv for a file)",
    "FORMAT": "a FORMAT clause is not allowed (use format=csv or the default JSON)",
}


def code_words(sql: str) -> tuple[list[str], list[int]]:
    """Upper-cased words outside literals and comments, and positions of ``;`` in code.

    A word followed by ``(`` (a function call, e.g. ``format(...)``) ends in ``(``.
    """
    words: list[str] = []
    semicolons: list[int] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in _QUOTES:
            i = _end_of_quoted(sql, i)
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                msg = "a /* comment is not closed"
                raise BadRequest(msg)
            i = end + 2
        elif char == ";":
            semicolons.append(i)
            i += 1
        elif match := _WORD.match(sql, i):
            i = match.end()
            call = sql[i:].lstrip().startswith("(")
            words.append(match.group(0).upper() + ("(" if call else ""))
        else:
            i += 1
    return words, semicolons


def _end_of_quoted(sql: str, start: int) -> int:
    """Index after the literal starting at ``start`` (backslash escapes, doubled quotes)."""
    quote = sql[start]
    i = start + 1
    while i < len(sql):
        if sql[i] == "\\":
            i += 2
        elif sql[i] == quote:
            if sql.startswith(quote * 2, i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    msg = f"a {_QUOTES[quote]} is not closed"
    raise BadRequest(msg)


def single_select(sql: str) -> str:
    """``sql`` without a trailing ``;`` if it is one SELECT/WITH statement; else BadRequest."""
    return single_statement(sql, ("SELECT", "WITH"),
                            "only SELECT (or WITH ... SELECT) is allowed here")


def single_statement(sql: str, first_words: Collection[str], refusal: str,
                     forbidden: Mapping[str, str] = _FORBIDDEN) -> str:
    """``sql`` without a trailing ``;`` if it is one statement of ``first_words``.

    Else BadRequest: ``refusal`` + ``, not WORD`` for a statement of another kind; the
    reason of a ``forbidden`` word found in its code.
    """
    if len(sql) > MAX_SQL_CHARS:
        msg = f"the query is longer than {MAX_SQL_CHARS:,} characters"
        raise BadRequest(msg)
    words, semicolons = code_words(sql)
    if not words:
        msg = "the query is empty"
        raise BadRequest(msg)
    if words[0].rstrip("(") not in first_words:
        msg = f"{refusal}, not {words[0].rstrip('(')}"
        raise BadRequest(msg)
    if semicolons:
        rest_words, _ = code_words(sql[semicolons[0] + 1:])
        if len(semicolons) > 1 or rest_words:
            msg = "only one statement is allowed (remove the ';' between statements)"
            raise BadRequest(msg)
        sql = sql[:semicolons[0]]
    for word, reason in forbidden.items():
        if word in words:
            raise BadRequest(reason)
    return sql.strip()
