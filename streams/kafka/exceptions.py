"""Errors of the kafka-python tools: an unreachable broker, topics that do not fit."""

from streams.exceptions import StreamsError


class KafkaToolError(StreamsError):
    """Root of the errors raised by the ``streams.kafka`` package."""


class BrokerUnavailable(KafkaToolError):
    """Kafka could not be reached; the message says which address was tried."""


class TopicsMismatch(KafkaToolError):
    """The event topics exist with another partition count than asked (not co-partitioned)."""


class MetricsUnavailable(KafkaToolError):
    """A worker's metrics endpoint could not be read (``leadclock status --metrics-url``)."""


class KafkaSettingsError(KafkaToolError):
    """A ``LEADCLOCK_KAFKA_*`` connection setting is missing, unknown or inconsistent."""
