"""Collapse's headless command line (render farms, batch runs, benchmarks)."""
