"""nearvm benchmark harness: ``python -m benchmarks`` (see benchmarks/README.md)."""
