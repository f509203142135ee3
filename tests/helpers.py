"""Helpers for tests: generated weights and paths. Nothing here touches the network."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "assets" / "samples"


def random_state_dict(arch: str = "resnet18", num_classes: int = 1000, seed: int = 0) -> dict:
    """A seeded random-init torchvision ResNet state dict (deterministic for a given seed)."""
    import torch
    import torchvision

    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    return model.state_dict()


def save_random_weights(path: Path, arch: str = "resnet18", num_classes: int = 1000, seed: int = 0) -> Path:
    """Write a seeded random state dict to ``path`` (.pth via torch.save, .safetensors otherwise)."""
    state = random_state_dict(arch, num_classes, seed)
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        import torch

        torch.save(state, path)
    return path
