"""CLI fixtures: a real local Ray cluster for the ``--cluster`` tests (defined in ``tests/ray_cluster.py``)."""

from __future__ import annotations

from tests.ray_cluster import ray_cluster

__all__ = ["ray_cluster"]
