"""Categorical columns, identifier columns and sparse tables, from reading to predict, save, export and the CLI.

Every file is generated here (small): nothing reads ../shared.
"""

import gzip
import json

import numpy as np
import pytest

import brainnet
from brainnet.cli.main import main
from brainnet.core.data.dataset import Dataset
from brainnet.core.data.encoding import TableEncoder
from brainnet.core.data.labels import LabelSpec
from brainnet.core.data.sparse import SparseRows, is_sparse
from brainnet.core.data.table import read_table
from brainnet.core.errors import UserInputError
from brainnet.scratch.estimator import ScratchMultiLabelMLP

FAST = {"epochs": 3, "hidden_sizes": (8,), "n_models": 1, "batch_size": 16, "seed": 0}
COLOURS = ["red", "green", "blue"]


def _table(n: int, seed: int = 0, colours=COLOURS, with_id: bool = True) -> str:
    """CSV text: a numeric x, a text colour, a yes/no flag, an id unique per row, labels a and b."""
    rng = np.random.default_rng(seed)
    lines = ["x,colour,flag,id,a,b"]
    for i in range(n):
        c = colours[rng.integers(len(colours))]
        flag = "yes" if rng.random() < 0.5 else "no"
        x = rng.normal()
        a, b = int(c == "red" or x > 0), int(flag == "yes")
        lines.append(f"{x:.4f},{c},{flag},{f'P{i + 1000 * seed:05d}' if with_id else 'k'},{a},{b}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def csv_pair(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text(_table(60))
    test.write_text(_table(12, seed=1, colours=["red", "green", "purple"]))
    return train, test


def test_text_columns_are_read_as_categories_by_their_sorted_values(csv_pair):
    assert brainnet.read_table is read_table  # the public name
    data = read_table(csv_pair[0], LabelSpec(label_columns=2))
    assert data.levels["colour"] == ["blue", "green", "red"] and data.levels["flag"] == [
        "no",
        "yes",
    ]
    assert "id" in data.levels and "x" not in data.levels
    j = data.feature_names.index("colour")
    rows = csv_pair[0].read_text().splitlines()[1:]
    assert [data.levels["colour"][int(k)] for k in data.X[:5, j]] == [
        r.split(",")[1] for r in rows[:5]
    ]


def test_encoder_one_hot_unknown_slot_yes_no_and_dropped_identifier(csv_pair):
    data = read_table(csv_pair[0], LabelSpec(label_columns=2))
    encoder, notes = TableEncoder.fit(data)
    assert encoder.feature_names == ["x", "colour", "flag"] and "id" in encoder.dropped
    assert any("dropped column 'id'" in note and "--keep-id-columns" in note for note in notes)
    assert encoder.encoded_names == [
        "x",
        "colour=blue",
        "colour=green",
        "colour=red",
        "colour=<unknown>",
        "flag",
    ]
    test = read_table(csv_pair[1], LabelSpec(label_columns=2))  # purple is new; levels differ
    Z = encoder.transform(test)
    cells = [row.split(",") for row in csv_pair[1].read_text().splitlines()[1:]]
    for i, row in enumerate(cells):
        slot = {"blue": 1, "green": 2, "red": 3}.get(row[1], 4)  # unseen -> the unknown slot
        np.testing.assert_array_equal(Z[i, 1:5], np.eye(4)[slot - 1])
        assert Z[i, 5] == (row[2] == "yes") and Z[i, 0] == pytest.approx(float(row[0]))
    kept, _ = TableEncoder.fit(data, keep_ids=True)
    assert "id" in kept.feature_names and kept.n_encoded > encoder.n_encoded


def test_missing_values_take_the_unknown_slot_and_numbers_match_an_arff_nominal(tmp_path):
    text = "@relation 'r: -C -1'\n@attribute zone {1,2,3}\n@attribute v numeric\n"
    text += "@attribute lab {0,1}\n@data\n"
    text += "".join(f"{z},{i},{i % 2}\n" for i, z in enumerate([1, 2, 3, "?"] * 6))
    (tmp_path / "z.arff").write_text(text)
    data = read_table(tmp_path / "z.arff")
    assert data.levels == {"zone": ["1", "2", "3"]}  # 3 numeric nominal values: categorical
    encoder, _ = TableEncoder.fit(data)
    Z = encoder.transform(data)
    np.testing.assert_array_equal(Z[:4, :4], np.eye(4))  # "?" -> zone=<unknown>
    as_numbers = Dataset(np.array([[3.0, 0.0], [7.0, 1.0]]), None, ["zone", "v"], ["lab"])
    np.testing.assert_array_equal(
        encoder.transform(as_numbers)[:, :4], [[0, 0, 1, 0], [0, 0, 0, 1]]
    )


def test_predict_encodes_new_rows_the_same_way_after_save_and_load(csv_pair, tmp_path):
    train = read_table(csv_pair[0], LabelSpec(label_columns=2))
    model = ScratchMultiLabelMLP(**FAST).fit(train)
    assert model.feature_names_ == ["x", "colour", "flag"] and "id" in model.dropped_columns_
    test = read_table(
        csv_pair[1], LabelSpec(label_columns=2), known_features=model.feature_names_
    )  # the id column is not needed: a file without it reads
    P = model.predict_proba(test)
    assert P.shape == (12, 2) and np.isfinite(P).all()
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["format_version"] == 2 and "encoding" in meta  # an older brainnet says "upgrade"
    again = brainnet.load(tmp_path / "m")
    np.testing.assert_array_equal(again.predict_proba(test), P)
    # the same rows with the columns in another order and the colours spelled by other codes
    shuffled = Dataset(test.X[:, ::-1], None, test.feature_names[::-1], [], levels=test.levels)
    np.testing.assert_array_equal(again.predict_proba(shuffled), P)


def test_bad_categorical_inputs_are_clear_errors(csv_pair, tmp_path):
    train = read_table(csv_pair[0], LabelSpec(label_columns=2))
    model = ScratchMultiLabelMLP(**FAST).fit(train)
    lacking = Dataset(train.X[:, [0, 2]], None, ["x", "flag"], [], levels=train.levels)
    with pytest.raises(UserInputError, match="lacks 1 feature column.*'colour'"):
        model.predict_proba(lacking)
    texty = Dataset(train.X, None, train.feature_names, [], levels={**train.levels, "x": ["a"]})
    with pytest.raises(UserInputError, match="'x' holds text.*trained on numbers"):
        model.predict_proba(texty)
    typo = tmp_path / "typo.csv"
    typo.write_text("x,a\n1,0\n2,1\nabc,1\n4,0\n")
    with pytest.raises(UserInputError, match="'abc' at data row 3.*among numbers"):
        read_table(typo, LabelSpec(label_columns=1))
    every_id = tmp_path / "ids.csv"
    every_id.write_text("id,a,b\n" + "".join(f"r{i},{i % 2},{i % 3 % 2}\n" for i in range(30)))
    with pytest.raises(UserInputError, match="every feature column.*identifier"):
        ScratchMultiLabelMLP(**FAST).fit(read_table(every_id, LabelSpec(label_columns=2)))


def test_fit_reads_an_object_array_with_text_columns():
    X = np.array([[1.0, "red"], [2.0, "blue"], [3.0, "red"], [0.5, "blue"]] * 5, dtype=object)
    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 5)
    model = ScratchMultiLabelMLP(**FAST).fit(X, Y, feature_names=["x", "colour"])
    assert model.feature_levels_ == {"colour": ["blue", "red"]}
    assert model.recipe_.input_shape == (4,)  # x + blue, red, unknown


# ----------------------------------------------------------------------------- sparse


def _sparse_arff(n: int, d: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    head = "@relation 's: -C -2'\n"
    head += "".join(f"@attribute w{j} {{0,1}}\n" for j in range(d - 1))
    head += "@attribute tf numeric\n@attribute a {0,1}\n@attribute b {0,1}\n@data\n"
    rows = []
    for _ in range(n):
        on = sorted(rng.choice(d - 1, size=3, replace=False))
        a, b = int(on[0] < d // 3), int(rng.random() < 0.4)
        cells = [f"{j} 1" for j in on] + [f"{d - 1} {rng.random():.3f}"]
        cells += [f"{d} 1"] * a + [f"{d + 1} 1"] * b
        rows.append("{" + ", ".join(cells) + "}")
    return head + "\n".join(rows) + "\n"


def test_a_model_read_from_arff_and_xml_reads_the_csv_of_the_same_data(tmp_path):
    xml = tmp_path / "s.xml"
    xml.write_text(
        '<labels xmlns="http://mulan.sourceforge.net/labels"><label name="b"/><label name="a"/></labels>'
    )
    (tmp_path / "s.arff").write_text(_sparse_arff(30, 6))
    arff_data = read_table(tmp_path / "s.arff", LabelSpec(xml=str(xml)))
    lines = [",".join([f"w{j}" for j in range(5)] + ["tf", "b", "a"])]
    for x, y in zip(arff_data.X, arff_data.Y, strict=True):
        lines.append(",".join([f"{v:g}" for v in x] + [str(y[1]), str(y[0])]))
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    csv_data = read_table(
        tmp_path / "s.csv", LabelSpec(xml=str(xml)), known_labels=arff_data.label_names
    )  # the model's remembered --xml: its labels are found by name
    np.testing.assert_array_equal(csv_data.X, arff_data.X)
    np.testing.assert_array_equal(csv_data.Y, arff_data.Y)


def test_sparse_arff_reads_as_csr_equal_to_its_dense_copy(tmp_path):
    path = tmp_path / "s.arff.gz"
    path.write_bytes(gzip.compress(_sparse_arff(80, 40).encode()))
    sparse = read_table(path, sparse=True)
    dense = read_table(path, sparse=False)
    assert is_sparse(sparse.X) and not is_sparse(dense.X) and sparse.X.nnz <= 4 * 80
    np.testing.assert_array_equal(sparse.X.toarray(), dense.X)
    np.testing.assert_array_equal(sparse.Y, dense.Y)
    assert sparse.label_names == ["a", "b"] and dense.feature_names[-1] == "tf"
    assert read_table(path).X.shape == (80, 40)  # auto: small, so dense


@pytest.mark.parametrize("engine", ["scratch", "torch", "torch-one-by-one"])
def test_sparse_and_dense_training_give_the_same_probabilities(tmp_path, engine):
    """Sparse rows are made dense a batch at a time by the scratch engine, the batched torch ensemble and the
    one-member-at-a-time torch ``Trainer`` (also what each torchrun process uses): the same numbers as dense."""
    path = tmp_path / "s.arff"
    path.write_text(_sparse_arff(120, 50))
    sparse, dense = read_table(path, sparse=True), read_table(path, sparse=False)
    # dense batches everywhere: the sparse first layer (auto by default) drops non-zero inputs only, so with
    # input dropout it trains to other numbers (tests/pipeline/test_ensemble.py covers it)
    options = {**FAST, "n_models": 2, "sparse_first_layer": "off"}
    if engine.startswith("torch"):
        from brainnet.pipeline.estimator import MultiLabelMLP as Estimator

        options["batched_ensemble"] = engine == "torch"
    else:
        Estimator = ScratchMultiLabelMLP
    a = Estimator(**options).fit(sparse)
    b = Estimator(**options).fit(dense)
    encoded = a.recipe_.encode(a.recipe_.inputs(sparse, a.label_names_))
    assert isinstance(encoded.X, SparseRows)  # never densified whole
    np.testing.assert_allclose(a.predict_proba(sparse), b.predict_proba(dense), atol=1e-6)
    np.testing.assert_allclose(a.predict_proba(dense), b.predict_proba(sparse), atol=1e-6)
    np.testing.assert_allclose(a.scaler_.mean, b.scaler_.mean, rtol=0, atol=0)


# ----------------------------------------------------------------------------- export and CLI


def test_export_parity_with_a_categorical_column(csv_pair, tmp_path, capsys):
    model_dir = tmp_path / "m"
    args = ["train", str(csv_pair[0]), "--label-columns", "2", "--out", str(model_dir)]
    assert main([*args, "--epochs", "2", "--hidden-sizes", "8", "--n-models", "2"]) == 0
    torch_model = brainnet.load(model_dir, runtime="torch")
    assert main(["export", str(model_dir)]) == 0
    onnx_model = brainnet.load(model_dir, runtime="onnx")
    test = read_table(csv_pair[1], LabelSpec(label_columns=2))
    np.testing.assert_allclose(
        onnx_model.predict_proba(test), torch_model.predict_proba(test), atol=1e-5
    )
    capsys.readouterr()


def test_cli_trains_evaluates_and_exits_2_on_bad_inputs(csv_pair, tmp_path, capsys):
    model_dir = tmp_path / "m"
    base = ["train", str(csv_pair[0]), "--label-columns", "2", "--test", str(csv_pair[1])]
    assert main([*base, "--out", str(model_dir), "--epochs", "2", "--engine", "scratch"]) == 0
    assert "dropped column 'id'" in capsys.readouterr().err
    assert main(["evaluate", str(model_dir), str(csv_pair[1])]) == 0
    no_colour = tmp_path / "no_colour.csv"
    no_colour.write_text("x,flag,a,b\n1,yes,0,1\n2,no,1,0\n")
    capsys.readouterr()
    assert main(["evaluate", str(model_dir), str(no_colour)]) == 2
    assert "'colour'" in capsys.readouterr().err
    typo = tmp_path / "typo.csv"
    typo.write_text("x,y,a\n1,2,0\n2,oops,1\n3,4,1\n5,6,0\n")
    assert main(["train", str(typo), "--label-columns", "1", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "'oops'" in err and "Traceback" not in err


def test_serve_rows_take_text_for_categorical_features():
    from brainnet.serve.inputs import read_rows

    levels = {"colour": ["blue", "red"]}
    payload = {
        "rows": [{"x": 1.0, "colour": "red"}, {"x": 2, "colour": "teal"}, {"x": 0, "colour": 5}]
    }
    rows, n = read_rows(payload, ["x", "colour"], impute=True, max_rows=10, levels=levels)
    assert n == 3 and rows.kept == [0, 1, 2]
    assert rows.levels["colour"] == ["blue", "red", "teal", "5"]
    np.testing.assert_array_equal(rows.X[:, 1], [1, 2, 3])
    bad, _ = read_rows(
        {"rows": [{"x": 1, "colour": [1]}]},
        ["x", "colour"],
        impute=True,
        max_rows=10,
        levels=levels,
    )
    assert "categorical" in bad.errors[0]


def test_a_large_wide_csv_is_parsed_in_chunks_into_the_same_csr(tmp_path, monkeypatch):
    from brainnet.core.data import table

    rng = np.random.default_rng(0)
    X = (rng.random((90, 30)) < 0.05).astype(int)
    Y = (rng.random((90, 2)) < 0.3).astype(int)
    header = ",".join([f"w{j}" for j in range(30)] + ["a", "b"])
    body = "\n".join(",".join(map(str, row)) for row in np.hstack([X, Y]))
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + body + "\n\n")
    whole = read_table(path, LabelSpec(label_columns=2), sparse=True)
    monkeypatch.setattr(table, "CHUNK_BYTES", 0)  # every file is "large": chunks of 64 rows
    monkeypatch.setattr(table, "CHUNK_CELLS", 1)
    calls = []
    parse = table._CsvText.sparse_numbers
    monkeypatch.setattr(
        table._CsvText, "sparse_numbers", lambda *a: calls.append(parse(*a)) or calls[-1]
    )
    chunked = read_table(path, LabelSpec(label_columns=2), sparse=True)
    assert calls and calls[0] is not None and is_sparse(calls[0][0]) and is_sparse(chunked.X)
    np.testing.assert_array_equal(chunked.X.toarray(), X)
    np.testing.assert_array_equal(chunked.Y, Y)
    np.testing.assert_array_equal(whole.X.toarray(), X)
    path.write_text(
        header + "\n" + body.replace("0,", "x,", 1) + "\n"
    )  # a text cell: the slow path
    with pytest.raises(UserInputError, match="'x' at data row 1"):
        read_table(path, LabelSpec(label_columns=2))


@pytest.mark.parametrize("density", [0.05, 1.0])
def test_the_first_chunk_stops_early_on_a_dense_file_and_is_whole_on_a_sparse_one(
    tmp_path, monkeypatch, density
):
    """One chunk of 800 rows read an eighth at a time: a dense file leaves the chunked parse after a few
    eighths (its whole-table parse then reads it once), a sparse one gives the same CSR as in one piece."""
    from brainnet.core.data import table

    rng = np.random.default_rng(1)
    X = np.where(rng.random((800, 10)) < density, rng.integers(1, 9, (800, 10)), 0)
    Y = (rng.random((800, 2)) < 0.3).astype(int)
    header = ",".join([f"w{j}" for j in range(10)] + ["a", "b"])
    path = tmp_path / "rows.csv"
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in np.hstack([X, Y])))
    monkeypatch.setattr(table, "CHUNK_BYTES", 0)
    monkeypatch.setattr(table, "CHUNK_CELLS", 12 * 800)  # the whole file is one chunk
    parsed, loadtxt = [], np.loadtxt

    def counting(lines, **kw):
        parsed.append(
            len(lines) if isinstance(lines, list) else None
        )  # None: the whole-table parse
        return loadtxt(lines, **kw)

    monkeypatch.setattr(table.np, "loadtxt", counting)
    data = read_table(path, LabelSpec(label_columns=2), sparse=True)
    np.testing.assert_array_equal(data.X.toarray() if is_sparse(data.X) else data.X, X)
    np.testing.assert_array_equal(data.Y, Y)
    if density == 1.0:  # 3 eighths pass a quarter of non-zeros; then the whole table, once
        assert parsed == [100, 100, 100, None]
    else:
        assert parsed == [100] * 8 and is_sparse(data.X)
