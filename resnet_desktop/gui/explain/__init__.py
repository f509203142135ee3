"""Explain: the feature-map and Grad-CAM panel."""
