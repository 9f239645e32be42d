"""geosvc.render."""
