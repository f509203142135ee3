"""The library's front door: the use cases ``resnet-desktop`` and the app both call, and their records.

- classify through the index: ``classify_photos`` (-> ``Indexed`` results and ``Progress``, returns a
  ``ClassifySummary``), ``count_photos``, ``photo_paths``;
- similar photos and near-duplicates (index new files first, then ask the embeddings): ``find_similar``,
  ``find_duplicates``;
- the index itself: ``require_index``/``optional_index``, ``index_info``, ``forget_folder``,
  ``clear_index``, ``reopen_last_session``, ``reopen_folder``;
- organize and XMP keywords: ``make_plan`` (or ``set_aside_plan``: move chosen photos into a folder)
  -> ``begin`` (the journal) -> ``apply`` / ``undo``, each a generator of ``OperationProgress``
  returning an ``Outcome``.

Front ends import from here (and ``core.errors``, ``core.models.ref``, ``core.work``, records), never from
the modules behind it: an import-linter contract says so.
"""

from __future__ import annotations

from resnet_desktop.core.library.apply import apply, begin
from resnet_desktop.core.library.classify_job import (
    ClassifyEvent,
    ClassifySummary,
    classify_photos,
    count_photos,
    photo_paths,
)
from resnet_desktop.core.library.incremental import FROM_INDEX, NEW, Indexed
from resnet_desktop.core.library.index import IndexInfo, LibraryIndex, LibraryIndexError
from resnet_desktop.core.library.journal import (
    JournalSummary,
    OperationProgress,
    Outcome,
    find_journals,
    journal_folder,
)
from resnet_desktop.core.library.journal import summary as journal_summary
from resnet_desktop.core.library.near import (
    DuplicateGroup,
    Indexing,
    NearDuplicates,
    SimilarPhotos,
    find_duplicates,
    find_similar,
)
from resnet_desktop.core.library.organize import (
    DEFAULT_THRESHOLD,
    FileOp,
    Mode,
    OrganizeOptions,
    Plan,
    Skipped,
    is_inside,
    make_plan,
    read_suggested_threshold,
)
from resnet_desktop.core.library.queries import (
    clear_index,
    forget_folder,
    identity_of,
    index_info,
    index_location,
    optional_index,
    reopen_folder,
    reopen_last_session,
    require_index,
)
from resnet_desktop.core.library.sessions import Reopened
from resnet_desktop.core.library.set_aside import set_aside_plan
from resnet_desktop.core.library.similar import DUPLICATE_THRESHOLD, Neighbour
from resnet_desktop.core.library.undo import undo
from resnet_desktop.core.library.xmp import Naming

__all__ = [
    "DEFAULT_THRESHOLD",
    "DUPLICATE_THRESHOLD",
    "FROM_INDEX",
    "NEW",
    "ClassifyEvent",
    "ClassifySummary",
    "DuplicateGroup",
    "FileOp",
    "IndexInfo",
    "Indexed",
    "Indexing",
    "LibraryIndex",
    "LibraryIndexError",
    "Mode",
    "Naming",
    "NearDuplicates",
    "Neighbour",
    "JournalSummary",
    "OperationProgress",
    "OrganizeOptions",
    "Outcome",
    "Plan",
    "Reopened",
    "SimilarPhotos",
    "Skipped",
    "apply",
    "begin",
    "classify_photos",
    "clear_index",
    "count_photos",
    "find_duplicates",
    "find_journals",
    "find_similar",
    "forget_folder",
    "identity_of",
    "index_info",
    "index_location",
    "is_inside",
    "journal_folder",
    "journal_summary",
    "make_plan",
    "optional_index",
    "photo_paths",
    "read_suggested_threshold",
    "reopen_folder",
    "reopen_last_session",
    "require_index",
    "set_aside_plan",
    "undo",
]
