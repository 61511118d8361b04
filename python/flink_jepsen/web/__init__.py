"""The web UI over the store."""
