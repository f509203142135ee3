"""BatchNorm folded into the preceding convolutions of a torchvision ResNet (the engine's inference copy)."""

from __future__ import annotations

import copy

import torch


def fold_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of an eval-mode ResNet with each Conv2d+BatchNorm2d pair fused.

    Walks torchvision's known ResNet pairs (stem, each block's convN/bnN, the downsample branch)
    rather than tracing with torch.fx: fx patches ``nn.Module.__call__`` process-wide while it
    traces, which breaks forwards running in other threads (the GUI classifies, captures feature
    maps and fine-tunes in parallel). Modules that are not these pairs are copied unchanged.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(model)

    def fuse_pair(owner: torch.nn.Module, conv_name: str, bn_name: str) -> None:
        conv, bn = getattr(owner, conv_name, None), getattr(owner, bn_name, None)
        if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
            setattr(owner, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(owner, bn_name, torch.nn.Identity())

    for module in folded.modules():
        for index in (1, 2, 3):
            fuse_pair(module, f"conv{index}", f"bn{index}")
        downsample = getattr(module, "downsample", None)
        if isinstance(downsample, torch.nn.Sequential) and len(downsample) == 2:
            fuse_pair(downsample, "0", "1")
    return folded
