"""Forward-hook recording and layer listing (core, no Qt)."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from resnet_desktop.core.errors import CancelledError, SettingsError
from resnet_desktop.core.explain.gradcam import grad_cam
from resnet_desktop.core.explain.hooks import FeatureRecorder, capture, list_layers
from tests.core.explain.nets import assert_no_hooks, make_resnet, random_image

# --- recording ---------------------------------------------------------------------------------


def test_hooked_outputs_equal_direct_submodule_calls(resnet18: nn.Module) -> None:
    m, x = resnet18, random_image()
    names = [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer1.0.bn1",
        "layer1.0.relu",
        "layer1.0.relu_1",
        "layer2.0.downsample",
        "layer4",
        "avgpool",
        "fc",
    ]
    outputs = capture(m, x, names)
    with torch.no_grad():
        conv1 = m.conv1(x)
        bn1 = m.bn1(conv1)
        relu = F.relu(bn1)
        maxpool = m.maxpool(relu)
        block = m.layer1[0]
        block_relu = F.relu(block.bn1(block.conv1(maxpool)))
        layer1 = m.layer1(maxpool)
        layer4 = m.layer4(m.layer3(m.layer2(layer1)))
        downsample = m.layer2[0].downsample(layer1)
        avgpool = m.avgpool(layer4)
        logits = m(x)
    expected = {
        "conv1": conv1,
        "bn1": bn1,
        "relu": relu,
        "maxpool": maxpool,
        "layer1": layer1,
        "layer1.0.bn1": block.bn1(block.conv1(maxpool)),
        "layer1.0.relu": block_relu,
        "layer1.0.relu_1": block(maxpool),
        "layer2.0.downsample": downsample,
        "layer4": layer4,
        "avgpool": avgpool,
        "fc": logits,
    }
    assert set(outputs) == set(names)
    for name in names:
        assert outputs[name].device.type == "cpu"
        torch.testing.assert_close(outputs[name], expected[name], msg=name)
    # The in-place ReLU that follows bn1 must not have rewritten the recorded bn1 output.
    assert (outputs["bn1"] < 0).any()
    assert_no_hooks(m)


def test_every_call_name_matches_torchvision_feature_extraction(resnet18: nn.Module) -> None:
    """Reused modules (a block's relu) get one name per call, as torchvision's FX extractor names them."""
    x = random_image()
    ours = capture(resnet18, x, None)
    # BatchNorm outputs are left out: the FX extractor returns them *after* the in-place ReLU / `+=`
    # that follows has rewritten them (our recorder copies; see the bn1 check above).
    leaves = [
        layer.name
        for layer in list_layers(resnet18, 64)
        if layer.type not in ("Sequential", "BasicBlock", "BatchNorm2d")
    ]
    extractor = create_feature_extractor(resnet18, return_nodes=leaves)
    with torch.no_grad():
        theirs = extractor(x)
    assert {"layer1.0.relu_1", "layer4.1.relu_1"} <= set(leaves)
    for name in leaves:
        torch.testing.assert_close(ours[name], theirs[name], msg=name)


def test_no_hooks_remain_after_capture_exception_or_cancel(resnet18: nn.Module) -> None:
    x = random_image()
    with FeatureRecorder(resnet18, ["layer1", "layer1.0.relu_1"]) as recorder:
        resnet18(x)
    assert set(recorder.outputs) == {"layer1", "layer1.0.relu_1"}
    assert_no_hooks(resnet18)

    with pytest.raises(RuntimeError, match="boom"):
        with FeatureRecorder(resnet18, None):
            resnet18(x)
            raise RuntimeError("boom")
    assert_no_hooks(resnet18)

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        capture(resnet18, x, ["layer4"], cancel=cancel)
    assert_no_hooks(resnet18)


def test_capture_stops_once_everything_asked_for_is_recorded(resnet18: nn.Module) -> None:
    later: list[str] = []
    handle = resnet18.layer2.register_forward_pre_hook(lambda module, args: later.append("layer2 ran"))
    try:
        outputs = capture(resnet18, random_image(), ["layer1"])
    finally:
        handle.remove()
    assert later == [] and set(outputs) == {"layer1"}
    assert_no_hooks(resnet18)


def test_captured_outputs_are_freed_without_waiting_for_the_garbage_collector(resnet18: nn.Module) -> None:
    # The hooks used to hold the recorder (and its outputs) in a reference cycle: a resnet50's
    # ~150 MB of activations per photo then stayed until the next gc run, for every photo browsed.
    gc.collect()
    gc.disable()
    try:
        outputs = capture(resnet18, random_image(), ["layer1", "layer4"])
        recorded = [weakref.ref(tensor) for tensor in outputs.values()]
        del outputs
        assert [ref() for ref in recorded] == [None, None]
    finally:
        gc.enable()


def test_low_precision_model_records_float32() -> None:
    model = make_resnet("resnet18").to(torch.bfloat16)
    outputs = capture(model, random_image(), ["layer1", "fc"])
    assert all(t.dtype == torch.float32 for t in outputs.values())
    with torch.no_grad():
        expected = model(random_image().to(torch.bfloat16)).float()
    torch.testing.assert_close(outputs["fc"], expected)
    assert grad_cam(model, random_image(), layer="layer4").heatmap.dtype == np.float32


def test_unknown_layer_is_named_in_the_error(resnet18: nn.Module) -> None:
    with pytest.raises(SettingsError, match="layer9"):
        FeatureRecorder(resnet18, ["layer9"])
    with pytest.raises(SettingsError, match="layer1.0.relu_7"):
        capture(resnet18, random_image(), ["layer1.0.relu_7"])  # exists as a module, never called 8 times
    assert_no_hooks(resnet18)


def test_forward_in_another_thread_is_not_recorded(resnet18: nn.Module) -> None:
    """The GUI's engine may classify with the same model while a capture is open."""
    other = torch.zeros(1, 3, 32, 32)
    with FeatureRecorder(resnet18, ["layer1"]) as recorder:
        thread = threading.Thread(target=lambda: resnet18(other))
        thread.start()
        thread.join()
        assert recorder.outputs == {}
        resnet18(random_image())
    assert recorder.outputs["layer1"].shape == (1, 64, 16, 16)


# --- layer listing -----------------------------------------------------------------------------

EXPANSION = {"resnet18": 1, "resnet34": 1, "resnet50": 4, "resnet101": 4, "resnet152": 4}
BLOCKS = {
    "resnet18": (2, 2, 2, 2),
    "resnet34": (3, 4, 6, 3),
    "resnet50": (3, 4, 6, 3),
    "resnet101": (3, 4, 23, 3),
    "resnet152": (3, 8, 36, 3),
}


@pytest.mark.parametrize("arch", list(EXPANSION))
def test_layer_shapes_for_every_depth(arch: str) -> None:
    # Built on the meta device (weights=None, no memory, no init time); real forwards check the shapes below.
    with torch.device("meta"):
        model = getattr(torchvision.models, arch)(weights=None).eval()
    layers = list_layers(model, 64)
    by_name = {layer.name: layer for layer in layers}
    expansion = EXPANSION[arch]
    assert by_name["conv1"].shape == (64, 32, 32)
    assert by_name["maxpool"].shape == (64, 16, 16)
    for stage, (width, size) in enumerate([(64, 16), (128, 8), (256, 4), (512, 2)], start=1):
        assert by_name[f"layer{stage}"].shape == (width * expansion, size, size)
        blocks = [n for n in by_name if n.count(".") == 1 and n.startswith(f"layer{stage}.")]
        assert len(blocks) == BLOCKS[arch][stage - 1]
    assert by_name["avgpool"].shape == (512 * expansion, 1, 1)
    assert by_name["fc"].shape == (1000,)
    last_relu = "layer4.1.relu_1" if expansion == 1 else "layer4.2.relu_2"
    assert by_name[last_relu].module == last_relu.rsplit("_", 1)[0]
    # Execution order, containers before children; every module of the model is listed.
    names = [layer.name for layer in layers]
    assert names.index("layer1") < names.index("layer1.0") < names.index("layer1.0.conv1") < names.index("layer2")
    assert {layer.module for layer in layers} == {n for n, _ in model.named_modules() if n}


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_listed_shapes_are_what_a_real_forward_produces(arch: str) -> None:
    model = make_resnet(arch)
    layers = list_layers(model, 64)
    real = capture(model, random_image(), None)
    assert {layer.name: layer.shape for layer in layers} == {n: tuple(t.shape[1:]) for n, t in real.items()}
    assert_no_hooks(model)


def test_fine_tuned_head_is_supported() -> None:
    model = make_resnet("resnet18", num_classes=3)
    model.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(512, 3))
    model.eval()
    by_name = {layer.name: layer for layer in list_layers(model, 64)}
    assert by_name["fc"].shape == (3,) and by_name["fc.1"].shape == (3,)
    result = grad_cam(model, random_image()[0], target_class=2)
    assert result.class_index == 2 and result.probabilities.shape == (3,)
    with pytest.raises(SettingsError, match="out of range"):
        grad_cam(model, random_image(), target_class=3)


def test_layer_list_is_worked_out_once_per_model_structure_and_input_size() -> None:
    model = make_resnet("resnet18")
    forwards: list[int] = []
    handle = model.conv1.register_forward_hook(lambda *_: forwards.append(1))
    try:
        first = list_layers(model, 64)
        assert list_layers(model, 64) == first and len(forwards) == 1  # the second photo costs nothing
        assert {layer.name: layer.shape for layer in list_layers(model, 96)}["layer4"] == (512, 3, 3)
        model.fc = nn.Linear(512, 3)  # a new head: a new structure, never the old shapes
        assert {layer.name: layer.shape for layer in list_layers(model, 64)}["fc"] == (3,)
        assert len(forwards) == 3
    finally:
        handle.remove()
    assert_no_hooks(model)
