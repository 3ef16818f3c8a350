"""kafka-python tools: topic admin, producing NDJSON, reading topics, lag status, security."""
