"""Change travels: announcements, broadcast, relay, cache, search index, scans, process state."""
