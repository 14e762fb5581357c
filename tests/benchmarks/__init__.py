"""Performance benchmarks against the sandbox: ``python -m tests.benchmarks.run``."""
