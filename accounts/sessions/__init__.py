"""The session engine, its lifecycle rules, and the pages that show a session to its owner."""
