"""Internals of slotwise_harness.py (the CLI and the importable API live there)."""
