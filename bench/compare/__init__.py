"""bench/compare.py split by concern: run, report, plot, targets, workloads, readme."""
