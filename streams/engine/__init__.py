"""The pure attribution engine: SPEC §3 over plain data, no Kafka, Faust or ClickHouse."""
