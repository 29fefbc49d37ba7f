"""The page in a real browser: headless Chromium opens it from disk, every image decodes,
nothing is fetched, the table has a row per alpha, and a screenshot renders.

Chromium is required, not optional: CI installs it (.ci/run), and a machine without it
fails here rather than skipping the only test that looks at the page as a reader does.
"""

from __future__ import annotations

import re

import numpy as np
from matplotlib.image import imread
from report_helpers import chromium, measure

from netreg.report import report_run


def test_the_page_opens_in_chromium_with_every_image_and_row(run_folder, sweep, tmp_path):
    _, result, _ = sweep
    m = measure(tmp_path, report_run(run_folder).read_text(encoding="utf-8"))
    figures = ["validation_curve", "weight_norms", "learning_curves", "evidence", "weight_histograms"]
    assert [image["figure"] for image in m["images"]] == figures
    for image in m["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    assert m["fetched"] == []  # images are data: URIs; nothing else is loaded
    assert len(m["rows"]) == len(result.alphas)
    assert m["chosenRows"] == [f"{result.alpha:.3g} chosen"]
    assert m["chosenLine"] == f"Chosen alpha: {result.alpha:.3g} (1se rule)"
    assert m["chosenBackground"] == "rgb(223, 240, 216)"  # the highlight of the chosen row


def test_the_measurement_would_see_an_image_that_does_not_decode(run_folder, tmp_path):
    # The control for the test above: a naturalWidth of 0 is what a broken image gives.
    html = report_run(run_folder).read_text(encoding="utf-8")
    broken = re.sub(r'src="data:image/png;base64,[^"]*"', 'src="data:image/png;base64,AAAA"', html, count=1)
    widths = [image["width"] for image in measure(tmp_path, broken)["images"]]
    assert widths[0] == 0 and all(width > 0 for width in widths[1:])


def test_chromium_takes_a_screenshot_of_the_page(run_folder, tmp_path):
    page = report_run(run_folder)
    shot = tmp_path / "page.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    pixels = imread(shot)
    assert pixels.shape[:2] == (2000, 1280)
    assert np.ptp(pixels[..., :3]) > 0.5  # something was drawn, not a blank page
