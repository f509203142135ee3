"""ResNet Desktop: classify, inspect and re-train ResNet image classifiers.

This module stays light on purpose: importing it must not import torch or Qt, so the
CLI's ``--help`` and the GUI's first window appear without waiting for them.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
