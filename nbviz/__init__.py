"""nbviz: Jupyter widgets for looking inside PyTorch models."""

from .data import Features
from .widgets import EmbeddingExplorer

__version__ = "0.1.0"
__all__ = ["EmbeddingExplorer", "Features", "__version__"]
