"""Application layer: use cases over typed requests and results (no Flask, no HTML)."""
