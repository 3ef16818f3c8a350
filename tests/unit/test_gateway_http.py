"""The gateway speaks ClickHouse HTTP: clickhouse-connect and plain HTTP requests get what a
server would give them, errors included, and nothing leaks from one request to the next."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from urllib.parse import quote

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from sinks.client import connect
from sinks.errors import is_bad_data, is_transient, server_code
from sinks.gateway.serve import RunningGateway, gateway_thread
from sinks.reconnect import lost_connection


@pytest.fixture
def dsn(tmp_path: Path) -> str:
    return f"chdb://{tmp_path / 'ch'}"


@pytest.fixture
def gateway(dsn: str) -> Iterator[RunningGateway]:
    with gateway_thread(dsn) as running:
        yield running


@pytest.fixture
def direct(dsn: str, gateway: RunningGateway) -> Iterator[Client]:
    """A client on the engine itself, in the process that serves the gateway."""
    client = connect(dsn)
    yield client
    client.close()


def _http(url: str, data: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _raised(call: Callable[[], object]) -> DatabaseError:
    with pytest.raises(DatabaseError) as raised:
        call()
    return raised.value


def test_ping_and_a_get_query_answer_like_a_server(gateway: RunningGateway) -> None:
    assert _http(f"{gateway.url}/ping")[2] == b"Ok.\n"
    assert _http(f"{gateway.url}/")[2] == b"Ok.\n"
    status, headers, body = _http(f"{gateway.url}/?query={quote('SELECT 1 + 1')}")
    assert (status, body) == (200, b"2\n")
    assert headers["X-ClickHouse-Format"] == "TabSeparated"
    assert headers["X-ClickHouse-Timezone"]
    assert headers["X-ClickHouse-Query-Id"]
    assert "X-ClickHouse-Summary" in headers


def test_parameters_formats_and_settings_are_honoured(gateway: RunningGateway) -> None:
    url = f"{gateway.url}/?param_x=41&default_format=JSONEachRow"
    assert _http(url, b"SELECT {x:UInt8} + 1 AS y")[2] == b'{"y":42}\n'
    assert _http(url, b"SELECT {x:UInt8} AS y FORMAT CSV")[2] == b"41\n"
    setting = b"SELECT getSetting('max_threads')"
    assert _http(f"{gateway.url}/?max_threads=3", setting)[2] == b"3\n"
    assert _http(f"{gateway.url}/?max_threads=3", b"SHOW SETTING max_threads")[2] == b"3\n"
    default = _http(f"{gateway.url}/", setting)[2]
    assert default != b"3\n"  # per-request settings do not stay behind
    assert _http(f"{gateway.url}/", b"SET max_threads = 3")[0] == 200
    assert _http(f"{gateway.url}/", setting)[2] == default  # nor do SET statements


def test_the_database_is_chosen_per_request(gateway: RunningGateway) -> None:
    client = connect(gateway.url)
    client.command("CREATE DATABASE other")
    client.command("CREATE TABLE other.t (a UInt8) ENGINE = Memory")
    client.command("INSERT INTO other.t VALUES (7)")
    status, _, body = _http(f"{gateway.url}/?database=other", b"SELECT a FROM t")
    assert (status, body) == (200, b"7\n")
    status, headers, _ = _http(f"{gateway.url}/", b"SELECT a FROM t")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "60")
    assert _http(f"{gateway.url}/", b"USE other")[0] == 200
    assert _http(f"{gateway.url}/", b"SELECT a FROM t")[0] == 500  # USE does not stick
    assert clickhouse_connect.get_client(dsn=f"{gateway.url}/other").command(
        "SELECT a FROM t") == 7


def test_inserts_in_any_format_and_encoding(gateway: RunningGateway) -> None:
    client = connect(gateway.url)
    client.command("CREATE TABLE t (a UInt32, s String) ENGINE = MergeTree ORDER BY a")
    assert _http(f"{gateway.url}/", b"INSERT INTO t FORMAT CSV\n1,one\n2,two\n")[0] == 200
    query = quote("INSERT INTO t (a, s) FORMAT JSONEachRow")
    status, headers, _ = _http(f"{gateway.url}/?query={query}", b'{"a":3,"s":"three"}\n')
    assert status == 200
    assert '"written_rows": "1"' in headers["X-ClickHouse-Summary"]
    rows = [[n, str(n)] for n in range(10, 50_010)]
    for compress in ("lz4", "zstd", "gzip", False):
        compressed = clickhouse_connect.get_client(dsn=gateway.url, compress=compress)
        compressed.insert("t", rows, column_names=["a", "s"])
    assert client.query("SELECT count(), sum(a) FROM t").result_rows == [
        (3 + 4 * 50_000, 6 + 4 * sum(r[0] for r in rows))]


def test_large_results_stream_and_long_bindings_use_forms(gateway: RunningGateway) -> None:
    client = connect(gateway.url)
    result = client.query("SELECT number FROM numbers(2000000)")
    assert result.row_count == 2_000_000
    assert sum(row[0] for row in result.result_rows) == 1_999_999 * 1_000_000
    long = "x" * 50_000  # over clickhouse-connect's URL limit: sent as a multipart form
    assert client.query("SELECT length({s:String})", parameters={"s": long}).result_rows == [
        (50_000,)]


def test_errors_have_the_same_class_and_code_as_direct(direct: Client,
                                                      gateway: RunningGateway) -> None:
    shared = connect(gateway.url)
    for sql in ("SELECT * FROM missing", "SELEC 1", "SELECT throwIf(1, 'boom')",
                "SELECT {x:UInt8}"):
        errors = [_raised(partial(c.query, sql)) for c in (direct, shared)]
        assert type(errors[0]) is type(errors[1]), sql
        assert errors[0].code == errors[1].code == server_code(errors[1]), sql
    for client in (direct, shared):
        error = _raised(partial(client.command, "DROP TABLE missing"))
        assert (type(error), error.code) == (DatabaseError, 60)


def test_a_refused_value_is_bad_data_and_a_lost_gateway_is_transient(dsn: str) -> None:
    with gateway_thread(dsn) as running:
        direct, shared = connect(dsn), connect(running.url)
        shared.command("CREATE TABLE n (a UInt8) ENGINE = Memory")
        for client in (direct, shared):
            error = _raised(partial(client.raw_insert, "n", ["a"], b"not a number\n",
                                    fmt="TabSeparated"))
            assert is_bad_data(error) and not is_transient(error)
        direct.close()
    gone = _raised(lambda: shared.query("SELECT 1"))
    assert isinstance(gone, OperationalError)
    assert is_transient(gone) and lost_connection(gone)


def test_read_only_requests_refuse_writes(dsn: str, gateway: RunningGateway) -> None:
    create = quote("CREATE TABLE t (a UInt8) ENGINE = Memory")
    status, headers, body = _http(f"{gateway.url}/?query={create}")  # GET is read-only
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "164")
    assert body.startswith(b"Code: 164. DB::Exception:")
    with gateway_thread(dsn, read_only=True, publish=False) as reader:
        client = connect(reader.url)
        assert client.command("SELECT 1") == 1
        for sql in ("CREATE TABLE t (a UInt8) ENGINE = Memory",
                    "SELECT 1 INTO OUTFILE 'x.tsv'", "SELECT 1 SETTINGS readonly = 0"):
            assert _raised(partial(client.command, sql)).code == 164
        assert _http(f"{reader.url}/", b"INSERT INTO t FORMAT CSV\n1\n")[0] == 500


def test_requests_from_web_pages_are_refused(gateway: RunningGateway) -> None:
    status, headers, _ = _http(f"{gateway.url}/", b"SELECT 1",
                               {"Origin": "https://example.com"})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "497")
    host = gateway.url.replace("127.0.0.1", "localhost")
    assert _http(f"{host}/", b"SELECT 1", {"Host": "attacker.example"})[0] == 403


def test_the_endpoint_is_published_while_serving(dsn: str) -> None:
    directory = Path(dsn.removeprefix("chdb://"))
    published = directory.with_name("ch.endpoint")
    with gateway_thread(dsn) as running:
        assert running.url in published.read_text()
    assert not published.exists()


def test_a_client_of_this_process_opens_the_engine_directly(direct: Client) -> None:
    # The gateway's handle is this process's own engine: no HTTP round trip for it.
    assert type(direct).__name__ == "ChdbClient"


def test_a_client_leaving_mid_stream_leaves_the_engine_usable(gateway: RunningGateway) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    body = b"SELECT number FROM numbers(50000000) FORMAT TSV"
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    client = connect(gateway.url)
    assert client.query("SELECT count() FROM numbers(1000)").result_rows == [(1000,)]
    assert client.command("SELECT 42") == 42
