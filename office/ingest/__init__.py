"""Ingest: what the kiosks say on the broker, checked, stored once, acknowledged after."""
