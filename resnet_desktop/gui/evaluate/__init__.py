"""The model lab window: evaluate models on a labeled folder, compare them, time them."""
