"""Benchmarks of the suite: `make bench` (or `python -m bench`) runs them all."""
