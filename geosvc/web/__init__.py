"""geosvc.web."""
