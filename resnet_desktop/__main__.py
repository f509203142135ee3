"""``python -m resnet_desktop`` is the same as the ``resnet-desktop`` command."""

from resnet_desktop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
