"""The cloud's global app: a read-only dashboard and JSON API over the global insight store."""
