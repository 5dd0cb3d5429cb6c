"""Data on disk and in memory: files and caches, splits, the data inventory."""
