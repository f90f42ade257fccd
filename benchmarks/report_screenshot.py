"""Time ``brainnet.report`` on yeast and on a small image set, and write the README screenshot docs/report.png.

Run it from the repository root:

    PYTHONPATH=src .venv/bin/python benchmarks/report_screenshot.py [--yeast-model DIR] [--shapes-model DIR]
        [--screenshot docs/report.png] [--no-screenshot]

1. yeast: a torch MLP (the table defaults but 3 cross-fitted members and patience 10, to train in minutes on a
   small CPU), trained here unless ``--yeast-model`` names a saved one, reported on the 917-row test split
   (14 labels, published levels).
2. shapes: a seed CNN trained here on 400 ``make_shapes`` images (48 px, 6 epochs) unless ``--shapes-model``
   names one, reported on 200 fresh images (4 labels; confident errors and Grad-CAM included).

For each: the seconds to load the model, to score the data (``predict_with_errors``) and to build the whole
page (scoring included; wall clock and this process's CPU time, which a busy machine inflates less), and the
page's size. Then the top of the yeast page is opened in headless Debian
chromium (playwright) and saved as a palette PNG (about 200 KB) for the README.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import brainnet
from brainnet.core.data.builtin_images import make_shapes
from brainnet.core.data.builtin_tables import load_builtin

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _yeast_model(path: str | None, work: Path) -> Path:
    if path:
        return Path(path)
    from brainnet.pipeline.estimator import MultiLabelMLP

    out = work / "yeast"
    MultiLabelMLP(n_models=3, patience=10, device="cpu").fit(load_builtin("yeast", "train")).save(
        out
    )
    return out


def _shapes_model(path: str | None, work: Path) -> Path:
    if path:
        return Path(path)
    from brainnet.pipeline.image_estimator import MultiLabelImageClassifier

    out = work / "shapes"
    options = {"rotation": 0.0, "shift": 0.0, "hflip": False, "device": "cpu"}
    model = MultiLabelImageClassifier(image_size=48, epochs=6, batch_size=32, **options)
    model.fit(make_shapes(400, seed=0)).save(out)
    return out


def _time_report(model_dir: Path, data, out: Path) -> dict[str, float]:
    start = time.perf_counter()
    model = brainnet.load(model_dir)
    loaded = time.perf_counter()
    model.predict_with_errors(data)
    scored = time.perf_counter()
    cpu = time.process_time()
    brainnet.report(model, data, path=out, force=True)
    built = time.perf_counter()
    return {
        "load s": loaded - start,
        "score s": scored - loaded,
        "report s": built - scored,
        "report CPU s": time.process_time() - cpu,
        "page KB": out.stat().st_size / 1024,
    }


def _screenshot(page_path: Path, png: Path, height: int = 2300) -> None:
    """The top ``height`` CSS pixels of the page at 1100 px wide, as a 256-colour PNG."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        sys.exit("chromium is not installed; the screenshot needs it (apt-get install chromium)")
    raw = png.with_suffix(".raw.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": height})
        page.goto(page_path.resolve().as_uri())
        page.screenshot(path=raw)
        browser.close()
    Image.open(raw).convert("RGB").quantize(256).save(png, optimize=True)
    raw.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--yeast-model", metavar="DIR")
    parser.add_argument("--shapes-model", metavar="DIR")
    parser.add_argument("--screenshot", default="docs/report.png", metavar="PNG")
    parser.add_argument("--no-screenshot", action="store_true")
    parser.add_argument(
        "--keep", metavar="DIR", help="write the models and pages here (default: temporary)"
    )
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="brainnet-report-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = {}
    start = time.perf_counter()
    yeast = _yeast_model(args.yeast_model, work)
    shapes = _shapes_model(args.shapes_model, work)
    print(f"models ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    rows["yeast test (917 rows, 14 labels)"] = _time_report(
        yeast, load_builtin("yeast", "test"), work / "yeast.html"
    )
    rows["shapes (200 images, 4 labels)"] = _time_report(
        shapes, make_shapes(200, seed=1), work / "shapes.html"
    )
    keys = ["load s", "score s", "report s", "report CPU s", "page KB"]
    print("| data | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[k]:.1f}" for k in keys) + " |")
    print(f"pages in {work}", file=sys.stderr)
    if not args.no_screenshot:
        _screenshot(work / "yeast.html", Path(args.screenshot))
        print(f"wrote {args.screenshot} ({Path(args.screenshot).stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
