"""geosvc.analysis."""
