"""`leadclock sql`: one read-only query over a real embedded database, in four formats."""

from __future__ import annotations

import csv
import io
import json

import pytest

from streams.cli import main
from streams.web.render import cell
from tests.web.conftest import DemoDb

_SCORECARD = ("SELECT campaign_id, kind, verdict, actual, roas, due_at "
              "FROM v_campaign_scorecard ORDER BY campaign_id")


def _sql(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["sql", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _expected(demo_db: DemoDb, statement: str) -> list[list[object]]:
    rows = demo_db.client.query(statement, query_tz="UTC").result_rows
    return [[cell(value) for value in row] for row in rows]


def test_csv_is_the_query_result_with_a_header(demo_db: DemoDb,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _sql(capsys, _SCORECARD, "--format", "csv", "--clickhouse", demo_db.dsn)
    assert (code, err) == (0, "")
    table = list(csv.reader(io.StringIO(out, newline="")))
    assert table[0] == ["campaign_id", "kind", "verdict", "actual", "roas", "due_at"]
    expected = [["" if value is None else str(value) for value in row]
                for row in _expected(demo_db, _SCORECARD)]
    assert table[1:] == expected
    assert len(expected) > 3
    assert out.endswith("\r\n")


def test_json_and_tsv_hold_the_same_rows(demo_db: DemoDb,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _sql(capsys, _SCORECARD, "--format", "json", "--clickhouse", demo_db.dsn)
    assert code == 0
    document = json.loads(out)
    assert document["columns"][:3] == ["campaign_id", "kind", "verdict"]
    assert document["types"][3] == "Int64"
    assert document["rows"] == _expected(demo_db, _SCORECARD)

    code, out, _ = _sql(capsys, _SCORECARD, "--format", "tsv", "--clickhouse", demo_db.dsn)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "campaign_id\tkind\tverdict\tactual\troas\tdue_at"
    first = _expected(demo_db, _SCORECARD)[0]
    assert lines[1].split("\t") == ["\\N" if value is None else str(value) for value in first]


def test_the_table_is_aligned_for_people(demo_db: DemoDb,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _sql(capsys, "SELECT campaign_id, toInt64(touches) AS touches FROM "
                        "v_campaign_scorecard ORDER BY campaign_id LIMIT 2",
                        "--clickhouse", demo_db.dsn)
    assert code == 0
    lines = out.splitlines()
    expected = _expected(demo_db, "SELECT campaign_id, touches FROM v_campaign_scorecard "
                                  "ORDER BY campaign_id LIMIT 2")
    assert lines[0].split() == ["campaign_id", "touches"]
    assert set(lines[1]) == {"-", " "}
    assert [line.split() for line in lines[2:4]] == [[str(v) for v in row] for row in expected]
    assert lines[2].endswith(str(expected[0][1]))  # numbers right-aligned under their heading
    assert len(lines[2]) == len(lines[0])
    assert lines[4] == "(2 rows)"


def test_an_empty_result_keeps_its_header(demo_db: DemoDb,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _sql(capsys, "SELECT campaign_id, verdict FROM v_campaign_scorecard "
                        "WHERE 0", "--format", "csv", "--clickhouse", demo_db.dsn)
    assert (code, out) == (0, "campaign_id,verdict\r\n")


def test_show_and_describe_and_stdin(demo_db: DemoDb, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = _sql(capsys, "SHOW TABLES", "--format", "csv", "--clickhouse", demo_db.dsn)
    assert code == 0 and "v_campaign_scorecard" in out.splitlines()
    code, out, _ = _sql(capsys, "DESCRIBE v_clock", "--format", "tsv",
                        "--clickhouse", demo_db.dsn)
    assert code == 0 and out.splitlines()[1].startswith("as_of\t")
    monkeypatch.setattr("sys.stdin", io.StringIO("-- from a file\nSELECT 40 + 2 AS answer;\n"))
    code, out, _ = _sql(capsys, "-", "--format", "csv", "--clickhouse", demo_db.dsn)
    assert (code, out) == (0, "answer\r\n42\r\n")


@pytest.mark.parametrize(("statement", "message"), [
    ("DROP TABLE campaigns", "leadclock sql runs one read-only statement (SELECT, WITH, "
                             "SHOW, DESCRIBE, DESC, EXISTS, EXPLAIN), not DROP"),
    ("INSERT INTO campaigns SELECT * FROM campaigns", "not INSERT"),
    ("SELECT 1; DROP TABLE campaigns", "only one statement is allowed"),
    ("SELECT 1 INTO OUTFILE '/tmp/leadclock-sql-test'", "INTO OUTFILE is not allowed"),
    ("SELECT 1 FORMAT JSON", "a FORMAT clause is not allowed (use --format"),
    ("", "the query is empty"),
    # Past the gate, ClickHouse's readonly = 1 is what refuses it.
    ("SELECT * FROM file('/etc/hostname', 'LineAsString')", "(READONLY)"),
    ("SELECT no_such_column FROM v_attribution", "Code: 47. DB::Exception: "),
    ("SELECT * FROM no_such_view", "(UNKNOWN_TABLE)"),
])
def test_what_it_refuses_is_one_line(demo_db: DemoDb, capsys: pytest.CaptureFixture[str],
                                     statement: str, message: str) -> None:
    code, out, err = _sql(capsys, statement, "--clickhouse", demo_db.dsn)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and err.startswith("leadclock sql: error: "), err
    assert message in err
    assert demo_db.client.command("EXISTS TABLE campaigns") == 1


def test_unreachable_clickhouse_and_a_bad_format_are_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _sql(capsys, "SELECT 1", "--clickhouse", "http://127.0.0.1:1/db")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("leadclock sql: error: cannot open ClickHouse at http://127.0.0.1:1/db")
    with pytest.raises(SystemExit) as caught:
        main(["sql", "SELECT 1", "--format", "xml"])
    assert caught.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err
