"""Models: torch-free names and preprocessing (spec), the torchvision registry (zoo), safe weights
loading and downloads (weights), and our fine-tuned model file format (modelfile)."""
