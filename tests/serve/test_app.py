"""Every endpoint and every refusal of the HTTP API, for a table model and an image model (in-process client).

A refusal is always a 4xx (503 when busy) with a JSON body {"error": ..., "detail": ...}; never a 5xx."""

import json

import numpy as np
import pytest

from tests.serve.conftest import LIMITS, a_row, png_bytes


def _refused(response, status, *words):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["detail"]
    text = (body["error"] + " " + body["detail"]).lower()
    for word in words:
        assert word.lower() in text, (word, body)
    return body


# ------------------------------------------------------------------ the endpoints
def test_health_and_model_of_a_table_model(table_client, table_served):
    assert table_client.get("/health").json() == {
        "status": "ok",
        "kind": "table",
        "inferences_running": 0,
        "requests_waiting": 0,
    }
    info = table_client.get("/model").json()
    model = table_served.model
    assert info["kind"] == "table" and info["model_kind"] == "scratch_multilabel_mlp"
    assert info["labels"] == model.label_names_
    assert info["thresholds"] == dict(
        zip(model.label_names_, model.thresholds_.thresholds.tolist(), strict=True)
    )
    assert info["inputs"]["features"] == model.feature_names_
    assert info["validation_metrics"]["micro_f1"] == pytest.approx(model.val_metrics_["micro_f1"])
    assert info["brainnet_version"] and info["format_version"] == 1
    assert info["limits"]["max_rows"] == LIMITS.max_rows


def test_health_and_model_of_an_image_model(image_client, image_served):
    info = image_client.get("/model").json()
    assert info["kind"] == "images" and info["inputs"] == {"image_size": 24, "channels": 3}
    assert info["labels"] == ["circle", "square", "triangle", "cross"]
    assert image_client.get("/health").json()["kind"] == "images"


def test_page_is_self_contained(table_client):
    page = table_client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    html = page.text
    assert "<script src" not in html and "<link" not in html  # everything inline
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere


def test_predict_rows_match_the_estimator(table_client, table_served):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, len(table_served.features)))
    rows = [dict(zip(table_served.features, x.tolist(), strict=True)) for x in X]
    reply = table_client.post("/predict", json={"rows": rows})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    P = table_served.model.predict_proba(X)
    decided = table_served.model.decide(P)
    assert body["n_items"] == 3 and body["n_errors"] == 0
    for item, p, d in zip(body["items"], P, decided, strict=True):
        got = [item["probabilities"][label] for label in body["labels"]]
        np.testing.assert_allclose(got, p, atol=1e-6)
        assert [item["decisions"][label] for label in body["labels"]] == d.astype(bool).tolist()
        assert item["labels"] == [n for n, on in zip(body["labels"], d, strict=True) if on]
    assert body["thresholds"] == table_client.get("/model").json()["thresholds"]


def test_null_is_a_missing_value_imputed_like_predict(table_client, table_served):
    row = a_row(table_served)
    row[table_served.features[0]] = None
    reply = table_client.post("/predict", json={"rows": [row]})
    assert reply.status_code == 200
    X = np.array([[row[f] if row[f] is not None else np.nan for f in table_served.features]])
    got = list(reply.json()["items"][0]["probabilities"].values())
    np.testing.assert_allclose(got, table_served.model.predict_proba(X)[0], atol=1e-6)


def test_a_bad_row_gets_its_error_and_the_others_are_predicted(table_client, table_served):
    good = a_row(table_served)
    bad = {**good, table_served.features[1]: "high"}
    body = table_client.post("/predict", json={"rows": [good, bad, good]}).json()
    assert body["n_errors"] == 1 and "probabilities" in body["items"][0]
    error = body["items"][1]["error"]
    assert repr(table_served.features[1]) in error and "must be a number" in error


def test_predict_images_match_the_estimator(image_client, image_served, shape_pngs):
    from brainnet.core.data.builtin_images import make_shapes

    files = [("files", (f"s{i}.png", data, "image/png")) for i, data in enumerate(shape_pngs)]
    reply = image_client.post("/predict", files=files)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    P = image_served.model.predict_proba(make_shapes(3, size=48, seed=7))
    assert [item["name"] for item in body["items"]] == ["s0.png", "s1.png", "s2.png"]
    for item, p in zip(body["items"], P, strict=True):
        np.testing.assert_allclose(list(item["probabilities"].values()), p, atol=1e-5)


def test_one_image_as_the_raw_body(image_client, shape_pngs):
    reply = image_client.post(
        "/predict", content=shape_pngs[0], headers={"content-type": "image/png"}
    )
    assert reply.status_code == 200 and reply.json()["n_items"] == 1


def test_bad_uploads_get_their_errors_and_the_others_are_predicted(image_client, shape_pngs):
    bomb = png_bytes(np.zeros((400, 400, 3), dtype=np.uint8))  # 160,000 px > the 100,000 allowed
    files = [
        ("files", ("good.png", shape_pngs[0], "image/png")),
        ("files", ("notes.txt", b"not an image at all", "text/plain")),
        ("files", ("cut.png", shape_pngs[1][:80], "image/png")),
        ("files", ("bomb.png", bomb, "image/png")),
    ]
    body = image_client.post("/predict", files=files).json()
    assert body["n_errors"] == 3 and "probabilities" in body["items"][0]
    errors = [item["error"] for item in body["items"][1:]]
    assert "upload 2 ('notes.txt')" in errors[0] and "not an image" in errors[0]
    assert "upload 3 ('cut.png')" in errors[1] and "truncated" in errors[1]
    assert "upload 4 ('bomb.png')" in errors[2] and "160,000 pixels" in errors[2]
    assert "--max-megapixels" in errors[2]
    assert "brainnet-serve-" not in json.dumps(body)  # temporary paths stay private


# ------------------------------------------------------------------ bad requests: tables
BAD_TABLE_BODIES = [
    (b"", 400, "empty body"),
    (b"   ", 400, "empty body"),
    (b'{"rows": [', 400, "not valid JSON"),
    (b"\xff\xfe{}", 400, "UTF-8"),
    (b'{"rows": [{"a": NaN}]}', 400, "NaN is not a JSON number"),
    (b'{"rows": [{"a": Infinity}]}', 400, "Infinity is not a JSON number"),
    (b"[" * 50_000 + b"]" * 50_000, 400, "nested too deeply"),
    (b'"rows"', 422, "a string"),
    (b"[1, 2]", 422, "'rows' array"),
    (b'{"rows": {}}', 422, "non-empty array"),
    (b'{"rows": []}', 422, "empty array"),
    (b'{"rows": [1], "extra": 2}', 422, "'extra'"),
    (b'{"rows": [1, "x", [], null]}', 422, "none of the 4 rows"),
]


@pytest.mark.parametrize("body,status,words", BAD_TABLE_BODIES, ids=lambda v: str(v)[:30])
def test_bad_table_bodies(table_client, body, status, words):
    reply = table_client.post(
        "/predict", content=body, headers={"content-type": "application/json"}
    )
    _refused(reply, status, words)


def _one_row_error(client, row):
    text = json.dumps({"rows": [row]})  # 1e400 is written as Infinity: send the literal instead
    text = text.replace("Infinity", "1e400").encode()
    reply = client.post("/predict", content=text, headers={"content-type": "application/json"})
    body = _refused(reply, 422, "none of the 1 rows")
    return body["items"][0]["error"]


def test_bad_rows(table_client, table_served):
    f0, f1 = table_served.features[:2]
    good = a_row(table_served)
    missing = {k: v for k, v in good.items() if k != f1}
    assert f"missing 1 feature(s): {f1!r}" in _one_row_error(table_client, missing)
    assert "unknown feature(s) 'zzz'" in _one_row_error(table_client, {**good, "zzz": 1})
    assert "a string" in _one_row_error(table_client, {**good, f0: "1.5"})
    assert "a boolean" in _one_row_error(table_client, {**good, f0: True})
    assert "an array" in _one_row_error(table_client, {**good, f0: [1, [2, [3]]]})
    assert "an object" in _one_row_error(table_client, {**good, f0: {"x": 1}})
    assert "too large" in _one_row_error(table_client, {**good, f0: 1e400})
    assert "too large" in _one_row_error(table_client, {**good, f0: 10**400})
    assert "expected an object of" in _one_row_error(table_client, [1, 2, 3])
    everything_missing = _one_row_error(table_client, {})
    assert f"missing {len(table_served.features)} feature(s)" in everything_missing
    assert "more" in everything_missing  # a long list is cut short


def test_null_when_the_model_rejects_missing_values(table_model_dir, table_served):
    from tests.serve.conftest import make_client

    served = type(table_served)(table_model_dir, warm_up=False)
    served.model.impute = False
    row = {**a_row(served), served.features[0]: None}
    client = make_client(served)
    assert "reject missing values" in _one_row_error(client, row)


def test_too_many_rows_and_too_large_a_body(table_client, table_served):
    rows = [a_row(table_served)] * (LIMITS.max_rows + 1)
    _refused(table_client.post("/predict", json={"rows": rows}), 413, "at most 50 rows")
    huge = b'{"rows": [' + b"0," * LIMITS.max_body_bytes + b"0]}"
    reply = table_client.post(
        "/predict", content=huge, headers={"content-type": "application/json"}
    )
    _refused(reply, 413, "payload too large", "--max-body-mb")


def test_a_streamed_body_is_cut_off_at_the_limit(table_client):
    # no Content-Length: the server counts while it reads (the test client sends it all; that the server stops
    # reading early is checked on a real uvicorn, test_server.py)
    def chunks():
        for _ in range(100):
            yield b"0" * 64 * 1024

    reply = table_client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    _refused(reply, 413, "streamed")


@pytest.mark.parametrize(
    "ctype",
    ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", ""],
)
def test_a_table_model_takes_json_only(table_client, ctype):
    reply = table_client.post("/predict", content=b'{"rows": []}', headers={"content-type": ctype})
    _refused(reply, 415, "application/json", "received content-type")


# ------------------------------------------------------------------ bad requests: images
def test_bad_image_requests(image_client, shape_pngs):
    c = image_client
    _refused(c.post("/predict", json={"rows": []}), 415, "multipart/form-data")
    _refused(c.post("/predict", content=b"", headers={"content-type": "image/png"}), 400, "empty")
    _refused(
        c.post("/predict", content=b"junk", headers={"content-type": "image/png"}),
        422,
        "none of the 1 images",
        "not an image",
    )
    _refused(
        c.post("/predict", content=b"xx", headers={"content-type": "multipart/form-data"}),
        400,
        "boundary",
    )
    _refused(c.post("/predict", data={"a": "b"}), 415, "x-www-form-urlencoded")
    empty = c.post(
        "/predict",
        content=b"--x--\r\n",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    _refused(empty, 422, "no images")
    _refused(
        c.post(
            "/predict",
            data={"note": "hi"},
            files=[("f", ("a.png", shape_pngs[0], "image/png"))],
        ),
        422,
        "unexpected form fields",
        "'note'",
    )
    many = [("f", (f"{i}.png", shape_pngs[0], "image/png")) for i in range(LIMITS.max_files + 1)]
    _refused(c.post("/predict", files=many), 413, "too many", "--max-files")
    fields = {f"k{i}": "v" for i in range(LIMITS.max_fields + 1)}
    one = [("f", ("a.png", shape_pngs[0], "image/png"))]
    _refused(c.post("/predict", data=fields, files=one), 413, "too many fields")
    all_bad = [("f", ("a.gif", b"GIF89a broken", "image/gif"))]
    body = _refused(c.post("/predict", files=all_bad), 422, "none of the 1 images")
    assert "truncated" in body["items"][0]["error"] or "not an image" in body["items"][0]["error"]


# ------------------------------------------------------------------ routing
def test_unknown_paths_and_methods(table_client):
    _refused(table_client.get("/nope"), 404, "no endpoint GET /nope", "POST /predict")
    _refused(table_client.get("/predict"), 405, "does not take GET")
    _refused(table_client.delete("/model"), 405, "method not allowed")
    assert table_client.get("/docs").status_code == 404  # no generated docs pulling a CDN
