"""Platform performance: the 3.3 bands of the assessment, load steps (closed and open model) on a
built-in asyncio engine or on Locust's distributed mode, thresholds, perf.json, and synthetic
patient bases. See ARCHITECTURE.md "Performance" and README "Measure performance"."""
