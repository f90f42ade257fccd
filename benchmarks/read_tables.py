"""Read each MULAN set (train and test) from ARFF + XML and from CSV.gz, and print what came out.

    python benchmarks/read_tables.py [--data ../shared/data] [--sets yeast,delicious] [--format arff,csv]

Per file: rows, features (numeric / categorical / dropped as identifiers by the recipe), encoded input columns,
labels, feature density (non-zero cells), sparse or dense storage, read time and peak memory of the reading
(tracemalloc: Python and NumPy allocations; scipy's too), beside the bytes a dense float64 copy of X would take.
Each file is read in a fresh subprocess so that peaks do not mix. Never imported by the package or the tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _tables import MULAN_SETS as SETS  # benchmarks/_tables.py

ARFF_NAME = {"tmc2007_500": "tmc2007-500"}

ONE = r"""
import json, sys, time, tracemalloc
import numpy as np
from brainnet.core.data.labels import LabelSpec
from brainnet.core.data.table import read_table
from brainnet.core.data.encoding import TableEncoder
path, xml, n_labels = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = LabelSpec(xml=xml) if path.endswith(".arff") else LabelSpec(label_columns=n_labels)
tracemalloc.start()
t = time.perf_counter()
data = read_table(path, spec)
seconds = time.perf_counter() - t
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
X = data.X
n, d = X.shape
nnz = X.nnz if data.is_sparse else int(np.count_nonzero(np.nan_to_num(X, nan=1.0)))
encoder, _ = TableEncoder.fit(data)
print(json.dumps({
    "rows": n, "features": d, "categorical": len(data.levels), "dropped": len(encoder.dropped),
    "encoded": encoder.n_encoded, "labels": data.Y.shape[1], "density": nnz / (n * d),
    "storage": "sparse" if data.is_sparse else "dense", "seconds": seconds, "peak_mb": peak / 2**20,
    "dense_mb": n * d * 8 / 2**20,
}))
"""


def read_one(path: Path, xml: Path, n_labels: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", ONE, str(path), str(xml), str(n_labels)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[1] / ".." / "shared" / "data"))
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--format", default="arff,csv")
    args = parser.parse_args()
    root = Path(args.data)
    print(
        "| set | file | rows | features: numeric / categorical / dropped | encoded | labels | density "
        "| storage | read s | peak MB | dense X MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        meta = json.loads((root / name / "meta.json").read_text())
        stem = ARFF_NAME.get(name, name)
        xml = root / name / f"{stem}.xml"
        for fmt in args.format.split(","):
            for split in ("train", "test"):
                if fmt == "arff":
                    path = root / name / f"{stem}-{split}.arff"
                else:
                    path = next(p for p in (root / name).glob(f"{split}.csv*"))
                r = read_one(path, xml, int(meta["n_labels"]))
                numeric = r["features"] - r["categorical"]
                print(
                    f"| {name} | {path.name} | {r['rows']:,} | {numeric} / {r['categorical']} / "
                    f"{r['dropped']} | {r['encoded']:,} | {r['labels']} | {r['density']:.3f} | "
                    f"{r['storage']} | {r['seconds']:.2f} | {r['peak_mb']:.1f} | {r['dense_mb']:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
