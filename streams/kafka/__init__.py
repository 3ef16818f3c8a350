"""kafka-python tools: admin, producing, reading topics, status, connection security."""
