"""Exporting runs to other tools (MLflow)."""
