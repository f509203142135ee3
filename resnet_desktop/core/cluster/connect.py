"""Reach a Ray cluster (``ray://HOST:PORT``, ``auto`` or ``local``) and check it runs this version.

The cluster imports ``resnet_desktop`` from its own installation (the client never ships code), so
the versions must match; a probe task on every node says which version it has.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import resnet_desktop
from resnet_desktop.core.errors import ResNetDesktopError

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'resnet-desktop[cluster]'"
#: Pauses before trying ``ray.init`` again after the head refused to start a client session.
INIT_RETRY_PAUSES_S = (2.0, 5.0)


class ClusterError(ResNetDesktopError):
    """The Ray cluster cannot be used: Ray missing, unreachable, another version, a failed job."""

    title = "The cluster cannot be used"


def require_ray() -> Any:
    """Import Ray, or say how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ClusterError(
            f"--cluster needs Ray, which is not installed ({exc}); install it with {INSTALL_HINT}"
        ) from None
    return ray


def check_address(address: str) -> str:
    """``ray://HOST:PORT``, ``auto`` or ``local``; anything else is a ``ClusterError``."""
    text = address.strip()
    if text in ("auto", "local"):
        return text
    if text.startswith("ray://"):
        host, _, port = text[len("ray://") :].rpartition(":")
        if host and port.isdigit():
            return text
    raise ClusterError(
        f"--cluster {address!r}: give ray://HOST:PORT (the head's client port, 10001 by default), "
        "'auto' (the cluster this machine belongs to, or RAY_ADDRESS) or 'local' (a Ray instance on this machine)"
    )


@dataclass(frozen=True)
class NodeInfo:
    """What a probe on one node found."""

    host: str
    version: str


def describe_node() -> dict[str, str]:
    """Runs ON a cluster node (a task): the resnet-desktop version installed there."""
    import socket

    return {"host": socket.gethostname(), "version": resnet_desktop.__version__}


def connect(address: str, *, num_cpus: int | None = None) -> Any:
    """``ray.init`` for ``address``; returns the ``ray`` module. Call :func:`disconnect` when done."""
    ray = require_ray()
    address = check_address(address)
    kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address == "local":
        # A Ray instance on this machine: its workers import this very copy of the package.
        package_root = str(Path(resnet_desktop.__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        kwargs.update(num_cpus=num_cpus, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    else:
        kwargs["address"] = address
    try:
        _init_with_retries(ray, kwargs)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, grpc errors...
        hint = ""
        if address.startswith("ray://"):
            hint = (
                "; check the address and that the head's client port is reachable from here. A head with "
                "Ray's token authentication refuses Ray Client: start it with RAY_AUTH_MODE=disabled on a "
                "trusted network, or run on a cluster node with --cluster auto"
            )
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {_one_line(exc)}{hint}") from exc
    return ray


def _init_with_retries(ray: Any, kwargs: dict[str, Any]) -> None:
    """``ray.init``, tried again when the head was reached but could not start our client session.

    The head's client proxy starts one server process per client; on a busy or just-started head that
    start can fail once ("Initialization failure from server") and work a few seconds later.
    """
    for attempt, pause_s in enumerate((*INIT_RETRY_PAUSES_S, None)):
        try:
            ray.init(**kwargs)
            return
        except ConnectionAbortedError as exc:
            if pause_s is None or "Initialization failure" not in str(exc):
                raise
            logger.warning("Ray client session refused (attempt %d): %s; retrying", attempt + 1, _one_line(exc))
            disconnect(ray)
            time.sleep(pause_s)


def disconnect(ray: Any) -> None:
    try:
        ray.shutdown()
    except Exception:
        logger.warning("Ray did not shut down cleanly", exc_info=True)


def check_versions(ray: Any, expected: str | None = None) -> list[NodeInfo]:
    """Probe every alive node; ``ClusterError`` if one lacks resnet-desktop or runs another version."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    expected = expected or resnet_desktop.__version__
    probe = ray.remote(num_cpus=0)(describe_node)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    refs = [
        probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote()
        for n in nodes
    ]
    found: list[NodeInfo] = []
    for node, ref in zip(nodes, refs, strict=True):
        where = node.get("NodeManagerAddress", "?")
        try:
            info = ray.get(ref, timeout=120)
        except Exception as exc:
            text = str(exc)
            if "No module named 'resnet_desktop" in text:
                raise ClusterError(
                    f"resnet-desktop is not installed on the cluster node {where}; install the same version "
                    f"there: pip install 'resnet-desktop[cluster]=={expected}'"
                ) from None
            raise ClusterError(f"could not run a task on the cluster node {where}: {_one_line(exc)}") from exc
        found.append(NodeInfo(host=str(info["host"]), version=str(info["version"])))
    wrong = [n for n in found if n.version != expected]
    if wrong:
        listing = ", ".join(f"{n.host} has {n.version}" for n in wrong)
        raise ClusterError(
            f"the cluster runs another resnet-desktop version ({listing}; this app is {expected}); "
            f"install the same version on every node (pip install 'resnet-desktop[cluster]=={expected}') "
            "or use the app version the cluster has"
        )
    return found


def _one_line(exc: BaseException) -> str:
    """The first line of the error, or for a server-side failure the line that names its cause."""
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = lines[0]
    if len(lines) > 1 and line.endswith(":"):  # "Initialization failure from server:" + a remote traceback
        line = f"{line} {lines[-1]}"
    return line if len(line) <= 300 else line[:297] + "..."
