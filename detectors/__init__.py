"""Detector adapters. Reach them through the registry, not by importing them here."""
