"""ResNet v1 from torchvision's own v1.5 models: the stride moves from ``conv2`` to ``conv1``.

torchvision's ``resnet50/101/152`` are "v1.5": in each bottleneck that halves the resolution the
stride 2 sits in the 3x3 ``conv2``. The original ResNet (v1, He et al. 2015) puts it in the first
1x1 ``conv1``, so the 3x3 conv runs on the smaller map: a little faster, about 0.5% less top-1
(NVIDIA's published comparison). Moving the stride changes no weight shape, so the parameter count
is the same and a v1 state dict has the same keys.
"""

from __future__ import annotations

from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet


def to_v1(model: ResNet) -> ResNet:
    """Turn a torchvision bottleneck ResNet into v1, in place, and return it.

    Only the blocks that downsample change (each stage's first block, from ``layer2`` on); the
    shortcut (``downsample``) keeps its stride 2 1x1 conv, as in both versions.
    """
    changed = 0
    for module in model.modules():
        if not isinstance(module, Bottleneck):
            continue
        conv1, conv2 = module.conv1, module.conv2
        if tuple(conv2.stride) == (1, 1):
            continue
        conv1.stride, conv2.stride = conv2.stride, (1, 1)
        changed += 1
    if changed == 0:
        raise TypeError("to_v1 needs a ResNet built from Bottleneck blocks with a strided conv2 (resnet50/101/152)")
    return model


def strides(model: nn.Module) -> dict[str, tuple[int, int]]:
    """Every Conv2d's stride by module name (what tells v1 from v1.5)."""
    return {name: (int(m.stride[0]), int(m.stride[1])) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
