"""Inference: parallel draft-mode decoding (decode) and the streaming, batched engine (engine)."""
