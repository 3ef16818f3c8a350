"""The Faust worker shell: agent, ack-after-flush, consumer patches, TTL sweep, metrics."""
