"""Benchmark harness for pipelines (not part of the test suite): python bench/run.py"""
