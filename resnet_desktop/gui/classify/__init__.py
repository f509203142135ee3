"""Classify: the inference service, the results table, preview, model toolbar and export."""
