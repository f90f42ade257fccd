"""``brainnet predict``'s CSV is formatted from the arrays (``_predictions_csv``); it says what the JSON records
say: the same probabilities to 6 decimals, label sets, top-k and errors, row names quoted when they need it."""

import argparse
import csv
import io
import json

import numpy as np
import pytest

from brainnet.cli.main import _write_predictions

LABELS = ["sea", "sun", "hill", "a,b"]


@pytest.mark.parametrize("top_k", [None, 2])
@pytest.mark.parametrize("with_bad", [False, True])
def test_the_csv_says_what_the_json_says(capsys, top_k, with_bad):
    rng = np.random.default_rng(0)
    P = rng.random((40, 4))
    P[0] = [
        0.5e-6,
        1 - 0.5e-6,
        0.1234565,
        0.12344996,
    ]  # halfway cases and a double rounding for top-k
    names = [f"img {i}, copy" if i % 7 == 0 else str(i) for i in range(40)]
    bad = {3: "not an image", 11: "truncated"} if with_bad else {}
    P[list(bad)] = np.nan
    Yhat = (np.nan_to_num(P) > 0.5).astype(np.uint8)
    args = argparse.Namespace(out=None, force=False)
    for fmt in ("csv", "json"):
        _write_predictions(args, fmt, "image", names, P, Yhat, LABELS, dict(bad), top_k)
    out = capsys.readouterr().out
    end = out.index("[")  # the CSV, then the JSON
    rows = list(csv.reader(io.StringIO(out[:end])))
    records = json.loads(out[end:])
    header = ["image", *(f"p_{n}" for n in LABELS), "labels"]
    assert rows[0] == header + (["top"] if top_k else []) + (["error"] if bad else [])
    assert len(rows) == 41
    for row, rec in zip(rows[1:], records, strict=True):
        cells = dict(zip(rows[0], row, strict=True))
        assert cells["image"] == rec["image"]
        assert cells["labels"] == ";".join(rec["labels"])
        probs = rec.get("probabilities", {})
        assert [cells[f"p_{n}"] for n in LABELS] == [
            f"{probs[n]:.6f}" if probs else "" for n in LABELS
        ]
        if top_k:
            assert cells["top"] == ";".join(f"{n}:{v:.4f}" for n, v in rec.get("top", []))
        if bad:
            assert cells["error"] == rec.get("error", "")
