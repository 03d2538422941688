"""Worked examples built on sct (run them from the repository root)."""
