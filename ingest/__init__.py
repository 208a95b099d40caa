"""Discovery: connectors publish events to Kafka; workers consume them into the graph."""
