"""The report: its model (computed), figures, and renderers."""
