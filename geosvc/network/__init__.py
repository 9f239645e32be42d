"""geosvc.network."""
