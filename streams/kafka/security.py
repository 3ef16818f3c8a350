"""How leadclock authenticates to Kafka: SASL and/or TLS settings from the environment.

One place reads ``LEADCLOCK_KAFKA_*`` so that every client (the Faust worker through
aiokafka, and the kafka-python tools: topics, produce, replay, status) connects the
same way. Secrets come from the environment only (a Kubernetes Secret or a git-ignored
``.env``), never from a file in the repository; the certificate files are paths.

- ``LEADCLOCK_KAFKA_SECURITY_PROTOCOL``: ``PLAINTEXT`` (default), ``SSL``,
  ``SASL_PLAINTEXT`` or ``SASL_SSL``
- ``LEADCLOCK_KAFKA_SASL_MECHANISM``: ``PLAIN`` (default), ``SCRAM-SHA-256``,
  ``SCRAM-SHA-512``
- ``LEADCLOCK_KAFKA_SASL_USERNAME``, ``LEADCLOCK_KAFKA_SASL_PASSWORD``: the SASL login
- ``LEADCLOCK_KAFKA_SSL_CAFILE``: CA bundle that signed the brokers (default: system CAs)
- ``LEADCLOCK_KAFKA_SSL_CERTFILE``, ``LEADCLOCK_KAFKA_SSL_KEYFILE``: client certificate
  and key (mutual TLS)
- ``LEADCLOCK_KAFKA_SSL_CHECK_HOSTNAME``: ``true`` (default) or ``false``
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.kafka.exceptions import KafkaSettingsError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PREFIX = "LEADCLOCK_KAFKA_"


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """Validated connection security; the default is plaintext without authentication."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "PLAIN"
    username: str = ""
    password: str = field(default="", repr=False)
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""
    check_hostname: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaSecurity:
        """Read and check ``LEADCLOCK_KAFKA_*``; a bad value is a one-line KafkaSettingsError."""
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, "").strip() or default

        protocol = get("SECURITY_PROTOCOL", "PLAINTEXT").upper()
        mechanism = get("SASL_MECHANISM", "PLAIN").upper()
        check = get("SSL_CHECK_HOSTNAME", "true").lower()
        _one_of(protocol, PROTOCOLS, "SECURITY_PROTOCOL")
        _one_of(mechanism, MECHANISMS, "SASL_MECHANISM")
        _one_of(check, ("true", "false"), "SSL_CHECK_HOSTNAME")
        security = cls(protocol, mechanism, get("SASL_USERNAME"),
                       env.get(PREFIX + "SASL_PASSWORD", ""), get("SSL_CAFILE"),
                       get("SSL_CERTFILE"), get("SSL_KEYFILE"), check == "true")
        if security.sasl and not (security.username and security.password):
            msg = (f"{PREFIX}SECURITY_PROTOCOL={protocol} needs {PREFIX}SASL_USERNAME and "
                   f"{PREFIX}SASL_PASSWORD")
            raise KafkaSettingsError(msg)
        if bool(security.certfile) != bool(security.keyfile):
            msg = f"{PREFIX}SSL_CERTFILE and {PREFIX}SSL_KEYFILE go together"
            raise KafkaSettingsError(msg)
        if not security.tls and (security.cafile or security.certfile):
            msg = f"{PREFIX}SSL_* files are set but {PREFIX}SECURITY_PROTOCOL={protocol}"
            raise KafkaSettingsError(msg)
        return security

    @property
    def sasl(self) -> bool:
        """Whether the brokers are asked for a SASL login."""
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted."""
        return self.protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context every client shares (None without TLS)."""
        if not self.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=self.cafile or None)
            context.check_hostname = self.check_hostname
            if self.certfile:
                context.load_cert_chain(self.certfile, self.keyfile)
        except (OSError, ssl.SSLError) as error:
            msg = f"Kafka TLS files: {error}"
            raise KafkaSettingsError(msg) from error
        return context

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's clients (also accepted by aiokafka)."""
        if self.protocol == "PLAINTEXT":
            return {}
        config: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            config["ssl_context"] = self.ssl_context()
        if self.sasl:
            config.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username,
                          sasl_plain_password=self.password)
        return config


def client_security() -> dict[str, Any]:
    """kafka-python keyword arguments from the environment (empty for plaintext)."""
    return KafkaSecurity.from_env().kafka_python()


def _one_of(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        msg = f"{PREFIX}{name}={value!r}: expected one of {', '.join(allowed)}"
        raise KafkaSettingsError(msg)
