"""Benchmarks: memory over many invocations, per-invocation overhead, peak RSS, cold import (docs/performance.md)."""
