"""Benchmarks: `make bench`, i.e. `python -m tests.benchmarks`.

Each figure is reported beside a baseline measured in the same run, as a ratio; nothing here passes or
fails on time, and pytest never collects these modules.
"""
