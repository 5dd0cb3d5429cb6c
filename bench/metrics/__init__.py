"""What a cell measures: the metric registry, per-cell metrics, thresholds, series metrics."""
