"""Running a library folder's rules on the photos classified there since the rules were switched on.

A rule acts once per photo (by content hash: a photo renamed, moved or copied is the same photo),
recorded in the folder list *before* the rule touches it, together with the organize journal that
does the work. A journal cut short by a crash is finished on the next pass (``apply`` resumes),
and every journal can be undone (``resnet-desktop library undo FOLDER`` or ``organize --undo``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from resnet_desktop.core.inference.records import Prediction
from resnet_desktop.core.library import journal as journals
from resnet_desktop.core.library.apply import apply, begin
from resnet_desktop.core.library.folders import FolderStore, LibraryFolder
from resnet_desktop.core.library.index import LibraryIndex
from resnet_desktop.core.library.index_db import parse_scores
from resnet_desktop.core.library.journal import OperationProgress
from resnet_desktop.core.library.keywords import keywords_plan
from resnet_desktop.core.library.organize import OrganizeOptions, Plan, make_plan
from resnet_desktop.core.library.rule_settings import ORGANIZE_RULE, XMP_RULE, FolderRules
from resnet_desktop.core.work import Work

#: Rule journals live with the folder list, not among the photos.
JOURNALS_FOLDER = "rule-journals"


@dataclass
class RuleRun:
    """What one rule did on one pass."""

    folder: Path
    rule: str
    photos: int = 0
    journal: Path | None = None
    problems: list[tuple[Path, str]] = field(default_factory=list)


def journals_folder(store: FolderStore) -> Path:
    return store.path.parent / JOURNALS_FOLDER


def xmp_plan(photos: Sequence[Prediction], rules: FolderRules, folder: Path) -> Plan:
    """Keywords only: the top label at or above the threshold, into each photo's sidecar."""
    return keywords_plan(photos, folder, threshold=rules.threshold, naming=rules.xmp_naming)


def organize_plan(photos: Sequence[Prediction], rules: FolderRules, folder: Path) -> Plan:
    """``organize_into/<class>/<path below the folder>``, as ``resnet-desktop organize`` plans it."""
    assert rules.organize is not None and rules.organize_into is not None
    options = OrganizeOptions(mode=rules.organize, threshold=rules.threshold)
    return make_plan(photos, rules.organize_into, options, roots=[folder])


def finish_interrupted(
    store: FolderStore, folder: LibraryFolder, cancel: threading.Event | None
) -> Work[OperationProgress, None]:
    """Apply what a killed pass left half done (its photos are already in the ledger)."""
    for path in store.rule_journals(folder):
        try:
            state = journals.read(path)
        except Exception:  # noqa: BLE001 - a journal we cannot read is left for the person (organize --resume)
            continue
        if state.complete or state.undone or any(e.get("type") == "undo" for e in state.events):
            continue
        yield from apply(path, cancel=cancel)


def run_rules(
    store: FolderStore,
    index: LibraryIndex,
    folder: LibraryFolder,
    model_id: int,
    *,
    cancel: threading.Event | None = None,
) -> Work[OperationProgress, list[RuleRun]]:
    """Each rule of ``folder`` on the photos classified since it was switched on and not yet acted on."""
    runs: list[RuleRun] = []
    if not folder.rules.any or folder.rules_since is None:
        return runs
    yield from finish_interrupted(store, folder, cancel)
    candidates = index.rule_candidates(folder.path, model_id, folder.rules_since)
    if not candidates:
        return runs
    for rule in folder.rules.names:
        keys = [sha or path for path, sha, _scores in candidates]
        done = store.rule_done(folder, rule, keys)
        todo = [
            (key, Prediction(path=Path(path), scores=parse_scores(scores, 5)))
            for (path, _sha, scores), key in zip(candidates, keys, strict=True)
            if key not in done and Path(path).is_file()
        ]
        if not todo:
            continue
        predictions = [prediction for _key, prediction in todo]
        plan = xmp_plan(predictions, folder.rules, folder.path) if rule == XMP_RULE else None
        if rule == ORGANIZE_RULE:
            plan = organize_plan(predictions, folder.rules, folder.path)
        assert plan is not None
        run = RuleRun(folder.path, rule, photos=len(todo))
        journal = begin(plan, journal_folder=journals_folder(store)) if plan.operations else None
        # The ledger first: a crash from here on finishes this journal next time, never plans these again.
        store.record_rule(folder, rule, [(key, p.path) for key, p in todo], journal)
        if journal is not None:
            run.journal = journal
            work = apply(journal, cancel=cancel)
            try:
                while True:
                    yield next(work)
            except StopIteration as stop:
                run.problems = list(stop.value.problems)
        runs.append(run)
    return runs
