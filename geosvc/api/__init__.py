"""geosvc.api."""
