"""read_table: every reading mode and every error, on small files written to tmp_path."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from brainnet.core.data.labels import LabelSpec
from brainnet.core.data.table import check_finite, read_table
from brainnet.core.errors import UserInputError

CSV = "f1,a,f2,b\n1.5,1,2,0\n3,0,4,1\n5,1,6,1\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error(source, spec: LabelSpec | None = None, **kwargs) -> str:
    with pytest.raises(UserInputError) as info:
        read_table(source, spec or LabelSpec(), **kwargs)
    return str(info.value)


# ----------------------------------------------------------------------------- CSV modes


def test_labels_by_name_keep_the_given_order(tmp_path):
    data = read_table(write(tmp_path, "t.csv", CSV), LabelSpec(labels=("b", "a")))
    assert data.feature_names == ["f1", "f2"]
    assert data.label_names == ["b", "a"]
    np.testing.assert_array_equal(data.X, [[1.5, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(data.Y, [[0, 1], [1, 0], [1, 1]])
    assert data.X.dtype == np.float64 and data.Y.dtype == np.uint8
    assert data.name == str(tmp_path / "t.csv") and data.notes == []


def test_last_n_columns_are_labels(tmp_path):
    path = write(tmp_path, "t.csv", "x,y,l1,l2\n1,2,0,1\n3,4,1.0,0.0\n")
    data = read_table(path, LabelSpec(label_columns=2))
    assert data.feature_names == ["x", "y"] and data.label_names == ["l1", "l2"]
    np.testing.assert_array_equal(data.Y, [[0, 1], [1, 0]])


def test_delimited_label_column_with_custom_delimiter(tmp_path):
    text = 'x,tags,y\n1,"cat| dog",2\n3,,4\n5, bird ,6\n'
    data = read_table(write(tmp_path, "t.csv", text), LabelSpec(label_column="tags", delimiter="|"))
    assert data.feature_names == ["x", "y"]
    assert data.label_names == ["bird", "cat", "dog"]  # sorted unique names
    np.testing.assert_array_equal(data.Y, [[0, 1, 1], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])


def test_delimited_labels_quoted_with_the_csv_separator(tmp_path):
    text = 'x,tags\n1,"a,b"\n2,"b"\n'
    data = read_table(write(tmp_path, "t.csv", text), LabelSpec(label_column="tags", delimiter=","))
    assert data.label_names == ["a", "b"]
    np.testing.assert_array_equal(data.Y, [[1, 1], [0, 1]])


def test_delimited_labels_follow_known_labels(tmp_path):
    path = write(tmp_path, "t.csv", "x,tags\n1,a;b\n2,b\n")
    data = read_table(path, LabelSpec(label_column="tags"), known_labels=["c", "b", "a"])
    assert data.label_names == ["c", "b", "a"]
    np.testing.assert_array_equal(data.Y, [[0, 1, 1], [0, 1, 0]])
    message = error(path, LabelSpec(label_column="tags"), known_labels=["a"])
    assert "not in the model's labels: b (first at data row 1 (line 2)" in message


def test_tsv_gzip_and_unknown_extension(tmp_path):
    tsv = write(tmp_path, "t.tsv", CSV.replace(",", "\t"))
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(CSV.encode()))
    txt = write(tmp_path, "t.data", CSV)
    reference = read_table(write(tmp_path, "t.csv", CSV), LabelSpec(labels=("a", "b")))
    for path in (tsv, gz, txt):
        data = read_table(path, LabelSpec(labels=("a", "b")))
        np.testing.assert_array_equal(data.X, reference.X)
        np.testing.assert_array_equal(data.Y, reference.Y)


def test_semicolon_separated_file_is_detected(tmp_path):
    data = read_table(write(tmp_path, "t.csv", CSV.replace(",", ";")), LabelSpec(label_columns=1))
    assert data.feature_names == ["f1", "a", "f2"] and data.label_names == ["b"]
    assert "separated by ';'" in data.notes[0]


def test_crlf_bom_quotes_and_blank_lines(tmp_path):
    text = '\ufeff"f1","a"\r\n"1.5",1\r\n\r\n2,0\r\n'
    data = read_table(write(tmp_path, "t.csv", text), LabelSpec(labels=("a",)))
    assert data.feature_names == ["f1"]
    np.testing.assert_array_equal(data.X, [[1.5], [2]])


def test_missing_values_become_nan_with_a_note(tmp_path):
    text = "a1,a2,a3,lab\n,1,NA,1\n?,2,3,0\n1,3,null,1\n2,nan,4,0\n"
    data = read_table(write(tmp_path, "t.csv", text), LabelSpec(labels=("lab",)))
    assert np.isnan(data.X).sum() == 5
    assert np.isnan(data.X[:, 0]).tolist() == [True, True, False, False]
    assert data.notes == ["5 missing feature values in 3 columns (a1: 2, a2: 1, a3: 2)"]


def test_nan_literals_on_the_fast_path(tmp_path):
    path = write(tmp_path, "t.csv", "a1,a2,lab\n1,NaN,1\n2,3,0\n")
    data = read_table(path, LabelSpec(labels=("lab",)))
    assert data.notes == ["1 missing feature value in 1 column (a2: 1)"]


def test_require_labels_false_without_a_spec_reads_features_only(tmp_path):
    data = read_table(write(tmp_path, "t.csv", CSV), require_labels=False)
    assert data.Y is None and data.label_names == [] and data.n_features == 4


# ----------------------------------------------------------------------------- saved-model columns


def test_known_features_are_taken_by_name_in_the_model_order(tmp_path):
    path = write(tmp_path, "t.csv", "f2,extra,a,f1,b\n2,9,1,1.5,0\n4,9,0,3,1\n")
    data = read_table(path, LabelSpec(labels=("a", "b")), known_features=["f1", "f2"])
    assert data.feature_names == ["f1", "f2"]
    np.testing.assert_array_equal(data.X, [[1.5, 2], [3, 4]])
    assert any("ignored 1 column" in note for note in data.notes)


def test_known_features_missing_columns_are_named(tmp_path):
    path = write(tmp_path, "t.csv", CSV)
    known = ["f1"] + [f"g{i}" for i in range(12)]
    message = error(path, LabelSpec(labels=("a", "b")), known_features=known)
    assert "12 feature column(s)" in message
    assert "'g0'" in message and "'g9'" in message and "'g10'" not in message
    assert "and 2 more" in message
    assert "The file has: f1, f2" in message


def test_known_labels_name_the_label_columns_in_model_order(tmp_path):
    data = read_table(write(tmp_path, "t.csv", CSV), known_labels=["b", "a"])
    assert data.label_names == ["b", "a"] and data.feature_names == ["f1", "f2"]
    np.testing.assert_array_equal(data.Y, [[0, 1], [1, 0], [1, 1]])


def test_known_labels_reorder_a_spec_and_reject_a_different_set(tmp_path):
    path = write(tmp_path, "t.csv", CSV)
    data = read_table(path, LabelSpec(labels=("a", "b")), known_labels=["b", "a"])
    assert data.label_names == ["b", "a"]
    np.testing.assert_array_equal(data.Y, [[0, 1], [1, 0], [1, 1]])
    message = error(path, LabelSpec(label_columns=1), known_labels=["a", "b"])
    assert "differ from the model's" in message and "not in the file: a" in message


def test_known_labels_absent_and_not_required_gives_no_y(tmp_path):
    path = write(tmp_path, "t.csv", "f1,f2\n1,2\n3,4\n")
    data = read_table(path, known_labels=["a", "b"], require_labels=False)
    assert data.Y is None and data.label_names == ["a", "b"]
    assert data.feature_names == ["f1", "f2"]
    message = error(path, known_labels=["a", "b"])
    assert "'a', 'b'" in message and "not found" in message


def test_known_labels_partly_present_is_an_error(tmp_path):
    path = write(tmp_path, "t.csv", "f1,a\n1,0\n3,1\n")
    message = error(path, known_labels=["a", "b"], require_labels=False)
    assert "'b'" in message and "'a'," not in message


# ----------------------------------------------------------------------------- CSV values


def test_non_numeric_feature_names_column_row_line_and_value(tmp_path):
    path = write(tmp_path, "t.csv", "x,color,a\n1,2,1\n\n2,red,0\n")
    message = error(path, LabelSpec(labels=("a",)))
    assert "'color'" in message and "'red'" in message
    assert "data row 2 (line 4)" in message
    assert "categorical" in message  # a mostly-text column would be one-hot encoded


@pytest.mark.parametrize(
    ("cell", "shown"), [("2", "'2'"), ("yes", "'yes'"), ("", "an empty cell"), ("0.5", "'0.5'")]
)
def test_label_values_must_be_0_or_1(tmp_path, cell, shown):
    path = write(tmp_path, "t.csv", f"x,a,b\n1,0,1\n2,1,{cell}\n")
    message = error(path, LabelSpec(labels=("a", "b")))
    assert "label column 'b'" in message and shown in message
    assert "data row 2 (line 3)" in message


# ----------------------------------------------------------------------------- CSV errors


def test_missing_file_mentions_builtins_for_a_typo(tmp_path):
    message = error("yeats")
    assert "file not found: yeats" in message
    assert "'yeast'" in message and "scene" in message
    message = error(tmp_path / "nope.csv", LabelSpec(label_columns=1))
    assert f"file not found: {tmp_path / 'nope.csv'}" in message
    assert "Built-in" not in message


def test_directory_is_an_error(tmp_path):
    assert "is a directory" in error(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("\n \n", "is empty"),
        ("a,b\n", "header but no data rows"),
        ("a,b\n1,0\n", "1 data row(s)"),
    ],
)
def test_too_little_content(tmp_path, text, expected):
    path = write(tmp_path, "t.csv", text)
    assert expected in error(path, LabelSpec(label_columns=1))


def test_unknown_label_names_list_columns_and_suggest(tmp_path):
    message = error(write(tmp_path, "t.csv", CSV), LabelSpec(labels=("a", "bb", "zzz")))
    assert "'bb', 'zzz'" in message
    assert "Available columns: f1, a, f2, b" in message
    assert "Did you mean 'b' for 'bb'?" in message
    assert "'a' for 'A'" in error(write(tmp_path, "t.csv", CSV), LabelSpec(labels=("A",)))


@pytest.mark.parametrize("n", [0, 4, -1])
def test_label_columns_out_of_range(tmp_path, n):
    message = error(write(tmp_path, "t.csv", CSV), LabelSpec(label_columns=n))
    assert "must be in 1..3" in message and f"received {n}" in message


def test_more_than_one_label_option(tmp_path):
    message = error(write(tmp_path, "t.csv", CSV), LabelSpec(labels=("a",), label_columns=1))
    assert "only one" in message and "--labels and --label-columns" in message


def test_duplicate_column_names(tmp_path):
    message = error(write(tmp_path, "t.csv", "x,y,x\n1,2,3\n4,5,6\n"), LabelSpec(labels=("y",)))
    assert "duplicate column names" in message and "'x'" in message


def test_row_with_a_different_number_of_cells_names_the_line(tmp_path):
    path = write(tmp_path, "t.csv", "x,y,a\n1,2,0\n1,2,0\n1,2,3,1\n")
    message = error(path, LabelSpec(labels=("a",)))
    assert "line 4" in message and "4 cells; expected 3" in message


def test_zero_labels_and_zero_features(tmp_path):
    path = write(tmp_path, "t.csv", CSV)
    assert "no label names" in error(path, LabelSpec(labels=()))
    message = error(path, LabelSpec(labels=("f1", "a", "f2", "b")))
    assert "no feature columns" in message
    message = error(write(tmp_path, "e.csv", "x,tags\n1,\n2,\n"), LabelSpec(label_column="tags"))
    assert "no label names" in message and "'tags'" in message


def test_no_label_option_explains_the_three_choices(tmp_path):
    message = error(write(tmp_path, "t.csv", CSV))
    assert "--labels a,b,c" in message
    assert "--label-columns N" in message
    assert '--label-column NAME --delimiter ";"' in message


def test_unknown_label_column_and_xml_on_csv(tmp_path):
    path = write(tmp_path, "t.csv", CSV)
    message = error(path, LabelSpec(label_column="tag"))
    assert "'tag'" in message and "Available columns" in message
    assert "ARFF" in error(path, LabelSpec(xml="labels.xml"))


def test_excel_file_is_rejected(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"PK\x03\x04rest-of-a-zip")
    assert "Export it as CSV" in error(path, LabelSpec(label_columns=1))


# ----------------------------------------------------------------------------- ARFF

ARFF_HEADER = """% a comment
@relation '{relation}'
@attribute f1 numeric
@attribute lab1 {{0,1}}
@attribute f2 real
@attribute lab2 {{0,1}}
@data
"""
DENSE_ROWS = "1.5,1,2,0\n3,0,?,1\n5,1,6,1\n"
SPARSE_ROWS = "{0 1.5, 1 1, 2 2}\n{0 3, 2 ?, 3 1}\n{0 5, 1 1, 2 6, 3 1}\n"
LABELS_FIRST = """@relation 'meka: -C 2'
@attribute lab1 {0,1}
@attribute lab2 numeric
@attribute f1 numeric
@attribute f2 numeric
@data
1,0,1.5,2
0,1,3,?
1,1,5,6
"""


def arff_file(tmp_path, rows=DENSE_ROWS, relation="toy", name="t.arff") -> Path:
    return write(tmp_path, name, ARFF_HEADER.format(relation=relation) + rows)


def check_toy(data, label_names=("lab1", "lab2")):
    assert data.feature_names == ["f1", "f2"]
    assert data.label_names == list(label_names)
    np.testing.assert_array_equal(data.X, [[1.5, 2], [3, np.nan], [5, 6]])
    expected = np.array([[1, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(
        data.Y, expected if label_names[0] == "lab1" else expected[:, ::-1]
    )
    assert data.notes == ["1 missing feature value in 1 column (f2: 1)"]


def test_arff_labels_by_name(tmp_path):
    check_toy(read_table(arff_file(tmp_path), LabelSpec(labels=("lab2", "lab1"))), ("lab2", "lab1"))


def test_arff_meka_relation_first_and_last(tmp_path):
    check_toy(read_table(write(tmp_path, "m.arff", LABELS_FIRST)))
    data = read_table(arff_file(tmp_path, relation="toy: -C -1"))  # only lab2 is a label now
    assert data.label_names == ["lab2"] and data.feature_names == ["f1", "lab1", "f2"]
    message = error(write(tmp_path, "z.arff", LABELS_FIRST.replace("-C 2", "-C 4")))
    assert "-C 4" in message and "1 <= N <= 3" in message


def test_arff_sparse_rows(tmp_path):
    check_toy(read_table(arff_file(tmp_path, SPARSE_ROWS), LabelSpec(labels=("lab1", "lab2"))))


def test_arff_with_mulan_xml_keeps_attribute_order(tmp_path):
    xml = write(
        tmp_path,
        "t.xml",
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<labels xmlns="http://mulan.sourceforge.net/labels">\n'
        '<label name="lab2"></label>\n<label name="lab1"></label>\n</labels>\n',
    )
    check_toy(read_table(arff_file(tmp_path), LabelSpec(xml=str(xml))))
    bad = write(tmp_path, "bad.xml", "<labels><label name='lab1'></labels>")
    assert "cannot parse the label XML" in error(arff_file(tmp_path), LabelSpec(xml=str(bad)))


def test_arff_with_label_columns(tmp_path):
    gz = tmp_path / "t.arff.gz"
    gz.write_bytes(gzip.compress((ARFF_HEADER.format(relation="x") + DENSE_ROWS).encode()))
    data = read_table(gz, LabelSpec(label_columns=1))
    assert data.label_names == ["lab2"] and data.feature_names == ["f1", "lab1", "f2"]


def test_arff_nominal_features(tmp_path):
    text = (
        "@relation r\n@attribute w {0,1}\n@attribute colour {red,green}\n@attribute lab {0,1}\n"
        "@data\n1,red,1\n0,green,0\n"
    )
    path = write(tmp_path, "n.arff", text)
    data = read_table(path, LabelSpec(label_columns=1))  # colour: categorical
    assert data.levels == {"colour": ["red", "green"]}
    np.testing.assert_array_equal(data.X, [[1, 0], [0, 1]])
    data = read_table(path, LabelSpec(labels=("lab",)), known_features=["w"])  # {0,1} is numeric
    np.testing.assert_array_equal(data.X, [[1], [0]])
    assert data.levels == {}


def test_arff_errors(tmp_path):
    message = error(arff_file(tmp_path, "1,2,3\n"), LabelSpec(label_columns=2))
    assert str(tmp_path / "t.arff") in message and "Bad @DATA instance format in line 8" in message
    write(tmp_path, "t.xml", "<labels/>")
    message = error(arff_file(tmp_path, relation="no options"))
    assert "--xml FILE" in message and "-C" in message and str(tmp_path / "t.xml") in message
    message = error(arff_file(tmp_path, "1,1,2,0\n3,?,4,1\n"), LabelSpec(labels=("lab1",)))
    assert "label column 'lab1'" in message and "data row 2" in message
    assert "--label-column reads a CSV" in error(arff_file(tmp_path), LabelSpec(label_column="x"))
    assert "1 data row(s)" in error(arff_file(tmp_path, "1,1,2,0\n"), LabelSpec(label_columns=2))


def test_arff_known_labels_without_labels(tmp_path):
    text = "@relation r\n@attribute f1 numeric\n@attribute f2 numeric\n@data\n1,2\n3,4\n"
    data = read_table(write(tmp_path, "p.arff", text), known_labels=["a"], require_labels=False)
    assert data.Y is None and data.feature_names == ["f1", "f2"]


# ----------------------------------------------------------------------------- infinite features


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity", "-INF", "+infinity", "1e400"])
@pytest.mark.parametrize("spec", [LabelSpec(labels=("a",)), LabelSpec(label_column="a")])
def test_infinite_feature_names_column_row_line_and_file(tmp_path, cell, spec):
    path = write(tmp_path, "t.csv", f"x,y,a\n1,2,1\n\n3,{cell},0\n4,5,1\n")
    message = error(path, spec)
    assert "feature column 'y'" in message and repr(cell) in message
    assert f"data row 2 (line 4) of {path}" in message
    assert "empty or NaN" in message


def test_infinite_feature_in_prediction_input(tmp_path):
    path = write(tmp_path, "t.csv", "x,y\n1,2\n3,4\n-inf,5\n")
    message = error(path, known_features=["x", "y"], known_labels=["a"], require_labels=False)
    assert "feature column 'x'" in message and "data row 3 (line 4)" in message


def test_nan_and_missing_features_stay_allowed(tmp_path):
    data = read_table(write(tmp_path, "t.csv", "x,y,a\nNaN,2,1\n3,,0\n"), LabelSpec(labels=("a",)))
    assert np.isnan(data.X).sum() == 2


def test_infinite_feature_in_arff(tmp_path):
    path = arff_file(tmp_path, "1.5,1,2,0\n3,0,Infinity,1\n")
    message = error(path, LabelSpec(labels=("lab1", "lab2")))
    assert "feature column 'f2'" in message and f"data row 2 of {path}" in message


def test_check_finite_names_column_row_and_where():
    X = np.array([[0.0, np.nan], [1.0, 2.0], [-np.inf, 3.0]])  # (3, 2)
    with pytest.raises(UserInputError) as info:
        check_finite(X, ["u", "v"], "X passed to fit")
    message = str(info.value)
    assert "feature column 'u'" in message and "'-inf' at row 3 of X passed to fit" in message
    check_finite(X[:2], ["u", "v"], "X")  # NaN is a missing value, not an error
    check_finite(np.ones((2, 2), dtype=np.int64), None, "X")
    with pytest.raises(UserInputError, match="column 1"):
        check_finite(np.array([[0.0, np.inf]]), None, "X")
