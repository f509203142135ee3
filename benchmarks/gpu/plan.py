"""How much the suite runs: the full run for a 16-core + H100/H200 machine, and ``--tiny`` for a CPU;
and the one way it loads a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from resnet_desktop.core.models.ref import ModelRef, load

if TYPE_CHECKING:
    from resnet_desktop.core.models.zoo import LoadedModel


def random_model(arch: str) -> LoadedModel:
    """``arch`` with seeded random weights (the same numbers on every call; nothing downloaded)."""
    return load(ModelRef.parse(f"{arch}:random"))


@dataclass(frozen=True)
class Plan:
    """Counts and sizes of one suite run (every figure in the JSON is measured with these)."""

    mode: str
    archs: tuple[str, ...]
    #: Photo sets: name -> (count, (width, height)); "big" is a 12-MP camera, "small" ImageNet-sized.
    photos: dict[str, tuple[int, tuple[int, int]]]
    #: Each engine run goes over its photo set this many times (so a run lasts long enough to time).
    passes: dict[str, int]
    #: Images the naive per-image loop times, per photo set (it is 10-100x slower than the engine).
    naive: dict[str, int]
    #: Timed engine runs per configuration; the best one counts (the first pays cuDNN's autotuning).
    repeat: int
    ceiling_s: float
    #: Images compared against the fp32 CPU reference, per photo set.
    agreement: dict[str, int]
    digits_arch: str
    #: Digits per class (None: all 1,797 of scikit-learn's set; 100 keeps the fp32 CPU reference short).
    digits_per_class: int | None
    #: The batch the simulated out-of-memory check asks for on a CPU (CUDA: see ``oom.CUDA_BATCH``).
    oom_batch: int


FULL = Plan(
    mode="full",
    archs=("resnet50", "resnet18"),
    photos={"big": (192, (4000, 3000)), "small": (4096, (500, 375))},
    passes={"big": 3, "small": 2},
    naive={"big": 16, "small": 256},
    repeat=2,
    ceiling_s=2.0,
    agreement={"big": 32, "small": 512},
    digits_arch="resnet50",
    digits_per_class=100,
    oom_batch=8,
)

TINY = Plan(
    mode="tiny",
    archs=("resnet18",),
    photos={"big": (2, (1600, 1200)), "small": (6, (500, 375))},
    passes={"big": 1, "small": 1},
    naive={"big": 2, "small": 3},
    repeat=1,
    ceiling_s=0.3,
    agreement={"big": 2, "small": 6},
    digits_arch="resnet18",
    digits_per_class=3,
    oom_batch=8,
)
