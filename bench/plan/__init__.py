"""What to run: suites, their expansion into cells, published presets, imports by reference."""
