"""weights.py: safe loading of user files and downloads against a real local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import torch

from resnet_desktop.core.errors import CancelledError, WeightsError
from resnet_desktop.core.models import weights
from resnet_desktop.core.models.zoo import build_model
from tests.helpers import random_state_dict

# --------------------------------------------------------------------------- loading files


def test_pth_with_wrapper_and_prefixes_loads_same_tensors(tmp_path: Path) -> None:
    state = random_state_dict("resnet18", num_classes=4, seed=1)
    wrapped = {"state_dict": {f"module._orig_mod.{k}": v for k, v in state.items()}, "epoch": 7}
    path = tmp_path / "ckpt.pt"
    torch.save(wrapped, path)

    loaded = weights.load_state_dict(path)

    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_model_wrapper_in_safetensors_free_pth(tmp_path: Path) -> None:
    state = random_state_dict("resnet18", num_classes=2, seed=2)
    path = tmp_path / "m.pth"
    torch.save({"model": {f"_orig_mod.{k}": v for k, v in state.items()}}, path)
    loaded = weights.load_state_dict(path)
    assert torch.equal(loaded["fc.weight"], state["fc.weight"])


def test_safetensors_loads(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = {"a": torch.arange(6.0).reshape(2, 3), "module.b": torch.ones(2)}
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    loaded = weights.load_state_dict(path)
    assert set(loaded) == {"a", "b"}
    assert torch.equal(loaded["a"], state["a"])


class _Evil:
    """Unpickling this would run code that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_pickle_with_code_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"fc.weight": torch.zeros(2, 2), "payload": _Evil(marker)}, path)

    with pytest.raises(WeightsError) as err:
        weights.load_state_dict(path)

    assert "refusing to load" in str(err.value)
    assert str(path) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_truncated_file_names_the_file(tmp_path: Path, suffix: str) -> None:
    from safetensors.torch import save_file

    state = {"w": torch.randn(64, 64), "b": torch.randn(64)}
    path = tmp_path / f"cut{suffix}"
    if suffix == ".pth":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(WeightsError) as err:
        weights.load_state_dict(path)
    assert str(path) in str(err.value)
    assert "corrupt" in str(err.value) or "truncated" in str(err.value)


def test_not_a_state_dict_and_bad_suffix_and_missing(tmp_path: Path) -> None:
    listy = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], listy)
    with pytest.raises(WeightsError, match="does not contain a state dict"):
        weights.load_state_dict(listy)
    odd = tmp_path / "w.npz"
    odd.write_bytes(b"x")
    with pytest.raises(WeightsError, match="unsupported weights file type"):
        weights.load_state_dict(odd)
    with pytest.raises(WeightsError, match="not found"):
        weights.load_state_dict(tmp_path / "nope.pth")


def test_apply_reports_shape_missing_and_unexpected_keys() -> None:
    model = build_model("resnet18", 1000)
    state = random_state_dict("resnet18", num_classes=10)
    del state["layer1.0.bn1.bias"]
    state["extra.weight"] = torch.zeros(1)

    with pytest.raises(WeightsError) as err:
        weights.apply_state_dict(model, state, source="mine.pth")

    msg = str(err.value)
    assert msg.startswith("mine.pth")
    assert "fc.weight: file [10, 512] vs model [1000, 512]" in msg
    assert "layer1.0.bn1.bias" in msg
    assert "extra.weight" in msg


def test_apply_names_the_architecture_the_file_holds() -> None:
    model = build_model("resnet18")
    with pytest.raises(WeightsError, match="look like resnet50 weights"):
        weights.apply_state_dict(model, random_state_dict("resnet50"), source="r50.pth")


def test_apply_fits_and_copies_values() -> None:
    model = build_model("resnet18", 5)
    state = random_state_dict("resnet18", num_classes=5, seed=3)
    weights.apply_state_dict(model, state, source="x")
    assert torch.equal(model.fc.weight, state["fc.weight"])


@pytest.mark.parametrize("arch", ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"])
def test_guess_resnet_arch_from_keys(arch: str) -> None:
    # Shapes only matter for the first block, so the meta device keeps this instant.
    with torch.device("meta"):
        state = build_model(arch).state_dict()
    assert weights.guess_resnet_arch(state) == arch


# --------------------------------------------------------------------------- downloads


class _Server:
    """A real HTTP server on 127.0.0.1 serving one folder and counting the requests."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path.startswith("/short/"):  # promise more bytes than are sent, then hang up
                    body = (root / self.path.removeprefix("/short/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body) * 2))
                    self.end_headers()
                    self.wfile.write(body)
                    self.close_connection = True
                    return
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(weights.OFFLINE_ENV, raising=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    root = tmp_path / "served"
    root.mkdir()
    srv = _Server(root)
    yield srv
    srv.close()


def _publish(server: _Server, *, good_hash: bool = True) -> tuple[str, bytes]:
    """Serve a generated state dict (~1 MiB, several chunks) named like torchvision's files."""
    root = Path(server.httpd.RequestHandlerClass.keywords["directory"])
    gen = torch.Generator().manual_seed(0)
    blob = root / "blob.pth"
    torch.save({"w": torch.randn(512, 512, generator=gen)}, blob)
    data = blob.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:8]
    if not good_hash:
        digest = "".join("0" if c != "0" else "1" for c in digest)
    name = f"tiny-{digest}.pth"
    blob.rename(root / name)
    return server.url(name), data


def test_connection_dropped_mid_download_leaves_nothing(online: None, server: _Server) -> None:
    url, data = _publish(server)
    short = url.replace("/tiny-", "/short/tiny-")
    with pytest.raises(WeightsError) as err:
        weights.fetch(short)
    assert weights.cache_path_for(short).name in str(err.value)
    assert list(_cache_dir().iterdir()) == []


def _cache_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def test_download_reports_progress_and_is_cached(online: None, server: _Server) -> None:
    url, data = _publish(server)
    seen: list[tuple[int, int | None]] = []

    path = weights.fetch(url, progress=lambda done, total: seen.append((done, total)))

    assert path == weights.cache_path_for(url)
    assert path.parent == _cache_dir()
    assert path.read_bytes() == data
    dones = [d for d, _ in seen]
    assert len(seen) > 2
    assert dones == sorted(dones) and dones[-1] == len(data)
    assert {t for _, t in seen} == {len(data)}
    assert weights.load_state_dict(path)["w"].shape == (512, 512)
    assert len(server.requests) == 1

    again = weights.fetch(url)
    assert again == path
    assert len(server.requests) == 1  # served from the cache, no new request


def test_wrong_hash_is_rejected_and_nothing_is_left(online: None, server: _Server) -> None:
    url, _ = _publish(server, good_hash=False)
    with pytest.raises(WeightsError, match="corrupt"):
        weights.fetch(url)
    assert list(_cache_dir().iterdir()) == []


def test_cancel_mid_download_leaves_nothing(online: None, server: _Server) -> None:
    url, data = _publish(server)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        if done > 0:
            cancel.set()

    with pytest.raises(CancelledError) as err:
        weights.fetch(url, progress=progress, cancel=cancel)
    assert isinstance(err.value, WeightsError)
    assert 0 < max(seen) < len(data)
    assert list(_cache_dir().iterdir()) == []


def test_offline_env_says_what_is_missing_and_how_to_supply_it(server: _Server) -> None:
    assert os.environ.get(weights.OFFLINE_ENV) == "1"  # set by tests/conftest.py
    url, _ = _publish(server)
    with pytest.raises(WeightsError) as err:
        weights.fetch(url)
    msg = str(err.value)
    assert weights.cache_path_for(url).name in msg
    assert str(weights.cache_path_for(url)) in msg
    assert "--weights FILE" in msg and "Model > Open Model File…" in msg
    assert server.requests == []


def test_unreachable_server_gives_the_same_clear_message(online: None) -> None:
    with socket.socket() as sock:  # a port that nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/resnet18-f37072fd.pth"
    with pytest.raises(WeightsError) as err:
        weights.fetch(url)
    assert "resnet18-f37072fd.pth" in str(err.value) and "--weights FILE" in str(err.value)
    assert not _cache_dir().exists() or list(_cache_dir().iterdir()) == []
