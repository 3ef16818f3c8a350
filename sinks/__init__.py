"""ClickHouse: client factory, DDL migrations, versions, and the writer behind the engine's port."""
