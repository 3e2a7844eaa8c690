"""nbviz: Jupyter widgets for looking inside PyTorch models."""

from importlib import import_module
from typing import Any

from .data import Features
from .widgets import EmbeddingExplorer

__version__ = "0.1.0"

# The other widgets load on first use: `import nbviz` stays quick, and a widget's heavier imports (captum,
# torchviz, bqplot) are paid only by the notebooks that use it.
_LAZY = {
    "GradCamViewer": ".widgets.gradcam_viewer",
    "ProbMapPlayer": ".widgets.prob_map_player",
    "ProbMapRecorder": ".kernels.recorder",
    "ModelGraph": ".widgets.model_graph",
    "ImageFolder": ".image_folder",
    "TripletSpace": ".widgets.triplet_space",
}

__all__ = ["EmbeddingExplorer", "Features", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'nbviz' has no attribute {name!r}")
