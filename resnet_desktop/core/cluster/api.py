"""The cluster's front door: run ``classify --cluster``, read results files back, store them in the index.

``read_results`` is also how ``organize --results`` and the app's File > Open Results read a results
file: a ``classify --format json`` file or a ``--cluster`` ``results.parquet`` folder. Ray is imported
only when a job runs; pyarrow only when Parquet is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.core.cluster.connect import check_address, require_ray
from resnet_desktop.core.cluster.job import JobReport
from resnet_desktop.core.cluster.pipeline import JobSettings
from resnet_desktop.core.cluster.to_index import IndexImport
from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.records import Prediction, Progress, from_dict

if TYPE_CHECKING:
    from resnet_desktop.core.models.zoo import LoadedModel

__all__ = [
    "IndexImport",
    "JobReport",
    "JobSettings",
    "check_address",
    "read_results",
    "read_results_and_models",
    "require_ray",
    "run_cluster_job",
    "store_in_index",
]


def read_results(path: Path) -> list[Prediction]:
    """The predictions of a ``classify --format json`` file or a ``--cluster`` results.parquet folder."""
    if path.suffix.lower() == ".parquet":
        from resnet_desktop.core.cluster.results import read_results as read_parquet

        return read_parquet(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise TypeError("not a list")
        return [from_dict(item) for item in data]
    except OSError as exc:
        raise SettingsError(f"Cannot read the results file {path}: {exc.strerror or exc}") from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SettingsError(f"{path} is not a results file written by 'classify --format json' ({exc})") from None


def read_results_and_models(path: Path) -> list[tuple[Prediction, str]]:
    """``read_results`` with the model that made each row (a results.parquet's ``model_id``; "" when the
    file does not say, as a ``classify --format json`` file does not)."""
    if path.suffix.lower() == ".parquet":
        from resnet_desktop.core.cluster.results import read_rows

        return [(row.prediction, row.model_id) for row in read_rows(path)]
    return [(prediction, "") for prediction in read_results(path)]


def run_cluster_job(
    address: str,
    paths: Sequence[str | Path],
    output: Path,
    loaded: LoadedModel,
    settings: JobSettings,
    *,
    progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[JobReport], None] | None = None,
) -> JobReport:
    """Classify ``paths`` on the cluster at ``address`` into the Parquet folder ``output`` (resumed if it exists)."""
    from resnet_desktop.core.cluster.job import run_job

    return run_job(address, paths, output, loaded, settings, progress=progress, on_start=on_start)


def store_in_index(output: Path, loaded: LoadedModel, topk: int) -> IndexImport | None:
    """A job's rows into the library index, as a local run would have stored them (None: the index is off).

    Raises ``LibraryIndexError`` (or ``sqlite3.Error``/``OSError``) when the index cannot take them.
    """
    from resnet_desktop.core.cluster.to_index import import_results
    from resnet_desktop.core.library.api import identity_of, optional_index
    from resnet_desktop.core.library.index import FP32

    if not output.is_dir():
        return None
    index, _notices = optional_index()
    if index is None:
        return None
    with index:
        return import_results(output, index, identity_of(loaded, FP32), topk)  # each row's precision wins
