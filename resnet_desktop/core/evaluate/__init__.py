"""Evaluation on a labeled folder (metrics, class matching, the streaming run) and speed measurement."""
