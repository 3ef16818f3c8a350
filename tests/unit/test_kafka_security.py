"""Kafka SASL/TLS settings from LEADCLOCK_KAFKA_*: checked once, same for every client."""

from __future__ import annotations

import ssl

import faust
import pytest

from streams.faust_app.app import broker_credentials
from streams.kafka.exceptions import KafkaSettingsError as ConfigError
from streams.kafka.security import KafkaSecurity


def _env(**values: str) -> dict[str, str]:
    return {f"LEADCLOCK_KAFKA_{k.upper()}": v for k, v in values.items()}


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    security = KafkaSecurity.from_env({})
    assert security.kafka_python() == {}
    assert broker_credentials(security) is None


def test_sasl_ssl_with_scram() -> None:
    security = KafkaSecurity.from_env(_env(security_protocol="sasl_ssl",
                                           sasl_mechanism="SCRAM-SHA-512",
                                           sasl_username="svc", sasl_password="pw"))
    config = security.kafka_python()
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("svc", "pw")
    assert isinstance(config["ssl_context"], ssl.SSLContext)
    assert config["ssl_context"].check_hostname
    credentials = broker_credentials(security)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert "pw" not in repr(security)


def test_sasl_plaintext_has_no_tls() -> None:
    security = KafkaSecurity.from_env(_env(security_protocol="SASL_PLAINTEXT",
                                           sasl_username="u", sasl_password="p"))
    assert "ssl_context" not in security.kafka_python()
    credentials = broker_credentials(security)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_PLAINTEXT"


def test_tls_only() -> None:
    security = KafkaSecurity.from_env(_env(security_protocol="SSL",
                                           ssl_check_hostname="false"))
    config = security.kafka_python()
    assert config["security_protocol"] == "SSL"
    assert not config["ssl_context"].check_hostname
    assert isinstance(broker_credentials(security), faust.SSLCredentials)


@pytest.mark.parametrize(("env", "says"), [
    (_env(security_protocol="TLS"), "SECURITY_PROTOCOL"),
    (_env(security_protocol="SASL_SSL"), "SASL_USERNAME"),
    (_env(security_protocol="SASL_SSL", sasl_username="u", sasl_password="p",
          sasl_mechanism="GSSAPI"), "SASL_MECHANISM"),
    (_env(security_protocol="SSL", ssl_certfile="/c.pem"), "go together"),
    (_env(ssl_cafile="/ca.pem"), "PLAINTEXT"),
    (_env(security_protocol="SSL", ssl_cafile="/nonexistent/ca.pem"), "TLS files"),
])
def test_bad_settings_are_one_line_config_errors(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        KafkaSecurity.from_env(env).kafka_python()
    assert "\n" not in str(caught.value)
