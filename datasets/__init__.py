"""Data sets: specifications, protocols and splits, embedded and synthetic sets.

Reach concrete data sets through the registry (entry-point group ``anobench.datasets``).
"""
