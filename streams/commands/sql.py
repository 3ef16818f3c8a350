"""``leadclock sql``: run one read-only query and print its result as a table, CSV, TSV or JSON.

Read-only twice over: ClickHouse runs the statement with ``readonly = 1`` (no writes, no
DDL, no table functions such as ``file()``, no change of settings; the gateway of an
embedded database passes the setting through, and a server honours it), and the
statement gate (``streams.web.sql_guard``) refuses beforehand, with a clearer message,
what is not a read, several statements (chdb runs them all), ``INTO OUTFILE`` (chdb
writes the file even read-only) and a ``FORMAT`` clause (``--format`` picks it).

Rows are streamed block by block to stdout, so a CSV export of a large view never sits
in memory (the ``table`` format, for people, waits for all rows to align them). Values
are spelled as the dashboard's API and CSV spell them (``streams.web.render``): ISO days,
ISO 8601 UTC times with ``Z``, money as integer minor units.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

import orjson
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from streams.web.db import failure
from streams.web.render import cell, csv_field
from streams.web.sql_guard import code_words, single_statement

FORMATS = ("table", "csv", "tsv", "json")
READS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN")
_REFUSED = {
    "OUTFILE": "INTO OUTFILE is not allowed (use --format csv and redirect the output: "
               "leadclock sql '...' --format csv > file.csv)",
    "FORMAT": "a FORMAT clause is not allowed (use --format table, csv, tsv or json)",
}
_READ_ONLY = {"readonly": 1}
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def read_only_statement(text: str) -> str:
    """The statement to run, or BadRequest in one line if it is not one read."""
    return single_statement(text, READS, "leadclock sql runs one read-only statement ("
                            + ", ".join(READS) + ")", _REFUSED)


def run(client: Client, statement: str, output_format: str, out: IO[str]) -> int:
    """Run ``statement`` read-only and write its result to ``out``; the number of rows.

    QueryFailed (one line, ClickHouse's error code) if ClickHouse refuses or fails it.
    """
    write = _WRITERS[output_format]
    try:
        if not _is_query(statement):  # SHOW, DESCRIBE...: small, and chdb cannot stream them
            result = client.query(statement, settings=_READ_ONLY, query_tz="UTC")
            return write(tuple(result.column_names),
                         tuple(column.name for column in result.column_types),
                         _cells([result.result_rows]), out)
        with client.query_row_block_stream(statement, settings=_READ_ONLY,
                                           query_tz="UTC") as stream:
            columns = tuple(stream.source.column_names)
            types = tuple(column.name for column in stream.source.column_types)
            if not columns:  # an empty result carries no header: ask for it
                described = client.query(f"DESCRIBE TABLE ({statement})", settings=_READ_ONLY)
                columns = tuple(str(row[0]) for row in described.result_rows)
                types = tuple(str(row[1]) for row in described.result_rows)
            return write(columns, types, _cells(stream), out)
    except ClickHouseError as error:
        raise failure(error) from error


def _is_query(statement: str) -> bool:
    """A SELECT (or WITH ... SELECT), as opposed to SHOW, DESCRIBE, EXISTS or EXPLAIN."""
    return code_words(statement)[0][0].rstrip("(") in ("SELECT", "WITH")


def _cells(blocks: Iterable[Sequence[Sequence[object]]]) -> Iterator[list[object]]:
    for block in blocks:
        for row in block:
            yield [cell(value) for value in row]


def _table(columns: Sequence[str], _types: Sequence[str], rows: Iterator[list[object]],
           out: IO[str]) -> int:
    """Aligned columns for people: numbers right-aligned, NULL spelled out."""
    values = list(rows)
    right = [any(_is_number(row[i]) for row in values)
             and all(row[i] is None or _is_number(row[i]) for row in values)
             for i in range(len(columns))]
    shown = [[_text(value) for value in row] for row in values]
    widths = [max([len(name)] + [len(row[i]) for row in shown])
              for i, name in enumerate(columns)]

    def line(texts: Sequence[str]) -> str:
        return "  ".join(text.rjust(width) if number else text.ljust(width)
                         for text, width, number in zip(texts, widths, right, strict=True)
                         ).rstrip()

    out.write(line(columns) + "\n")
    out.write("  ".join("-" * width for width in widths) + "\n")
    for row in shown:
        out.write(line(row) + "\n")
    out.write(f"({len(shown):,} row{'' if len(shown) == 1 else 's'})\n")
    return len(shown)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv(columns: Sequence[str], _types: Sequence[str], rows: Iterator[list[object]],
         out: IO[str]) -> int:
    """RFC 4180 with a header row, as the dashboard's CSV downloads."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([csv_field(value) for value in row])
        count += 1
    return count


def _tsv(columns: Sequence[str], _types: Sequence[str], rows: Iterator[list[object]],
         out: IO[str]) -> int:
    """ClickHouse's TabSeparatedWithNames: escaped tabs and newlines, NULL as backslash-N."""
    out.write("\t".join(name.translate(_TSV_ESCAPES) for name in columns) + "\n")
    count = 0
    for row in rows:
        count += 1
        out.write("\t".join("\\N" if value is None else
                            str(csv_field(value)).translate(_TSV_ESCAPES)
                            for value in row) + "\n")
    return count


def _json(columns: Sequence[str], types: Sequence[str], rows: Iterator[list[object]],
          out: IO[str]) -> int:
    """One document, as the dashboard's ``/api/sql``: columns, types, rows (arrays)."""
    out.write('{"columns":' + orjson.dumps(list(columns)).decode()
              + ',"types":' + orjson.dumps(list(types)).decode() + ',"rows":[')
    count = 0
    for count, row in enumerate(rows, 1):
        out.write(("," if count > 1 else "") + "\n" + orjson.dumps(row).decode())
    out.write("\n]}\n")
    return count


_WRITERS = {"table": _table, "csv": _csv, "tsv": _tsv, "json": _json}
