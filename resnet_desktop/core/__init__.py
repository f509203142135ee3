"""Qt-free core: models, weights, images, engine, features, fine-tuning.

Nothing under ``resnet_desktop.core`` may import Qt (a test checks this). Submodules import
torch themselves; this package file imports nothing so that errors can be used cheaply.
"""
