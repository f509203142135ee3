"""The two-output inference graph we export (logits + embedding) and what its cache key is made of.

Shared by the exporter, the quantiser/verifier and the ONNX Runtime backend's on-disk cache.
"""

from __future__ import annotations

import copy
import hashlib
import io
import warnings
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.models.backbone import EMBEDDING_NAME as EMBEDDING_NAME
from resnet_desktop.core.models.backbone import GRAPH_VERSION as GRAPH_VERSION
from resnet_desktop.core.models.backbone import INPUT_NAME as INPUT_NAME
from resnet_desktop.core.models.backbone import LOGITS_NAME as LOGITS_NAME
from resnet_desktop.core.models.backbone import OPSET as OPSET
from resnet_desktop.core.models.backbone import backbone_digest, head_of
from resnet_desktop.core.models.backbone import exporter_version as exporter_version


class Classifier(nn.Module):
    """A torchvision ResNet with two outputs: logits and the pooled features ``fc`` reads."""

    def __init__(self, resnet: nn.Module) -> None:
        super().__init__()
        self.net = resnet

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n: Any = self.net  # torchvision's ResNet attributes are untyped
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
        features = torch.flatten(n.avgpool(x), 1)
        return n.fc(features), features


def graph_module(model: nn.Module) -> Classifier:
    """An eval-mode copy with two outputs; the caller's model (used by other threads) is untouched."""
    for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer4", "avgpool", "fc"):
        if not isinstance(getattr(model, name, None), nn.Module):
            raise SettingsError(f"only torchvision ResNets can be exported (the model has no {name!r})")
    return Classifier(copy.deepcopy(model).float().cpu().eval()).eval()


def weights_hash(model: nn.Module) -> str:
    """sha256 of every parameter and buffer (names, shapes, bytes): the graph cache key."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        if t.numel():  # 0-d buffers (num_batches_tracked) cannot be viewed as bytes directly
            digest.update(t.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def state_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The model's parameters and buffers as numpy arrays (views of the CPU tensors, no copy)."""
    return {name: t.detach().cpu().contiguous().numpy() for name, t in model.state_dict().items()}


def model_backbone_digest(model: nn.Module) -> str:
    """:func:`backbone.backbone_digest` of a torch model (the same value its safetensors file gives)."""
    return backbone_digest(state_arrays(model).items())


def model_head(model: nn.Module) -> tuple[np.ndarray, np.ndarray] | None:
    """``fc``'s weight and bias as float32 numpy arrays (None for a model without a linear head)."""
    return head_of(state_arrays(model))


def onnx_bytes(model: nn.Module, crop_size: int) -> bytes:
    """The fp32 two-output graph of ``model``, dynamic batch axis, as serialized ONNX."""
    module = graph_module(model)
    example = torch.zeros((1, 3, crop_size, crop_size))
    buffer = io.BytesIO()
    batch = {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter announces its deprecation on every call
        torch.onnx.export(
            module,
            (example,),
            cast(Any, buffer),  # a file object works; the annotation only names paths
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[LOGITS_NAME, EMBEDDING_NAME],
            dynamic_axes={INPUT_NAME: batch, LOGITS_NAME: batch, EMBEDDING_NAME: batch},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    return buffer.getvalue()
