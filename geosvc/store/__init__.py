"""geosvc.store."""
