"""Benchmarks that print figures: data generation, webhook throughput and latency."""
