"""Benchmarks (``make bench``): each figure a ratio measured in one run; see docs/benchmarks.md."""
