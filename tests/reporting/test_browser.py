"""Both reports opened in headless chromium: every section is on the page, no image is broken, nothing is
fetched from the network, and a screenshot can be taken."""

import pytest

from tests.browser import chromium
from tests.reporting.test_build import IMAGE_SECTIONS, TABLE_SECTIONS


@pytest.mark.parametrize("kind,expected", [("table", TABLE_SECTIONS), ("images", IMAGE_SECTIONS)])
def test_the_report_renders_in_chromium(reports, kind, expected, tmp_path):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(reports[kind].as_uri())
        page.wait_for_load_state("load")
        ids = page.eval_on_selector_all("section", "nodes => nodes.map(n => n.id)")
        widths = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"
        )
        visible = [page.is_visible(f"section#{s} h2") for s in expected]
        page.screenshot(path=tmp_path / "report.png", full_page=True)
    assert ids == expected and all(visible)
    assert widths and all(w > 0 for w in widths), widths
    assert requests == [reports[kind].as_uri()]  # the page itself, nothing else
    assert (tmp_path / "report.png").stat().st_size > 10_000
