"""What every GUI capability shares: the one background-task API, banner, dialogs, drop zone,
status bar and thumbnails."""
