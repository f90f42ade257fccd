"""brainnet.pipeline: the PyTorch engine. Importing the package (or ``pipeline.models``) does not import torch;
the modules that train and build networks do."""
