"""The library's front door: the use cases ``resnet-desktop`` and the app both call, and their records.

- classify through the index: ``classify_photos`` (-> ``Indexed`` results and ``Progress``, returns a
  ``ClassifySummary``), ``count_photos``, ``photo_paths``;
- similar photos and near-duplicates (index new files first, then ask the embeddings): ``find_similar``,
  ``find_duplicates``;
- the index itself: ``require_index``/``optional_index``, ``index_info``, ``forget_folder``,
  ``clear_index``, ``reopen_last_session``, ``reopen_folder``;
- organize and XMP keywords: ``make_plan`` (or ``set_aside_plan``: move chosen photos into a folder;
  ``keywords_plan``: keywords only, journals in ``keyword_journals()``) -> ``begin`` (the journal)
  -> ``apply`` / ``undo``, each a generator of ``OperationProgress`` returning an ``Outcome``;
- library folders that keep themselves current: ``add_folder``/``remove_folder``/``list_folders``,
  ``set_folder_model``/``set_folder_rules``, ``folder_statuses``, ``scan_folders`` (one pass),
  ``watch_library`` (watch until cancelled), ``last_rule_journal`` (to undo what a rule did),
  ``browse_library``; ``FolderModels`` loads each folder's model once.

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
from resnet_desktop.core.library.folders import FolderStoreError, LibraryFolder
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
from resnet_desktop.core.library.keywords import keyword_journals, keywords_plan
from resnet_desktop.core.library.library_folders import (
    LibraryView,
    add_folder,
    browse_library,
    default_model,
    folder_statuses,
    get_folder,
    last_rule_journal,
    list_folders,
    model_text,
    remove_folder,
    scan_folders,
    set_default_model,
    set_folder_model,
    set_folder_rules,
)
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
    your_photos,
)
from resnet_desktop.core.library.rule_settings import FolderRules
from resnet_desktop.core.library.scan import FolderStatus
from resnet_desktop.core.library.sessions import Reopened
from resnet_desktop.core.library.set_aside import set_aside_plan
from resnet_desktop.core.library.similar import DUPLICATE_THRESHOLD, Neighbour
from resnet_desktop.core.library.sync import FolderModels, FolderProgress, SyncEvent, SyncResult
from resnet_desktop.core.library.undo import undo
from resnet_desktop.core.library.watch import (
    INDEXING,
    PAUSED,
    STOPPED,
    WATCHING,
    FolderRemoved,
    FolderSynced,
    WatchEvent,
    WatchNotice,
    WatchState,
    watch_library,
)
from resnet_desktop.core.library.xmp import Naming

__all__ = [
    "ClassifyEvent",
    "ClassifySummary",
    "DEFAULT_THRESHOLD",
    "DUPLICATE_THRESHOLD",
    "DuplicateGroup",
    "FROM_INDEX",
    "FileOp",
    "FolderModels",
    "FolderProgress",
    "FolderRemoved",
    "FolderRules",
    "FolderStatus",
    "FolderStoreError",
    "FolderSynced",
    "INDEXING",
    "IndexInfo",
    "Indexed",
    "Indexing",
    "LibraryFolder",
    "LibraryIndex",
    "LibraryIndexError",
    "LibraryView",
    "Mode",
    "NEW",
    "Naming",
    "NearDuplicates",
    "Neighbour",
    "JournalSummary",
    "OperationProgress",
    "OrganizeOptions",
    "Outcome",
    "PAUSED",
    "Plan",
    "Reopened",
    "STOPPED",
    "SimilarPhotos",
    "Skipped",
    "SyncEvent",
    "SyncResult",
    "WATCHING",
    "WatchEvent",
    "WatchNotice",
    "WatchState",
    "add_folder",
    "apply",
    "begin",
    "browse_library",
    "classify_photos",
    "clear_index",
    "count_photos",
    "default_model",
    "find_duplicates",
    "find_journals",
    "find_similar",
    "folder_statuses",
    "forget_folder",
    "get_folder",
    "identity_of",
    "index_info",
    "index_location",
    "is_inside",
    "journal_folder",
    "journal_summary",
    "keyword_journals",
    "keywords_plan",
    "last_rule_journal",
    "list_folders",
    "make_plan",
    "model_text",
    "optional_index",
    "photo_paths",
    "read_suggested_threshold",
    "remove_folder",
    "reopen_folder",
    "reopen_last_session",
    "require_index",
    "scan_folders",
    "set_aside_plan",
    "set_default_model",
    "set_folder_model",
    "set_folder_rules",
    "undo",
    "watch_library",
    "your_photos",
]
