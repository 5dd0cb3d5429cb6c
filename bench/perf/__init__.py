"""Benchmarks of the harness itself: deep models, isolation, scale."""
