"""Benchmark scenarios (YAML data), played by the scripted model."""
