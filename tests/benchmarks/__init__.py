"""Benchmarks: scripts that print figures (`python -m tests.benchmarks.bench_<name>`), not tests."""
