"""Figures drawn with matplotlib/seaborn."""
