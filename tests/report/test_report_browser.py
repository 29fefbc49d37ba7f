"""The page in a real browser: headless Chromium opens it from disk, every image decodes,
nothing is fetched, the table has a row per alpha, and a screenshot renders.

Chromium is required, not optional: CI installs it (.ci/run), and a machine without it
fails here rather than skipping the only test that looks at the page as a reader does.
"""

from __future__ import annotations

import json
import re
import subprocess
from html import unescape
from pathlib import Path

import numpy as np
from matplotlib.image import imread

from netreg.report import report_run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--hide-scrollbars",
]

# Test-only: the page itself has no scripts. A copy with this one measures the page once
# it has loaded and writes the measurements into the DOM, which --dump-dom returns.
MEASURE = """<script>
window.addEventListener("load", () => {
  const chosen = document.querySelector("tr.chosen td");
  const out = document.createElement("pre");
  out.id = "measurements";
  out.textContent = JSON.stringify({
    images: [...document.images].map(i => ({figure: i.closest("figure").id, complete: i.complete,
                                            width: i.naturalWidth, height: i.naturalHeight})),
    fetched: performance.getEntriesByType("resource").map(e => e.name),
    rows: [...document.querySelectorAll("table.results tbody tr")].map(r => r.cells[0].textContent),
    chosenRows: [...document.querySelectorAll("table.results tr.chosen")].map(r => r.cells[0].textContent),
    chosenLine: document.querySelector(".chosen-alpha").textContent,
    chosenBackground: chosen ? getComputedStyle(chosen).backgroundColor : null,
  });
  document.body.appendChild(out);
});
</script>"""


def _chromium(tmp_path, *args):
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install it (apt-get install chromium); CI's .ci/run does."
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def _measure(tmp_path, html):
    measured = tmp_path / "measured.html"
    measured.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", measured.as_uri())
    found = re.search(r'<pre id="measurements">(.*?)</pre>', dom, flags=re.S)
    assert found, dom[-2000:]
    return json.loads(unescape(found.group(1)))


def test_the_page_opens_in_chromium_with_every_image_and_row(run_folder, sweep, tmp_path):
    _, result, _ = sweep
    m = _measure(tmp_path, report_run(run_folder).read_text(encoding="utf-8"))
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
    widths = [image["width"] for image in _measure(tmp_path, broken)["images"]]
    assert widths[0] == 0 and all(width > 0 for width in widths[1:])


def test_chromium_takes_a_screenshot_of_the_page(run_folder, tmp_path):
    page = report_run(run_folder)
    shot = tmp_path / "page.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    pixels = imread(shot)
    assert pixels.shape[:2] == (2000, 1280)
    assert np.ptp(pixels[..., :3]) > 0.5  # something was drawn, not a blank page
