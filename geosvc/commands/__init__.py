"""CLI verbs: one module per ``geosvc`` subcommand, each exposing ``command``."""
