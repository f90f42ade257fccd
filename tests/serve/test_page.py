"""The web page in headless Chromium (Debian's, never downloaded): upload an image or paste a row and see one
bar per label, its width the probability, with the label's threshold marked."""

import pytest

from tests.browser import chromium
from tests.serve.conftest import LiveServer


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:  # skips without Debian's chromium (.ci/run installs it)
        yield browser


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 900, "height": 700})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    page.close()
    assert not errors, errors
    assert all(url.startswith("http://127.0.0.1:") or url.startswith("blob:") for url in requests)


def _bars(page):
    """(label, fill width %, threshold position %, predicted) for each bar drawn."""
    return page.eval_on_selector_all(
        ".result .bar",
        """rows => rows.map(r => [r.dataset.label,
             parseFloat(r.querySelector('.fill').style.width),
             parseFloat(r.querySelector('.threshold').style.left),
             r.classList.contains('on')])""",
    )


def _check_bars(bars, item, thresholds):
    assert [b[0] for b in bars] == list(thresholds)
    for label, width, mark, on in bars:
        assert width == pytest.approx(100 * item["probabilities"][label], abs=0.01)
        assert mark == pytest.approx(100 * thresholds[label], abs=0.01)
        assert on == item["decisions"][label]


def test_upload_an_image_and_see_bars_with_thresholds(page, image_served, shape_pngs, tmp_path):
    import httpx

    image = tmp_path / "shapes.png"
    image.write_bytes(shape_pngs[0])
    server = LiveServer(image_served)
    try:
        page.goto(server.url + "/")
        page.wait_for_selector("#images-panel:not([hidden])")
        page.set_input_files("#files", str(image))
        page.wait_for_selector(".result .bar")
        reply = httpx.post(server.url + "/predict", files={"f": ("shapes.png", shape_pngs[0])})
        screenshot = page.screenshot(full_page=True)
    finally:
        server.stop()
    body = reply.json()
    _check_bars(_bars(page), body["items"][0], body["thresholds"])
    assert page.inner_text(".result .name") == "shapes.png"
    assert page.eval_on_selector(".result img", "img => img.naturalWidth") == 48
    assert screenshot[:8] == b"\x89PNG\r\n\x1a\n"


def test_paste_a_csv_line_or_json_and_see_bars(page, table_served):
    import httpx

    features = table_served.features
    values = [round(0.01 * j, 2) for j in range(len(features))]
    server = LiveServer(table_served)
    try:
        page.goto(server.url + "/")
        page.wait_for_selector("#table-panel:not([hidden])")
        page.fill("#row", ",".join(map(str, values)))  # one CSV line, in the model's feature order
        page.click("#predict-row")
        page.wait_for_selector(".result .bar")
        row = dict(zip(features, values, strict=True))
        reply = httpx.post(server.url + "/predict", json={"rows": [row]}).json()
        _check_bars(_bars(page), reply["items"][0], reply["thresholds"])
        page.fill(
            "#row", '{"' + features[0] + '": "high"}'
        )  # a bad row: the server's message shows
        page.click("#predict-row")
        page.wait_for_selector(".result .error")
        error = page.inner_text(".result .error")
    finally:
        server.stop()
    assert "must be a number" in error or "missing" in error
