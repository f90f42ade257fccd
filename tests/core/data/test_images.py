"""decode_image, read_manifest, read_folder, read_images and ImageSet, on real files in tmp_path."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brainnet.core.data.images import (
    ImageSet,
    check_files,
    decode_image,
    read_folder,
    read_images,
    read_manifest,
    select_split,
)
from brainnet.core.errors import BadImageError, UserInputError

RED, BLUE = (255, 0, 0), (0, 0, 255)


def save(path: Path, image: Image.Image, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def solid(path: Path, colour=RED, size=(6, 4)) -> Path:
    return save(path, Image.new("RGB", size, colour))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def bad(path, **kwargs) -> str:
    with pytest.raises(BadImageError) as info:
        decode_image(path, **kwargs)
    return str(info.value)


def png_header(width: int, height: int) -> bytes:
    """A PNG claiming width x height, with only a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def touch(path: Path) -> None:
    """An image for a name ending in .png, a text file for anything else."""
    if path.suffix == ".png":
        solid(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, "x")


# ----------------------------------------------------------------------------- decode_image modes


def test_rgb_png_round_trips_exactly(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = decode_image(save(tmp_path / "a.png", Image.fromarray(pixels)))
    assert out.dtype == np.uint8 and out.shape == (5, 7, 3)
    np.testing.assert_array_equal(out, pixels)


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grayscale_becomes_three_equal_channels(tmp_path, mode):
    gray = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    out = decode_image(save(tmp_path / "g.png", Image.fromarray(gray).convert(mode)))
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))


def test_gray_with_alpha_is_composited_on_white(tmp_path):
    la = Image.fromarray(np.array([[[0, 255], [0, 0]]], dtype=np.uint8), mode="LA")  # (1, 2, 2)
    out = decode_image(save(tmp_path / "la.png", la))
    np.testing.assert_array_equal(out[0], [[0, 0, 0], [255, 255, 255]])


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.array([[[255, 0, 0, 255], [255, 0, 0, 0], [255, 0, 0, 128]]], dtype=np.uint8)
    out = decode_image(save(tmp_path / "a.png", Image.fromarray(rgba, mode="RGBA")))
    np.testing.assert_array_equal(out[0, :2], [[255, 0, 0], [255, 255, 255]])
    np.testing.assert_allclose(out[0, 2], [255, 127, 127], atol=1)


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    path = save(tmp_path / "p.png", image, transparency=1)  # blue is transparent
    assert Image.open(path).mode == "P"
    np.testing.assert_array_equal(decode_image(path)[0], [RED, (255, 255, 255)])
    gif = save(tmp_path / "p.gif", image, transparency=1)
    np.testing.assert_array_equal(decode_image(gif)[0], [RED, (255, 255, 255)])


def test_cmyk_jpeg(tmp_path):
    path = save(tmp_path / "c.jpg", Image.new("CMYK", (8, 8), (0, 255, 255, 0)), quality=95)
    assert Image.open(path).mode == "CMYK"
    out = decode_image(path)
    assert out.shape == (8, 8, 3)
    np.testing.assert_allclose(out[4, 4], RED, atol=8)  # no cyan, full magenta and yellow


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 1000, 32896, 65535]], dtype=np.uint16)
    path = save(tmp_path / "16.png", Image.fromarray(values))
    assert Image.open(path).mode == "I;16"
    out = decode_image(path)
    np.testing.assert_array_equal(out[0, :, 0], [0, 4, 128, 255])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_16_bit_big_endian_and_32_bit_tiff(tmp_path):
    values = np.array([[0, 257, 65535]], dtype=np.uint16)
    big = Image.frombytes("I;16B", (3, 1), values.astype(">u2").tobytes())
    path = save(tmp_path / "b.tif", big)
    assert Image.open(path).mode == "I;16B"
    np.testing.assert_array_equal(decode_image(path)[0, :, 0], [0, 1, 255])
    wide = save(tmp_path / "i.tif", Image.fromarray(values.astype(np.int32)))
    assert Image.open(wide).mode == "I"
    np.testing.assert_array_equal(decode_image(wide)[0, :, 0], [0, 1, 255])
    signed = save(tmp_path / "s.tif", Image.fromarray(np.array([[-100, 0, 100]], np.int32)))
    np.testing.assert_allclose(decode_image(signed)[0, :, 0], [0, 128, 255], atol=1)  # min-max


def test_float_tiff(tmp_path):
    unit = save(tmp_path / "u.tif", Image.fromarray(np.array([[0, 0.5, 1]], np.float32)))
    assert Image.open(unit).mode == "F"
    np.testing.assert_array_equal(decode_image(unit)[0, :, 1], [0, 128, 255])
    wide = save(tmp_path / "w.tif", Image.fromarray(np.array([[-2, 0, 2]], np.float32)))
    np.testing.assert_allclose(decode_image(wide)[0, :, 1], [0, 128, 255], atol=1)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)  # H=20, W=40: left half red, right blue
    pixels[:, :20] = RED
    pixels[:, 20:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    path = save(tmp_path / "r.jpg", Image.fromarray(pixels), exif=exif, quality=95)
    out = decode_image(path)
    assert out.shape == (40, 20, 3)
    np.testing.assert_allclose(out[5, 10], RED, atol=10)  # the left side is now on top
    np.testing.assert_allclose(out[35, 10], BLUE, atol=10)


# ----------------------------------------------------------------------------- decode_image errors


def test_missing_file_and_directory(tmp_path):
    assert "file not found" in bad(tmp_path / "nope.jpg")
    assert "directory" in bad(tmp_path)


def test_text_file_named_jpg_and_empty_file(tmp_path):
    message = bad(write(tmp_path / "t.jpg", "not really a picture"))
    assert "t.jpg" in message and "not an image" in message
    empty = tmp_path / "e.png"
    empty.write_bytes(b"")
    assert "empty" in bad(empty)


def test_truncated_jpeg(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    message = bad(path)
    assert "cut.jpg" in message and "truncated or corrupt" in message


def test_corrupt_png_data(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), RED).save(buffer, "PNG")
    raw = bytearray(buffer.getvalue())
    raw[60:80] = b"\x00" * 20  # inside the IDAT chunk
    path = tmp_path / "x.png"
    path.write_bytes(bytes(raw))
    assert "truncated or corrupt" in bad(path)


def test_decompression_bombs(tmp_path):
    small = solid(tmp_path / "s.png", size=(10, 10))
    assert "max_pixels=99" in bad(small, max_pixels=99)
    assert decode_image(small, max_pixels=100).shape == (10, 10, 3)
    above_ours = tmp_path / "big.png"  # 100 M pixels: over our limit, under Pillow's error
    above_ours.write_bytes(png_header(20_000, 5_000))
    assert "decompression bomb" in bad(above_ours)
    huge = tmp_path / "huge.png"  # 10^10 pixels: Pillow itself refuses at open
    huge.write_bytes(png_header(100_000, 100_000))
    assert "huge.png" in (message := bad(huge)) and "decompression bomb" in message


def test_bad_image_error_is_a_user_input_error():
    assert issubclass(BadImageError, UserInputError)


# ----------------------------------------------------------------------------- manifests


def images_in(folder: Path, names) -> None:
    for name in names:
        solid(folder / name)


def test_manifest_with_delimited_labels(tmp_path):
    images_in(tmp_path, ["a.png", "b.png", "img/c.png"])
    path = write(tmp_path / "m.csv", "path,tags\na.png,sea;sunset\nb.png,\nimg/c.png, sea \n")
    data = read_manifest(path)
    assert data.label_names == ["sea", "sunset"] and len(data) == 3
    np.testing.assert_array_equal(data.Y, [[1, 1], [0, 0], [1, 0]])
    assert data.Y.dtype == np.uint8 and data.split is None and data.arrays is None
    assert data.paths[2] == tmp_path.resolve() / "img" / "c.png"
    assert data.source == {
        "kind": "manifest",
        "path_column": "path",
        "label_column": "tags",
        "labels": ["sea", "sunset"],
        "delimiter": ";",
        "split_column": None,
    }
    assert data.image(0).shape == (4, 6, 3)


def test_manifest_with_binary_columns_and_split(tmp_path):
    images_in(tmp_path, ["a.png", "b.png", "c.png", "d.png"])
    text = "Image,cat,dog,Split\na.png,1,0,Train\nb.png,0,1,VALID\nc.png,1,1,validation\nd.png,0,0,test\n"
    data = read_manifest(write(tmp_path / "m.csv", text))
    assert data.label_names == ["cat", "dog"]
    np.testing.assert_array_equal(data.Y, [[1, 0], [0, 1], [1, 1], [0, 0]])
    assert data.split.tolist() == ["train", "val", "val", "test"]
    np.testing.assert_array_equal(data.split_indices("val"), [1, 2])
    assert data.source["split_column"] == "Split" and data.source["label_column"] is None


def test_source_options_read_another_manifest_the_same_way(tmp_path):
    images_in(tmp_path, ["a.png", "b.png"])
    first = read_manifest(write(tmp_path / "m.csv", "file,b,a,notes\na.png,1,0,x\nb.png,0,1,y\n"),
                          labels=["a", "b"])  # fmt: skip
    np.testing.assert_array_equal(first.Y, [[0, 1], [1, 0]])
    options = {k: v for k, v in first.source.items() if k != "kind"}
    again = read_manifest(write(tmp_path / "n.csv", "file,a,b\nb.png,1,0\n"), **options)
    assert again.label_names == ["a", "b"]
    np.testing.assert_array_equal(again.Y, [[1, 0]])
    unlabelled = read_manifest(
        write(tmp_path / "p.csv", "file\na.png\n"), **options, require_labels=False
    )
    assert unlabelled.Y is None and unlabelled.label_names == ["a", "b"]


def test_delimited_labels_follow_a_given_vocabulary(tmp_path):
    images_in(tmp_path, ["a.png", "b.png"])
    path = write(tmp_path / "m.csv", "path,tags\na.png,x|y\nb.png,y\n")
    data = read_manifest(path, label_column="tags", labels=["z", "y", "x"], delimiter="|")
    np.testing.assert_array_equal(data.Y, [[0, 1, 1], [0, 1, 0]])
    with pytest.raises(UserInputError, match=r"not in labels=\[\.\.\.\]: x \(first at data row 1"):
        read_manifest(path, label_column="tags", labels=["y"], delimiter="|")


def test_manifest_without_labels_is_for_prediction(tmp_path):
    images_in(tmp_path, ["a.png"])
    data = read_manifest(write(tmp_path / "m.tsv", "filename\tsplit\na.png\ttest\n"))
    assert data.Y is None and data.label_names == [] and data.split.tolist() == ["test"]
    assert "unlabelled" in data.describe()


def test_absolute_paths_and_gzip(tmp_path):
    import gzip

    absolute = solid(tmp_path / "elsewhere" / "a.png").resolve()
    path = tmp_path / "sub" / "m.csv.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(f"path,tags\n{absolute},x\n".encode()))
    assert read_images(path).paths == [absolute]


def test_missing_files_are_listed_once(tmp_path):
    images_in(tmp_path, ["ok.png"])
    rows = "".join(f"gone{i}.png,a\n" for i in range(6))
    with pytest.raises(UserInputError) as info:
        read_manifest(write(tmp_path / "m.csv", "path,tags\nok.png,a\n" + rows))
    message = str(info.value)
    assert message.startswith("6 of 7 image files are missing: gone0.png, gone1.png")
    assert "gone4.png, ..." in message and "gone5" not in message
    assert "relative to its folder" in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("path,tags\n", "no data rows"),
        ("", "empty"),
        ("where,tags\na.png,x\n", "which column of .* holds the image paths.*where, tags"),
        ("path,image,tags\na.png,a.png,x\n", "2 columns"),
        ("path,cat,dog\na.png,1,2\n", r"'dog' must hold 0 or 1; received '2' at data row 1"),
        ("path,cat,dog\na.png,1,\n", "'dog' must hold 0 or 1; received an empty cell"),
        ("path,a,b\na.png,x,y\n", "label_column=NAME"),
        ("path,tags,split\na.png,x,later\n", "split column 'split' holds 'later' at data row 1"),
        ("path,tags\na.png,Sea;sea\n", "differ only in case: 'Sea', 'sea'"),
        ("path,tags,tags\na.png,x,y\n", "duplicate column names"),
        ("path,tags\na.png,x,extra\n", "line 2 .* has 3 cells; expected 2"),
        ("path,tags\n,x\n", "image path is empty at data row 1"),
    ],
)
def test_manifest_errors(tmp_path, text, expected):
    images_in(tmp_path, ["a.png"])
    with pytest.raises(UserInputError, match=expected):
        read_manifest(write(tmp_path / "m.csv", text))


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"labels": ["cat", "cat"]}, "names a label twice: 'cat'"),
        ({"labels": []}, "labels is empty"),
        ({"labels": ["cat", "cow"]}, "labels='cow' is not a column"),
        ({"label_column": "Tags"}, "label_column='Tags' is not a column.*Did you mean 'tags'"),
        ({"path_column": "p"}, "path_column='p' is not a column"),
        ({"split_column": "fold"}, "split_column='fold' is not a column"),
        ({"label_column": "tags", "delimiter": ""}, "delimiter is empty"),
    ],
)
def test_manifest_option_errors(tmp_path, options, expected):
    images_in(tmp_path, ["a.png"])
    with pytest.raises(UserInputError, match=expected):
        read_manifest(write(tmp_path / "m.csv", "path,cat,tags\na.png,1,x\n"), **options)


# ----------------------------------------------------------------------------- folders


def test_class_folders(tmp_path):
    for name in ["dog/b.png", "cat/x/1.png", "cat/notes.txt", "bird/.hid/z.png"]:
        touch(tmp_path / name)
    solid(tmp_path / "dog" / "A.JPG")  # an upper-case extension counts too
    data = read_folder(tmp_path)
    assert data.label_names == ["bird", "cat", "dog"]  # an empty class is still a label
    names = [p.relative_to(tmp_path).as_posix() for p in data.paths]
    assert names == ["cat/x/1.png", "dog/A.JPG", "dog/b.png"]
    np.testing.assert_array_equal(data.Y, [[0, 1, 0], [0, 0, 1], [0, 0, 1]])
    assert data.split is None
    assert data.source == {"kind": "folder", "split_folders": False}
    assert read_images(tmp_path).paths == data.paths


def test_split_folders_union_their_classes(tmp_path):
    images_in(
        tmp_path, ["train/cat/1.png", "train/dog/2.png", "validation/cat/3.png", "test/owl/4.png"]
    )
    data = read_folder(tmp_path)
    assert data.label_names == ["cat", "dog", "owl"]
    assert data.split.tolist() == ["test", "train", "train", "val"]
    np.testing.assert_array_equal(data.Y.argmax(axis=1), [2, 0, 1, 0])
    assert data.Y.sum() == 4 and data.source["split_folders"] is True
    np.testing.assert_array_equal(data.split_indices("train"), [1, 2])


@pytest.mark.parametrize(
    "files, expected",
    [
        ([], "no class sub-folders"),
        (["cat/readme.txt"], "no images found in the class folders"),
        (["train/cat/1.png", "cats/2.png"], "mixes split folders"),
        (["val/cat/1.png", "validation/cat/2.png"], "two folders for the 'val' split"),
    ],
)
def test_folder_errors(tmp_path, files, expected):
    for name in files:
        touch(tmp_path / name)
    with pytest.raises(UserInputError, match=expected):
        read_folder(tmp_path)


# ----------------------------------------------------------------------------- dispatch and ImageSet


def test_read_images_dispatch_errors(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        read_images(tmp_path / "nope")
    with pytest.raises(UserInputError, match="received a .png file"):
        read_images(solid(tmp_path / "one.png"))
    with pytest.raises(UserInputError, match="apply only to a CSV manifest"):
        read_images(tmp_path, label_column="tags")


def test_imageset_subset_describe_and_split_errors(tmp_path):
    arrays = np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3)
    data = ImageSet(
        "toy",
        ["a", "b"],
        Y=np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.uint8),
        arrays=arrays,
        split=np.array(["train", "train", "val", "test"]),
    )
    part = data.subset([2, 0])
    assert len(part) == 2 and part.split.tolist() == ["val", "train"]
    np.testing.assert_array_equal(part.image(0), arrays[2])
    np.testing.assert_array_equal(part.Y, [[1, 1], [1, 0]])
    masked = data.subset(np.array([False, True, False, True]))
    np.testing.assert_array_equal(masked.arrays, arrays[[1, 3]])
    text = data.describe()
    assert "toy: 4 images (arrays of 2x2), 2 labels" in text
    assert "a: 2 (50.0%)" in text and "splits: train 2, val 1, test 1" in text
    assert "1 without a label" in text
    check_files(data)  # in-memory: nothing to check
    with pytest.raises(UserInputError, match="unknown split 'valid'"):
        data.split_indices("valid")
    with pytest.raises(UserInputError, match="has no split column"):
        ImageSet("x", [], arrays=arrays).split_indices("train")


# ----------------------------------------------------------------------------- remembered options


def test_remembered_options_are_used_only_where_they_fit(tmp_path):
    images_in(tmp_path, ["a.png", "b.png", "c.png"])
    text = "file,labels,split\na.png,x|y,train\nb.png,y,test\nc.png,x,val\n"
    first = read_manifest(write(tmp_path / "m.csv", text), label_column="labels", delimiter="|")
    assert first.source["split_column"] == "split"
    other = write(tmp_path / "other.csv", "labels,file,notes\ny,c.png,blurry\nx|y,a.png,ok\n")
    again = read_images(other, remembered=first.source)
    assert again.split is None and again.label_names == ["x", "y"]
    np.testing.assert_array_equal(again.Y, [[0, 1], [1, 1]])
    assert again.source["path_column"] == "file" and again.source["delimiter"] == "|"
    with pytest.raises(UserInputError, match="split_column='split' is not a column of .*other"):
        read_images(other, remembered=first.source, split_column="split")  # given: must fit
    given = read_images(other, remembered=first.source, label_column="notes")  # given wins
    assert given.label_names == ["blurry", "ok"]


def test_remembered_binary_labels_and_folders(tmp_path):
    images_in(tmp_path, ["cat/a.png", "dog/b.png"])
    first = read_manifest(write(tmp_path / "m.csv", "path,cat,dog\ncat/a.png,1,0\ndog/b.png,0,1\n"))
    again = read_images(write(tmp_path / "n.csv", "dog,path,cat\n1,dog/b.png,0\n"),
                        remembered=first.source)  # fmt: skip
    assert again.label_names == ["cat", "dog"]
    np.testing.assert_array_equal(again.Y, [[0, 1]])
    folder = read_images(tmp_path, remembered=first.source)  # manifest options: not for a folder
    assert folder.label_names == ["cat", "dog"] and folder.source["kind"] == "folder"


# ----------------------------------------------------------------------------- choosing a split


@pytest.fixture
def split_manifest(tmp_path):
    images_in(tmp_path, ["a.png", "b.png", "c.png", "d.png"])
    text = "path,tags,fold\na.png,x,train\nb.png,y,test\nc.png,x,train\nd.png,y,test\n"
    return read_manifest(write(tmp_path / "m.csv", text), split_column="fold")


def test_select_split_defaults_to_the_test_rows(split_manifest):
    chosen, words = select_split(split_manifest)
    assert [p.name for p in chosen.paths] == ["b.png", "d.png"]
    assert words == f"the 2 test rows of {split_manifest.name} (split column 'fold')"
    train, words = select_split(split_manifest, "train")
    assert len(train) == 2 and words.startswith("the 2 train rows")
    every, words = select_split(split_manifest, "all")
    assert every is split_manifest and words.startswith("all 4 images")


def test_select_split_errors_give_the_counts(split_manifest):
    with pytest.raises(UserInputError, match="no val rows; its split column 'fold' holds: train 2, "
                       "val 0, test 2"):  # fmt: skip
        select_split(split_manifest, "validation")
    with pytest.raises(UserInputError, match="unknown split 'dev'; expected one of: train, val"):
        select_split(split_manifest, "dev")


def test_select_split_without_a_split_or_without_test_rows(tmp_path):
    images_in(tmp_path, ["a.png", "b.png"])
    plain = read_manifest(write(tmp_path / "p.csv", "path,tags\na.png,x\nb.png,y\n"))
    chosen, words = select_split(plain)
    assert chosen is plain and words == f"all 2 images of {plain.name} (it has no split column)"
    with pytest.raises(UserInputError, match="has no split column.*--split all"):
        select_split(plain, "test")
    no_test = read_manifest(
        write(tmp_path / "q.csv", "path,tags,split\na.png,x,train\nb.png,y,val\n")
    )
    chosen, words = select_split(no_test)
    assert len(chosen) == 2 and "no test rows: train 1, val 1, test 0" in words


def test_select_split_of_split_folders(tmp_path):
    images_in(tmp_path, ["train/cat/1.png", "test/dog/2.png", "test/cat/3.png"])
    chosen, words = select_split(read_folder(tmp_path))
    assert len(chosen) == 2 and words.endswith("(split folders)")
