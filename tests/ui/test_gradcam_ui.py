"""GradCamViewer in a real browser (Voila + Chromium) on a CNN trained here on scikit-learn's digits: clicks and
pixels asserted against Python traits, display changes checked to call no kernel."""

from __future__ import annotations

import numpy as np

from .harness import pixels, ready_root, wait_for_json, write_notebook

DIGITS = """
import numpy as np, torch, torch.nn as nn, nbviz
from sklearn.datasets import load_digits
d = load_digits()
x = torch.tensor(d.images[:400, None] / 16, dtype=torch.float32)
y = torch.tensor(d.target[:400])
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
opt = torch.optim.Adam(model.parameters(), 1e-2)
for _ in range(80):
    opt.zero_grad(); nn.functional.cross_entropy(model(x), y).backward(); opt.step()
v = nbviz.GradCamViewer(model, x[:24], labels=y[:24].tolist(), layer="2",
                        classes=[f"<b>digit {i}</b>" for i in range(10)], size=240)
nbviz_probe(v, "index", "target", "shown_target", "computations", "error", "show_confusion")
v
"""


def open_viewer(page, voila, name: str):
    probe = voila.root / f"{name}_probe"
    write_notebook(voila.root / f"{name}.ipynb", [DIGITS], probe_folder=probe)
    page.goto(f"{voila.url}/voila/render/{name}.ipynb", timeout=180_000)
    root = ready_root(page, ".nbviz-gradcam", timeout=180_000)
    return probe, root


def view_pixels(page, root) -> np.ndarray:
    box = root.locator(".nbviz-gc-view canvas").bounding_box()
    return pixels(page, clip=box).astype(int)


def wait_changed(page, root, before: np.ndarray, timeout_ms: int = 15_000) -> np.ndarray:
    for _ in range(timeout_ms // 100):
        now = view_pixels(page, root)
        if np.abs(now - before).max() > 10:
            return now
        page.wait_for_timeout(100)
    raise AssertionError("the view's pixels did not change")


def test_grid_click_topk_retarget_labels_as_text_and_confusion(page, voila):
    probe, root = open_viewer(page, voila, "gradcam_clicks")
    wait_for_json(probe / "index.json", lambda v: v == 0)

    # A click in the grid picks the image.
    root.locator('.nbviz-gc-cell[data-index="5"]').click()
    wait_for_json(probe / "index.json", lambda v: v == 5)
    page.wait_for_function("() => document.querySelector('.nbviz-gc-cell.nbviz-gc-selected')?.dataset.index === '5'")

    # Class names with HTML are shown as text.
    names = root.locator(".nbviz-gc-name").all_text_contents()
    assert names and all(n.startswith("<b>digit ") and n.endswith("</b>") for n in names)
    assert root.locator(".nbviz-gc-side b").count() == 0

    # Clicking another top class re-targets: the trait changes and a new map is drawn.
    shown = wait_for_json(probe / "shown_target.json")
    other = root.locator(f'.nbviz-gc-class[data-class]:not([data-class="{shown}"])').first
    cls = int(other.get_attribute("data-class"))
    before = view_pixels(page, root)
    calls = wait_for_json(probe / "computations.json")
    other.click()
    wait_for_json(probe / "target.json", lambda v: v == cls)
    wait_for_json(probe / "computations.json", lambda v: v == calls + 1)
    wait_changed(page, root, before)
    assert cls == wait_for_json(probe / "shown_target.json", lambda v: v == cls)

    # The confusion view shows four maps.
    root.locator(".nbviz-gc-confusion-toggle input").check()
    wait_for_json(probe / "show_confusion.json", lambda v: v is True)
    tiles = root.locator(".nbviz-gc-confusion canvas")
    tiles.first.wait_for(state="visible", timeout=15_000)
    assert tiles.count() == 4
    # A labelled 2 x 2 grid beside the image (not a block under it): rows the predicted and the true class,
    # columns the evidence for and against.
    rows = root.locator(".nbviz-gc-confusion .nbviz-gc-cf-row").all_text_contents()
    assert rows[0].startswith("predicted <b>digit") and rows[1].startswith("true <b>digit"), rows
    heads = [h for h in root.locator(".nbviz-gc-confusion .nbviz-gc-cf-head").all_text_contents() if h]
    assert heads == ["for", "against"]
    image = root.locator(".nbviz-gc-view canvas").first.bounding_box()
    matrix = root.locator(".nbviz-gc-confusion").bounding_box()
    assert matrix["x"] >= image["x"] + image["width"] and abs(matrix["y"] - image["y"]) < 40, (image, matrix)
    first, second = (tiles.nth(i).bounding_box() for i in (0, 1))
    assert abs(first["y"] - second["y"]) < 2 and second["x"] > first["x"]  # for | against side by side
    assert not page.page_errors


def test_opacity_and_sign_change_pixels_without_a_kernel_call(page, voila):
    probe, root = open_viewer(page, voila, "gradcam_display")
    calls = wait_for_json(probe / "computations.json", lambda v: v >= 1)
    page.wait_for_timeout(500)  # let the first draw settle
    before = view_pixels(page, root)
    draws = root.evaluate("el => el.nbviz.draws")

    slider = root.locator(".nbviz-gc-opacity input")
    slider.focus()
    page.keyboard.press("End")  # opacity 1
    after_opacity = wait_changed(page, root, before)
    assert root.evaluate("el => el.nbviz.draws") > draws

    root.locator(".nbviz-gc-sign select").select_option("negative")
    wait_changed(page, root, after_opacity)

    page.wait_for_timeout(1000)  # any kernel message would have come back by now
    assert wait_for_json(probe / "computations.json") == calls
    assert wait_for_json(probe / "error.json") == ""
    assert not page.page_errors


def visible_part(page, voila, name: str, selector: str):
    """The viewer opened on image 0, and one of its parts once shown."""
    probe, root = open_viewer(page, voila, name)
    wait_for_json(probe / "index.json", lambda v: v == 0)
    part = root.locator(selector)
    part.wait_for(timeout=15_000)
    return probe, root, part


def test_the_true_class_button_explains_the_label_and_the_caption_names_it(page, voila):
    probe, root, truth = visible_part(page, voila, "gradcam_true", ".nbviz-gc-true")
    assert truth.text_content() == "true class (<b>digit 0</b>)"  # load_digits()'s first image is a 0
    assert "true: <b>digit 0</b>" in root.locator(".nbviz-gc-view figcaption").first.text_content()
    truth.click()
    wait_for_json(probe / "target.json", lambda v: v == -2)
    wait_for_json(probe / "shown_target.json", lambda v: v == 0)
    page.wait_for_function("() => document.querySelector('.nbviz-gc-true')?.classList.contains('nbviz-gc-active')")
    # Another image: the true class follows it.
    root.locator('.nbviz-gc-cell[data-index="7"]').click()
    wait_for_json(probe / "shown_target.json", lambda v: v == 7)
    assert not page.page_errors


def test_the_colour_key_says_what_colours_mean_and_one_sign_keeps_zero_neutral(page, voila):
    probe, root, _key = visible_part(page, voila, "gradcam_key", ".nbviz-gc-key")
    labels = lambda: root.locator(".nbviz-gc-key-label").all_text_contents()  # noqa: E731
    assert labels() == ["against", "0", "for"]
    strip = root.locator(".nbviz-gc-key-strip")

    def ends() -> tuple[np.ndarray, np.ndarray]:
        img = pixels(page, clip=strip.bounding_box()).astype(int)
        row = img[img.shape[0] // 2]
        return row[3], row[-4]

    left, right = ends()
    assert left[2] > left[0] + 30 and right[0] > right[2] + 30  # RdBu_r: blue against, red for (at opacity 0.5)
    root.locator(".nbviz-gc-sign select").select_option("positive")
    page.wait_for_function("() => [...document.querySelectorAll('.nbviz-gc-key-label')].map(e => e.textContent)"
                           ".join() === '0,for'")
    left, right = ends()
    # Zero is the neutral middle and transparent: white over white, never the blue "against" end.
    assert (left > 235).all(), left
    assert right[0] > right[2] + 30

    # Re-targeting: the highlighted class row follows the class the map now explains.
    shown = wait_for_json(probe / "shown_target.json")
    other = root.locator(f'.nbviz-gc-class[data-class]:not([data-class="{shown}"])').first
    cls = int(other.get_attribute("data-class"))
    other.click()
    wait_for_json(probe / "shown_target.json", lambda v: v == cls)
    page.wait_for_function(
        "c => [...document.querySelectorAll('.nbviz-gc-class.nbviz-gc-active[data-class]')].map(e => e.dataset.class)"
        ".join() === String(c)", arg=cls, timeout=15_000)
    assert not page.page_errors
