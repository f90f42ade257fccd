"""Multi-label image data: the ``ImageSet`` every image reader returns, and the readers.

``read_images`` dispatches on the path: a folder of class sub-folders (Keras ``flow_from_directory``
layout, optionally inside train/ val/ test/ folders) goes to ``read_folder``, a CSV/TSV manifest of
image paths and labels to ``read_manifest``. ``decode_image`` turns any file Pillow can read into an
(H, W, 3) uint8 RGB array, or raises ``BadImageError`` saying which file and why. NumPy and Pillow only.
"""

from __future__ import annotations

import csv
import gzip
import struct
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from brainnet.core.data.labels import (
    check_case_clash,
    check_header,
    check_row_lengths,
    is_number,
    parse_binary_labels,
    parse_delimited_labels,
    read_rows,
    read_text,
    sniff_delimiter,
)
from brainnet.core.errors import BadImageError, UserInputError

SPLIT_NAMES = ("train", "val", "test")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MANIFEST_EXTENSIONS = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
PATH_COLUMNS = ("path", "image", "file", "filename", "filepath")  # auto-detected, case-insensitive
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default limit (about 0.25 GB of RGBA)
_SPLIT_ALIASES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}
_SHOWN_MISSING = 5
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
# what Pillow raises on a damaged file, besides its own UnidentifiedImageError
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    struct.error,
    zlib.error,
)


@dataclass
class ImageSet:
    """Images and their multi-hot labels; the images are files or in-memory arrays.

    Attributes:
        name: where it came from (a path, or a built-in name with its split: "shapes (train)").
        label_names: L label names, in Y's column order.
        Y: (n, L) uint8 multi-hot labels, or None when unlabelled (prediction input).
        paths: n image files (absolute, or as the reader resolved them), or None for in-memory data.
        arrays: (n, H, W, 3) uint8 images for in-memory data (the built-ins), or None.
        split: (n,) str array of "train"/"val"/"test" given by the data, or None.
        source: how it was read, JSON-serialisable, enough to read another file the same way, e.g.
            ``{"kind": "manifest", "path_column": "path", "label_column": "tags", "labels": [...],
            "delimiter": ";", "split_column": "split"}``; ``{"kind": "folder", ...}`` or
            ``{"kind": "builtin", "name": "shapes", "split": "train"}``.
    """

    name: str
    label_names: list[str]
    Y: np.ndarray | None = None
    paths: list[Path] | None = None
    arrays: np.ndarray | None = None
    split: np.ndarray | None = None
    source: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert (self.paths is None) != (self.arrays is None), "exactly one of paths and arrays"
        n = len(self)
        assert self.Y is None or self.Y.shape == (n, len(self.label_names)), "Y is (n, L)"
        assert self.split is None or self.split.shape == (n,), "split is (n,)"

    def __len__(self) -> int:
        return len(self.paths) if self.paths is not None else int(self.arrays.shape[0])

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    def subset(self, idx) -> ImageSet:
        """The rows ``idx`` (int indices or an (n,) bool mask), in that order, as a new ImageSet."""
        idx = np.arange(len(self))[np.asarray(idx)]  # bool mask or ints -> (k,) int
        return ImageSet(
            name=self.name,
            label_names=list(self.label_names),
            Y=self.Y[idx] if self.Y is not None else None,
            paths=[self.paths[i] for i in idx] if self.paths is not None else None,
            arrays=self.arrays[idx] if self.arrays is not None else None,
            split=self.split[idx] if self.split is not None else None,
            source=dict(self.source),
        )

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as an (H, W, 3) uint8 RGB array (decoded from its file, or the stored array)."""
        if self.arrays is not None:
            return self.arrays[i]
        return decode_image(self.paths[i])

    def split_indices(self, name: str) -> np.ndarray:
        """Sorted int64 indices of the rows in split ``name`` ("train", "val" or "test"); maybe empty."""
        if name not in SPLIT_NAMES:
            raise UserInputError(
                f"unknown split {name!r}; expected one of: {', '.join(SPLIT_NAMES)}."
            )
        if self.split is None:
            raise UserInputError(
                f"{self.name} has no split column; add a 'split' column (train/val/test) to the "
                "manifest or use train/, val/ and test/ folders, or split the data by seed."
            )
        return np.flatnonzero(self.split == name).astype(np.int64)

    def describe(self) -> str:
        """A few lines for people: counts, storage, label frequencies and split sizes."""
        n = len(self)
        where = "files" if self.paths is not None else "arrays of {}x{}".format(*self._hw())
        lines = [f"{self.name}: {n} images ({where}), {self.n_labels} labels"]
        if self.Y is None:
            known = f" (labels: {', '.join(self.label_names)})" if self.label_names else ""
            lines.append(f"  unlabelled{known}")
        else:
            counts = self.Y.sum(axis=0)  # (L,)
            cardinality = float(self.Y.sum()) / max(n, 1)
            empty = int((self.Y.sum(axis=1) == 0).sum())
            lines.append(
                f"  labels per image: {cardinality:.2f} on average; {empty} without a label"
            )
            for name, count in zip(self.label_names, counts, strict=True):
                lines.append(f"  {name}: {int(count)} ({100 * count / max(n, 1):.1f}%)")
        if self.split is not None:
            sizes = ", ".join(f"{s} {int((self.split == s).sum())}" for s in SPLIT_NAMES)
            lines.append(f"  splits: {sizes}")
        return "\n".join(lines)

    def _hw(self) -> tuple[int, int]:
        return int(self.arrays.shape[1]), int(self.arrays.shape[2])


def select_split(images: ImageSet, split: str | None = None) -> tuple[ImageSet, str]:
    """The rows to score: one split of the data, or all of it, and which rows those are in words.

    Args:
        images: the data to evaluate.
        split: None (default): the test rows when the data has a split (a split column or split
            folders) holding test rows, else all rows; "train", "val" (or "valid", "validation"),
            "test": those rows, which must exist; "all": every row.

    Returns:
        (the chosen rows as an ImageSet, e.g. "the 500 test rows of m.csv (split column 'split')"
        or "all 37 images of photos.csv (it has no split column)").

    Raises:
        UserInputError: an unknown split name, a split asked of data without a split, or a split
            with no rows (the message gives the rows per split).
    """
    n, name = len(images), images.name
    key = None if split is None else str(split).strip().lower()
    if key is not None and key != "all" and key not in _SPLIT_ALIASES:
        raise UserInputError(
            f"unknown split {split!r}; expected one of: {', '.join(SPLIT_NAMES)}, all (or none: "
            "the test rows when the data has them, else all rows)."
        )
    if images.split is None:
        if key in (None, "all"):
            return images, f"all {n} images of {name} (it has no split column)"
        raise UserInputError(
            f"split {split!r} asks for the {_SPLIT_ALIASES[key]} rows of {name}, but it has no split "
            "column; expected a 'split' column of train/val/test in the manifest, or train/, val/ "
            "and test/ folders. Pass split 'all' (--split all) to use all "
            f"{n} images, or add the split to the data."
        )
    counts = ", ".join(f"{s} {int((images.split == s).sum())}" for s in SPLIT_NAMES)
    origin = _split_origin(images)
    if key == "all":
        return images, f"all {n} images of {name} (every split: {counts})"
    wanted = "test" if key is None else _SPLIT_ALIASES[key]
    idx = images.split_indices(wanted)
    if not idx.size and key is None:
        return images, f"all {n} images of {name} (its {origin} has no test rows: {counts})"
    if not idx.size:
        raise UserInputError(
            f"{name} has no {wanted} rows; its {origin} holds: {counts}. Ask for a split that has "
            f"rows, or 'all' (--split all) for all {n} images."
        )
    return images.subset(idx), f"the {idx.size} {wanted} rows of {name} ({origin})"


def _split_origin(images: ImageSet) -> str:
    column = images.source.get("split_column")
    if column is not None:
        return f"split column {column!r}"
    return "split folders" if images.source.get("kind") == "folder" else "split"


# ----------------------------------------------------------------------------- decoding


def decode_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file into RGB, applying its EXIF orientation.

    Grayscale (1, L, LA), palette (P, with transparency), RGBA (composited on white), CMYK, 16-bit
    (I;16*: 0..65535 scaled to 0..255), 32-bit integer (I: scaled as 16-bit when within 0..65535,
    else min-max) and float (F: x 255 when within [0, 1], else min-max) all become 8-bit RGB.

    Args:
        path: the image file.
        max_pixels: refuse images with more pixels (width x height) than this, before decoding
            them (decompression bombs); default Pillow's 89,478,485.

    Returns:
        (H, W, 3) uint8 array, H and W after the EXIF rotation.

    Raises:
        BadImageError: the file is missing, empty, not an image, truncated or corrupt, or too large.
    """
    path = Path(path)
    if not path.is_file():
        reason = "it is a directory" if path.is_dir() else "file not found"
        raise BadImageError(f"cannot read the image {path}: {reason}. Check the path.")
    try:
        with warnings.catch_warnings():
            # our own size check below is the limit; Pillow's global one only adds noise
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                _check_size(im, path, max_pixels)
                im.load()  # decode everything now: a truncated file fails here
                return _to_rgb(ImageOps.exif_transpose(im))
    except BadImageError:
        raise
    except Image.DecompressionBombError as err:
        raise BadImageError(
            f"cannot read the image {path}: {err} Resize it, or raise max_pixels if you trust it."
        ) from None
    except UnidentifiedImageError:
        what = "the file is empty" if path.stat().st_size == 0 else "not an image Pillow can read"
        raise BadImageError(
            f"cannot read the image {path}: {what}. Expected a JPEG, PNG, BMP, GIF, TIFF or WebP "
            "file; remove it or replace it with a valid image."
        ) from None
    except PermissionError:
        raise BadImageError(
            f"cannot read the image {path}: permission denied. Make the file readable."
        ) from None
    except _DECODE_ERRORS as err:
        raise BadImageError(
            f"cannot read the image {path}: truncated or corrupt data ({type(err).__name__}: "
            f"{err}). Re-export or re-download the file, or remove it."
        ) from None


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8 with Pillow's antialiased bilinear filter; returned as is when
    already size x size. The one resize of training and of both prediction runtimes (torch and ONNX), so an
    exported model sees exactly the pixels the torch model saw (the aspect ratio is not kept)."""
    if image.shape[:2] == (size, size):
        return image
    resized = Image.fromarray(np.ascontiguousarray(image)).resize((size, size), Image.BILINEAR)
    return np.array(resized, dtype=np.uint8)  # (size, size, 3), writable


def _check_size(im: Image.Image, path: Path, max_pixels: int) -> None:
    width, height = im.size
    if width * height > max_pixels:
        raise BadImageError(
            f"cannot read the image {path}: {width}x{height} = {width * height:,} pixels is more "
            f"than max_pixels={max_pixels:,} (a decompression bomb?). Resize it, or raise "
            "max_pixels if you trust the file."
        )


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> (H, W, 3) uint8."""
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(im).astype(np.float64)  # (H, W)
        gray = _scale_to_8_bits(values, mode)
        return np.repeat(gray[:, :, None], 3, axis=2)  # (H, W, 3)
    if mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.array(im.convert("RGB"), dtype=np.uint8)


def _scale_to_8_bits(values: np.ndarray, mode: str) -> np.ndarray:
    """(H, W) 16-bit, 32-bit or float pixels -> (H, W) uint8 without clipping the range."""
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if mode == "F" and 0.0 <= low and high <= 1.0:
        scaled = values * 255.0
    elif mode != "F" and 0.0 <= low and high <= 65535.0:
        scaled = values * (255.0 / 65535.0)
    elif np.isfinite(low) and np.isfinite(high) and high > low:
        scaled = (values - low) * (255.0 / (high - low))
    else:
        scaled = np.zeros_like(values)
    return np.round(np.nan_to_num(scaled)).astype(np.uint8)


# ----------------------------------------------------------------------------- dispatch


def is_image_source(path: str | Path, path_column: str | None = None) -> bool:
    """True for a folder, or a CSV/TSV manifest whose header names a path column (``PATH_COLUMNS`` or
    ``path_column``): what ``brainnet train DATA`` uses to tell images from a table. Reads only the header."""
    path = Path(path)
    if path.is_dir():
        return True
    if path_column is not None:
        return True
    if not (path.is_file() and path.name.lower().endswith(MANIFEST_EXTENSIONS)):
        return False
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as f:
            first = f.readline()
    except OSError:
        return False
    tab = "\t" in first and "," not in first
    header = next(csv.reader([first], delimiter="\t" if tab else ","), [])
    return any(cell.strip().lower() in PATH_COLUMNS for cell in header)


def read_images(
    path: str | Path, *, remembered: dict | None = None, **manifest_options
) -> ImageSet:
    """Read a folder of class sub-folders or a CSV/TSV manifest.

    Args:
        path: a directory (``read_folder``) or a .csv, .tsv, .csv.gz or .tsv.gz file (``read_manifest``).
        remembered: how earlier data was read (a model's ``ImageSet.source``): for a manifest, a
            fallback for the options not given, each used only where it fits the file
            (``fill_remembered``); ignored for a folder.
        **manifest_options: keyword arguments of ``read_manifest`` (only for a manifest); None
            means not given.

    Returns:
        ImageSet, see ``read_folder`` and ``read_manifest``.
    """
    path = Path(path)
    if path.is_dir():
        given = [key for key, value in manifest_options.items() if value is not None]
        if given:
            raise UserInputError(
                f"{path} is a folder of class sub-folders; the options {', '.join(given)} apply "
                "only to a CSV manifest. Drop them, or pass the manifest file."
            )
        return read_folder(path)
    if not path.exists():
        raise UserInputError(
            f"not found: {path}. Expected a folder of images (one sub-folder per class) or a CSV "
            "manifest of image paths and labels."
        )
    if path.name.lower().endswith(MANIFEST_EXTENSIONS):
        return read_manifest(path, remembered=remembered, **manifest_options)
    raise UserInputError(
        f"cannot read images from {path}: expected a folder (one sub-folder per class) or a "
        f"manifest ending in {', '.join(MANIFEST_EXTENSIONS)}; received a {path.suffix or 'extensionless'} "
        "file. For a single image, put it in a manifest with a 'path' column."
    )


# ----------------------------------------------------------------------------- missing files


def check_files(images: ImageSet, *, root: str | Path | None = None) -> None:
    """Raise one ``UserInputError`` naming the missing image files, if any.

    Args:
        images: an ImageSet; in-memory sets always pass.
        root: shown paths are relative to this folder when they are inside it (the manifest's folder).
    """
    if images.paths is None:
        return
    missing = [p for p in images.paths if not p.is_file()]
    if not missing:
        return
    shown = ", ".join(_shown_path(p, root) for p in missing[:_SHOWN_MISSING])
    more = ", ..." if len(missing) > _SHOWN_MISSING else ""
    n, total = len(missing), len(images.paths)
    verb = "is" if n == 1 else "are"
    kind = images.source.get("kind")
    fix = (
        "Fix the paths in the manifest (they are relative to its folder)."
        if kind == "manifest"
        else "Restore the files, or read the folder again."
    )
    raise UserInputError(f"{n} of {total} image files {verb} missing: {shown}{more}. {fix}")


def _shown_path(path: Path, root: str | Path | None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


# ----------------------------------------------------------------------------- folders


def read_folder(path: str | Path) -> ImageSet:
    """Read a folder with one sub-folder of images per class (single-label data, one-hot Y).

    Either ``root/<class>/*.jpg`` or ``root/<split>/<class>/*.jpg`` where every sub-folder of root is
    a split name (train, val or validation, test); then the class sets are unioned and ``split`` is
    set. Image files are found by extension (jpg, jpeg, png, bmp, gif, tif, tiff, webp, any case),
    also in nested folders, and sorted; other files and hidden folders are ignored. A class folder
    without images is still a label.

    Args:
        path: the root folder.

    Returns:
        ImageSet with ``paths``, Y (n, L) uint8 one-hot, label names = sorted class folder names.
    """
    root = Path(path)
    if not root.is_dir():
        raise UserInputError(f"{root} is not a folder; expected a folder of class sub-folders.")
    subdirs = _subdirs(root)
    splits = _split_folders(root, subdirs)
    groups = splits or {None: root}
    classes = sorted({d.name for folder in groups.values() for d in _subdirs(folder)})
    if not classes:
        raise UserInputError(
            f"{root} has no class sub-folders; expected one sub-folder per class holding its "
            "images (root/cat/1.jpg, root/dog/2.jpg), optionally inside train/, val/, test/."
        )
    position = {name: k for k, name in enumerate(classes)}
    paths, labels, split = [], [], []
    for split_name, folder in groups.items():
        for class_dir in _subdirs(folder):
            files = sorted(
                (p for p in class_dir.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS),
                key=lambda p: p.relative_to(class_dir).as_posix(),
            )
            files = [p for p in files if p.is_file() and not _hidden(p.relative_to(class_dir))]
            paths += files
            labels += [position[class_dir.name]] * len(files)
            split += [split_name] * len(files)
    if not paths:
        raise UserInputError(
            f"no images found in the class folders of {root} ({', '.join(classes[:10])}); expected "
            f"files ending in {', '.join(IMAGE_EXTENSIONS)}."
        )
    Y = np.zeros((len(paths), len(classes)), dtype=np.uint8)  # (n, L) one-hot
    Y[np.arange(len(paths)), labels] = 1
    images = ImageSet(
        name=str(root),
        label_names=classes,
        Y=Y,
        paths=paths,
        split=np.array(split, dtype=str) if splits else None,
        source={"kind": "folder", "split_folders": bool(splits)},
    )
    check_files(images, root=root)
    return images


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_folders(root: Path, subdirs: list[Path]) -> dict[str, Path] | None:
    """{"train": root/train, ...} when every sub-folder is a split name; None when none is."""
    named = [d for d in subdirs if d.name.lower() in _SPLIT_ALIASES]
    if not named:
        return None
    others = [d.name for d in subdirs if d not in named]
    if others:
        raise UserInputError(
            f"{root} mixes split folders ({', '.join(d.name for d in named)}) with other folders "
            f"({', '.join(others[:10])}); expected either only class folders or only train/, val/ "
            "(or validation/) and test/ folders each holding class folders. Move the others."
        )
    splits: dict[str, Path] = {}
    for d in named:
        canonical = _SPLIT_ALIASES[d.name.lower()]
        if canonical in splits:
            raise UserInputError(
                f"{root} has two folders for the {canonical!r} split: {splits[canonical].name} "
                f"and {d.name}; keep one."
            )
        splits[canonical] = d
    return splits


# ----------------------------------------------------------------------------- manifests


def read_manifest(
    path: str | Path,
    *,
    path_column: str | None = None,
    label_column: str | None = None,
    labels: list[str] | None = None,
    delimiter: str | None = None,
    split_column: str | None = None,
    require_labels: bool = True,
    remembered: dict | None = None,
) -> ImageSet:
    """Read a CSV/TSV manifest: one row per image, a path column, labels and an optional split.

    Labels come either from one column of names separated by ``delimiter`` (``sea;sunset``, an empty
    cell is no label) or from one 0/1 column per label. With neither ``label_column`` nor ``labels``
    the remaining columns (all but the path and split columns) decide: exactly one holding text is the
    delimited column, otherwise all must be 0/1 columns; no remaining column means no labels (Y None).

    Args:
        path: a .csv or .tsv file, optionally gzipped (.csv.gz); tab separated when .tsv.
        path_column: column of image paths, relative to the manifest's folder or absolute; default
            the column named path, image, file, filename or filepath (any case).
        label_column: the column of delimited label names. With ``labels`` too, ``labels`` is the
            label vocabulary in Y's order and other names in the column are an error.
        labels: names of the 0/1 label columns, in Y's order (or the vocabulary, see above).
        delimiter: separator of names inside ``label_column``; default ";" (or the remembered one).
        split_column: column of train / val (or valid, validation) / test, any case; default the
            column named split (any case), if there is one.
        require_labels: when False, a manifest without the named label column(s) reads with Y None
            (prediction input, read with the training data's options).
        remembered: how another manifest was read (an ``ImageSet.source``, e.g. a model's training
            data): a fallback for the options not given here, each used only where it fits this
            file (its column is in the header; label columns only when every one is); a remembered
            ``split_column`` this file lacks is simply not used. See ``fill_remembered``.

    Returns:
        ImageSet with ``paths`` (absolute), Y (n, L) uint8 or None, ``split`` or None, and
        ``source`` holding the resolved options (labels = label names in Y's order).

    Raises:
        UserInputError: an empty manifest, unknown column, bad label or split value, missing files...
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"manifest not found: {path}. Check the path.")
    header, rows, where = _read_rows(path)
    col = _Columns(header, path)
    given = {"path_column": path_column, "label_column": label_column, "labels": labels,
             "delimiter": delimiter, "split_column": split_column}  # fmt: skip
    given = fill_remembered(given, remembered, header)
    path_column = col.find_path_column(given["path_column"])
    split_column = col.find_split_column(given["split_column"])
    label_column, labels = given["label_column"], given["labels"]
    delimiter = ";" if given["delimiter"] is None else given["delimiter"]
    free = [c for c in header if c not in (path_column, split_column)]
    if label_column is None and labels is None:
        label_column, labels = _guess_labels(free, rows, col)
    if label_column is not None:
        Y, names = _delimited(rows, col, label_column, labels, delimiter, require_labels, where)
    else:
        Y, names = _binary(rows, col, labels, require_labels, where)
    base = path.resolve().parent
    paths = [_image_path(row[col.index(path_column)], base, where(i)) for i, row in enumerate(rows)]
    split = None
    if split_column is not None:
        split = np.array([_split_value(r[col.index(split_column)], where(i), split_column)
                          for i, r in enumerate(rows)], dtype=str)  # fmt: skip
    source = {
        "kind": "manifest",
        "path_column": path_column,
        "label_column": label_column,
        "labels": list(names),
        "delimiter": delimiter,
        "split_column": split_column,
    }
    images = ImageSet(str(path), list(names), Y, paths=paths, split=split, source=source)
    check_files(images, root=base)
    return images


def fill_remembered(given: dict, remembered: dict | None, header: list[str]) -> dict:
    """The manifest options ``given`` (None = not given), with the gaps filled from ``remembered``
    where they fit a file with columns ``header``.

    A given option always wins (and is checked later, so one that does not fit is an error). A
    remembered path or split column is used only when the header has it; the remembered labels only
    when no label option is given and the header has their column (the delimited label column, with
    its label names as the vocabulary and its delimiter) or every one of their 0/1 columns.
    Anything but a remembered manifest is ignored.

    Args:
        given: path_column, label_column, labels, delimiter and split_column as passed.
        remembered: an ``ImageSet.source`` ({"kind": "manifest", ...}), or None.
        header: the new file's column names.

    Returns:
        A new dict with the same keys.
    """
    out = dict(given)
    if not remembered or remembered.get("kind") != "manifest":
        return out
    columns = set(header)
    for key in ("path_column", "split_column"):
        if out[key] is None and remembered.get(key) in columns:
            out[key] = remembered[key]
    if out["label_column"] is None and out["labels"] is None:
        column, names = remembered.get("label_column"), remembered.get("labels")
        if column is not None and column in columns:
            out["label_column"], out["labels"] = column, list(names) if names else None
            if out["delimiter"] is None:
                out["delimiter"] = remembered.get("delimiter")
        elif column is None and names and columns.issuperset(names):
            out["labels"] = list(names)
    return out


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], object]:
    """(header, data rows with one stripped cell per column, where(i) -> "data row 3 (line 4) of m.csv")."""
    text, notes = read_text(path)  # gunzips; says what is wrong with an empty or binary file
    rows, lines = read_rows(text, path, sniff_delimiter(text, path, notes))
    rows = [[cell.strip() for cell in row] for row in rows]
    header, rows, lines = rows[0], rows[1:], lines[1:]
    if not rows:
        raise UserInputError(
            f"{path} has a header but no data rows; expected one row per image after the header."
        )
    check_row_lengths(len(header), rows, lines, path)
    return header, rows, lambda i: f"data row {i + 1} (line {lines[i]}) of {path}"


class _Columns:
    """A manifest's header: look-ups by name with errors that list the columns."""

    def __init__(self, header: list[str], path: Path) -> None:
        check_header(header, path)
        self.header, self.path = header, path
        self._position = {name: i for i, name in enumerate(header)}

    def index(self, name: str) -> int:
        return self._position[name]

    def require(self, name: str, option: str) -> None:
        if name not in self._position:
            close = [c for c in self.header if c.lower() == name.lower()]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UserInputError(
                f"{option}={name!r} is not a column of {self.path}; columns: "
                f"{', '.join(self.header)}.{hint}"
            )

    def find_path_column(self, name: str | None) -> str:
        if name is not None:
            self.require(name, "path_column")
            return name
        found = [c for c in self.header if c.lower() in PATH_COLUMNS]
        if len(found) != 1:
            what = "no column" if not found else f"{len(found)} columns ({', '.join(found)})"
            raise UserInputError(
                f"which column of {self.path} holds the image paths? Found {what} named "
                f"{', '.join(PATH_COLUMNS)}; columns: {', '.join(self.header)}. Name it 'path' "
                "or pass path_column=NAME (--path-column)."
            )
        return found[0]

    def find_split_column(self, name: str | None) -> str | None:
        if name is not None:
            self.require(name, "split_column")
            return name
        return next((c for c in self.header if c.lower() == "split"), None)


def _guess_labels(free: list[str], rows, col: _Columns) -> tuple[str | None, list[str] | None]:
    """(label_column, None) for one text column, else (None, the 0/1 columns) or (None, None)."""
    if not free:
        return None, None
    text = [c for c in free if any(_is_text(row[col.index(c)]) for row in rows)]
    if len(text) == 1:
        return text[0], None
    return None, free


def _delimited(rows, col, label_column, labels, delimiter, require_labels, where):
    """One column of delimited names -> (Y (n, L) uint8 or None, label names)."""
    if label_column not in col.header and not require_labels:
        return None, list(labels or [])
    col.require(label_column, "label_column")
    j = col.index(label_column)
    vocabulary = _check_names(labels, "labels") if labels is not None else None
    cells = [row[j] for row in rows]
    return parse_delimited_labels(
        cells, delimiter, column=label_column, path=col.path, where=where, vocabulary=vocabulary
    )


def _binary(rows, col, labels, require_labels, where):
    """One 0/1 column per label -> (Y (n, L) uint8 or None, label names)."""
    if labels is None:
        return None, []
    names = _check_names(labels, "labels")
    missing = [name for name in names if name not in col.header]
    if missing and len(missing) == len(names) and not require_labels:
        return None, names
    for name in missing:
        col.require(name, "labels")
    cells = np.array([[row[col.index(name)] for name in names] for row in rows], dtype=str)
    return parse_binary_labels(cells, names, where), names


def _check_names(names, option: str) -> list[str]:
    names = [str(name) for name in names]
    if not names:
        raise UserInputError(f"{option} is empty; expected at least one label name.")
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise UserInputError(
            f"{option} names a label twice: {', '.join(map(repr, repeated))}; name each once."
        )
    check_case_clash(names, option)
    return names


def _is_text(cell: str) -> bool:
    return bool(cell) and not is_number(cell)


def _image_path(cell: str, base: Path, where: str) -> Path:
    if not cell:
        raise UserInputError(f"the image path is empty at {where}; every row needs an image file.")
    path = Path(cell).expanduser()
    return path if path.is_absolute() else base / path


def _split_value(cell: str, where: str, column: str) -> str:
    value = _SPLIT_ALIASES.get(cell.lower())
    if value is None:
        shown = "an empty cell" if not cell else repr(cell)
        raise UserInputError(
            f"split column {column!r} holds {shown} at {where}; expected train, val (or valid, "
            "validation) or test."
        )
    return value
