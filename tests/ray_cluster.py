"""A real local Ray cluster for the cluster tests: ``ray start --head`` on 127.0.0.1, free ports.

The head runs in its own process group (``ray start --block``) and is stopped by signalling that
group only, never with ``ray stop`` (which would stop every Ray on the machine). Its workers import
this checkout of ``resnet_desktop`` (PYTHONPATH), as a cluster node with the package installed would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

START_TIMEOUT_S = 120
#: What ``ray start`` prints once every process of the head is running.
STARTED_LINE = b"Ray runtime started"


def ray_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


needs_ray = pytest.mark.skipif(
    not ray_available(),
    reason="the 'cluster' extra (ray[data,client], pyarrow) is not installed: pip install -e '.[test]'",
)


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class RayCluster:
    """A head that is starting; ``ready()`` waits for it, so tests can prepare their files meanwhile."""

    head: subprocess.Popen[bytes]
    client_port: int
    log: Path
    started: bool = False

    @property
    def address(self) -> str:
        return f"ray://127.0.0.1:{self.client_port}"

    def ready(self) -> str:
        """The ``ray://`` address, once ``ray start`` says the runtime started and the client port accepts.

        The client port opens before the head's other processes are up; a client that connects then can
        be refused ("Initialization failure from server").
        """
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.started:
            if STARTED_LINE in self.log.read_bytes() and _accepts(self.client_port):
                self.started = True
            elif self.head.poll() is not None or time.monotonic() > deadline:
                text = self.log.read_text(errors="replace")[-3000:]
                pytest.fail(f"the local Ray head did not start:\n{text}")
            else:
                time.sleep(0.5)
        return self.address


def _ray_cli() -> str:
    found = Path(sys.executable).with_name("ray")
    return str(found) if found.exists() else shutil.which("ray") or "ray"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    if not ray_available():
        pytest.skip("the 'cluster' extra (ray[data,client], pyarrow) is not installed: pip install -e '.[test]'")
    temp = Path(tempfile.mkdtemp(prefix="rd-ray-", dir="/tmp" if os.path.isdir("/tmp") else None))
    gcs, client, node_manager, object_manager, agent_grpc, agent_http, runtime_env, metrics = _free_ports(8)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("RAY_ADDRESS", None)
    # Ray >= 2.5x turns token authentication on when ~/.ray/auth_token exists (any local ray.init()
    # writes one), and Ray Client connections are then refused: this head is on 127.0.0.1 only.
    env["RAY_AUTH_MODE"] = "disabled"
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # so STARTED_LINE reaches the log while the head keeps running
    # The workers' own folders, never the person's: this module-scoped head starts before the per-test
    # isolation applies, and workers that read ~/.cache's ONNX graphs ran another backend than the test.
    for name, folder in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        env[name] = str(temp / "home" / folder)
    env["TORCH_HOME"] = str(temp / "home" / "torch")
    command = [
        _ray_cli(), "start", "--head", "--block", "--num-cpus", "2", "--num-gpus", "0",
        "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", str(temp),
        "--node-ip-address", "127.0.0.1", "--port", str(gcs), "--ray-client-server-port", str(client),
        "--node-manager-port", str(node_manager), "--object-manager-port", str(object_manager),
        "--dashboard-agent-grpc-port", str(agent_grpc), "--dashboard-agent-listen-port", str(agent_http),
        "--runtime-env-agent-port", str(runtime_env), "--metrics-export-port", str(metrics),
        "--object-store-memory", str(200 * 2**20),
    ]  # fmt: skip
    log = open(temp / "ray-start.log", "wb")
    head = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield RayCluster(head=head, client_port=client, log=temp / "ray-start.log")
    finally:
        _stop_group(head)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def _stop_group(head: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the head's process group (ours alone), then SIGKILL what is left."""
    try:
        group = os.getpgid(head.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            head.poll()  # reap the head itself, so a zombie does not count as still running
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
