"""Thin Qt layer over :mod:`resnet_desktop.core`."""
