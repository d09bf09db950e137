"""Benchmarks: each starts a stack of its own on bench ports and measures against a raw baseline
taken in the same run, on the same broker (see README.md)."""
