"""``resnet-desktop explain``: writes a Grad-CAM overlay PNG atomically and never overwrites silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_desktop.cli import main
from resnet_desktop.core.errors import SettingsError
from tests.helpers import SAMPLES_DIR

CAT = SAMPLES_DIR / "cat.jpg"


def _explain(weights: Path, output: Path, *extra: str) -> int:
    args = ["explain", str(CAT), "--output", str(output), "--model", "resnet18", "--weights", str(weights)]
    return main([*args, *extra])


def test_explain_writes_the_overlay_of_the_core_grad_cam(
    resnet18_weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from resnet_desktop.core.explain.gradcam import grad_cam
    from resnet_desktop.core.explain.heatmaps import network_view, overlay
    from resnet_desktop.core.explain.hooks import image_tensor
    from resnet_desktop.core.images import open_image
    from resnet_desktop.core.models import zoo

    output = tmp_path / "cam.png"
    assert _explain(resnet18_weights, output, "--opacity", "0.7", "--crop-only") == 0
    loaded = zoo.load_model("resnet18", str(resnet18_weights))
    photo = open_image(CAT)
    result = grad_cam(loaded.model, image_tensor(photo, loaded.preprocessing))
    expected = overlay(network_view(photo, 256, 224), result.heatmap, 0.7)
    written = Image.open(output)
    assert written.format == "PNG" and written.size == expected.size
    difference = np.abs(np.asarray(written, dtype=int) - np.asarray(expected, dtype=int))
    assert difference.max() <= 1
    out = capsys.readouterr().out
    assert f"class {result.class_index} '{loaded.categories[result.class_index]}'" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.png"]  # no temp file left behind


def test_explain_refuses_to_overwrite_without_force(
    resnet18_weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "mine.png"
    output.write_bytes(b"the user's own file")
    assert _explain(resnet18_weights, output) == 2
    assert output.read_bytes() == b"the user's own file"
    assert "--force" in capsys.readouterr().err
    assert _explain(resnet18_weights, output, "--force", "--class", "tabby", "--layer", "layer3") == 0
    assert Image.open(output).format == "PNG"
    assert "class 281 'tabby'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--class", "tabby cat"], "did you mean 'tabby'"), (["--layer", "fc"], "spatial"), (["--device", "tpu"], "tpu")],
)
def test_explain_usage_errors_exit_2(
    resnet18_weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert _explain(resnet18_weights, tmp_path / "cam.png", *extra) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_resolve_class_accepts_indices_and_labels() -> None:
    from resnet_desktop.core.explain.api import resolve_class

    categories = ["tabby", "tiger cat", "Egyptian cat"]
    assert resolve_class(None, categories) is None
    assert resolve_class("2", categories) == 2
    assert resolve_class("egyptian CAT", categories) == 2
    with pytest.raises(SettingsError, match="out of range"):
        resolve_class("3", categories)
    with pytest.raises(SettingsError, match="unknown class label 'layer9'"):
        resolve_class("layer9", categories)


def test_explain_unreadable_image_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    code = main(
        ["explain", str(broken), "--output", str(tmp_path / "cam.png"), "--model", "resnet18", "--weights", "random"]
    )
    assert code == 1
    assert "broken.jpg" in capsys.readouterr().err
    assert not (tmp_path / "cam.png").exists()
