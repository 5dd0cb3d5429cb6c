"""Choosing a configuration without test labels: rules, criteria, boards."""
