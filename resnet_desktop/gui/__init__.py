"""Thin Qt layer over :mod:`resnet_desktop.core`."""

from resnet_desktop.gui.refcounts import pin_singletons

pin_singletons()  # before any PySide6 call: see refcounts.py (PySide6 6.12 on CPython 3.11)
