"""Benchmark harness for sct: GMM (ADBench) and scalar-loop targets against peers."""
