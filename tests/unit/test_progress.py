"""A finished notebook progress bar is hidden, not closed: its output must still find its widget model."""

from tqdm import tqdm as terminal_tqdm
from tqdm.notebook import tqdm as notebook_tqdm

from nbviz.kernels.progress import progress_bar


def test_a_finished_notebook_bar_keeps_its_model_and_is_hidden():
    bar = progress_bar(3, desc="work", tqdm_class=notebook_tqdm)
    for _ in range(3):
        bar.update()
    bar.close()
    assert bar.container.comm is not None, "the bar's widget model was closed: its output would show an error"
    assert bar.container.layout.display == "none"


def test_a_terminal_bar_is_erased_when_done():
    bar = progress_bar(2, desc="work", tqdm_class=terminal_tqdm)
    assert bar.leave is False
    bar.close()
