"""Reaching a head: a refused client session is tried again, and the message names the server's reason.

Ray itself stands at the edge here (a stand-in ``ray`` module): what a real head does is covered by
``tests/cli/test_cluster.py`` against a local cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

from resnet_desktop.core.cluster import connect as connect_module
from resnet_desktop.core.cluster.connect import ClusterError, connect

REFUSED = (
    'Initialization failure from server:\nTraceback (most recent call last):\n  File "proxier.py", line 1\n'
    "RuntimeError: Starting Ray client server failed. See ray_client_server_23001.err for detailed logs.\n"
)


class FakeRay:
    """``ray.init`` raises the queued errors in turn, then succeeds."""

    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = errors
        self.inits = 0
        self.shutdowns = 0

    def init(self, **kwargs: Any) -> None:
        self.inits += 1
        if self.errors:
            raise self.errors.pop(0)

    def shutdown(self) -> None:
        self.shutdowns += 1


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> type[FakeRay]:
    monkeypatch.setattr(connect_module, "INIT_RETRY_PAUSES_S", (0.0, 0.0))
    return FakeRay


def _use(monkeypatch: pytest.MonkeyPatch, ray: FakeRay) -> None:
    monkeypatch.setattr(connect_module, "require_ray", lambda: ray)


def test_a_refused_session_is_tried_again(monkeypatch: pytest.MonkeyPatch, fake_ray: type[FakeRay]) -> None:
    ray = fake_ray([ConnectionAbortedError(REFUSED)])
    _use(monkeypatch, ray)
    assert connect("ray://127.0.0.1:10001") is ray
    assert ray.inits == 2 and ray.shutdowns == 1


def test_refused_every_time_names_the_servers_reason(monkeypatch: pytest.MonkeyPatch, fake_ray: type[FakeRay]) -> None:
    ray = fake_ray([ConnectionAbortedError(REFUSED) for _ in range(5)])
    _use(monkeypatch, ray)
    with pytest.raises(ClusterError) as caught:
        connect("ray://127.0.0.1:10001")
    assert ray.inits == 3  # the first try and two more
    message = str(caught.value)
    assert "cannot reach the Ray cluster at ray://127.0.0.1:10001" in message
    assert "Starting Ray client server failed" in message
    assert "RAY_AUTH_MODE=disabled" in message


def test_an_unreachable_head_is_not_tried_again(monkeypatch: pytest.MonkeyPatch, fake_ray: type[FakeRay]) -> None:
    ray = fake_ray([ConnectionError("ray client connection timeout")])
    _use(monkeypatch, ray)
    with pytest.raises(ClusterError, match="ray client connection timeout"):
        connect("ray://10.0.0.1:10001")
    assert ray.inits == 1
