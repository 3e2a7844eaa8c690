"""Where a view is shown, as far as its output is concerned: which hosts hide a picture beside a live view, and
which never need one."""

from __future__ import annotations

import os
import sys


def separate_pictures_hidden() -> bool:
    """Whether the host hides a picture output beside a live view (static_picture.css). VS Code draws PNGs from
    blob URLs the CSS cannot recognise, and Colab lays outputs out its own way: there the picture would show under
    the live view, so it goes in the view's own output instead (as one bundle, drawn when first shown)."""
    return "google.colab" not in sys.modules and not any(k.startswith("VSCODE_") for k in os.environ)


def pictures_unseen() -> bool:
    """Voila: every view on its pages runs live and nobody saves them, so a picture would only be hidden beside its
    view, after seconds of drawing at millions of points. Its kernels get Voila's request variables."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila/") or "VOILA_BASE_URL" in os.environ
