"""Look inside a network: forward-hook recording (hooks), Grad-CAM (gradcam), pictures (heatmaps)."""
