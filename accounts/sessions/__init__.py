"""The session engine: its store, its lifecycle rules, and its purge (no HTTP views)."""
