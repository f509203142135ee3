"""Fine-tuning on a labeled folder: scan (data), cached features, head and last-stage training,
metrics, settings, and the run that ties them together (run)."""
