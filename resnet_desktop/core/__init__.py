"""Qt-free core: models, weights, images, engine, features, fine-tuning.

Nothing under ``resnet_desktop.core`` may import Qt (a test checks this). Submodules import
torch themselves; this package file imports nothing heavy so that errors can be used cheaply. It
only arranges for torchvision, whenever a submodule imports it, to come without the compiler stack
it does not need (``lean_torchvision``: 147 MB and a second less).
"""

from resnet_desktop.core import lean_torchvision

lean_torchvision.install()
