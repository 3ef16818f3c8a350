"""The ClickHouse sink: client factory, DDL migrations and batched delta writes."""
