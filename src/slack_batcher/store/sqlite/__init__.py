"""The SQLite store: one file, WAL, the service's embedded default."""
