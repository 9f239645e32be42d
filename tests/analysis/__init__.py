"""Tests of geosvc.analysis (demand, isochrones, coverage, report)."""
