"""Benchmark workloads: one module per workload, one ``run_<impl>`` function per implementation.

See ``benchmarks/README.md`` for the plug-in contract.
"""
