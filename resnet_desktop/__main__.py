"""``python -m resnet_desktop`` is the same as the ``resnet-desktop`` command."""

from resnet_desktop.cli import main


def run() -> int:
    """The process entry point (``python -m``, the ``resnet-desktop`` script): when the app's window has
    closed, the process ends at once instead of tearing down torch and Qt (``gui.common.closing``)."""
    from resnet_desktop.gui.common.closing import end_process_when_closed

    end_process_when_closed()
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
