"""Benchmarks: each writes its figures to bench/results/<name>.json, with baselines from the same run."""
