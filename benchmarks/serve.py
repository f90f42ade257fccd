"""``brainnet serve`` on loopback: load, a 200 MB body, the bad-request set, memory; and the page's screenshot.

Run it from the repository root (or ``make bench-serve``):

    .venv/bin/python benchmarks/serve.py [--quick] [--requests 1000] [--concurrency 16]
        [--table-model DIR] [--image-model DIR] [--screenshot docs/serve.png] [--markdown out.md]

1. Models. Unless given, two are trained first (seeded, into a temporary folder): a table model, ``MultiLabelMLP``
   with the defaults of ``brainnet train yeast`` (10 cross-fitted networks; 1 with --quick) on yeast's train split,
   and an image model, the seed CNN on 600 ``make_shapes`` images at their native 48 px, <= 12 epochs, 1 network
   (quality is beside the point here: the server's work per request is).
2. Each model is served by a real process, ``brainnet serve DIR --port 0 --no-access-log`` (default limits:
   16 MB bodies, 1 inference at a time, 64 waiting), on 127.0.0.1.
3. Load: ``--requests`` POST /predict at ``--concurrency`` at once from one asyncio httpx client in this process
   (tables: one yeast test row per request as JSON; images: one 48 px PNG per request, multipart). Reported:
   errors (anything but 200, or a transport error), 5xx, p50/p99 latency from send to full reply, requests/s
   over the whole run, and the server's resident memory (VmRSS) after start-up (the model loaded and warmed
   up), after the load, and at the end (after the big bodies and the bad requests).
4. 200 MB bodies, from a raw socket so the reply is read while the body is still being sent: (a) with
   ``Content-Length: 209715200``, (b) chunked (no length: the server counts while it reads). Reported: the time
   from the first byte sent to the 413 status line, how many bytes had been sent by then, and /health latency
   (p50 and max) polled back to back from another connection while the body was being sent.
5. The bad-request set of each model (the classes the tests cover), one request each: status and error.
   Target: 0 errors and 0 5xx in the load, 0 5xx in the bad-request set.
6. ``--screenshot FILE``: the page in headless Chromium (Debian's), two shapes uploaded, saved as PNG.

The client shares the machine with the server (2 cores here): the latencies include the client's own CPU time.
This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from _tables import (  # benchmarks/_tables.py
    TableSpec,
    header_lines,
    run_header,
    to_markdown,
    to_rich,
)
from PIL import Image
from rich.console import Console

BIG = 200 * 1024 * 1024
console = Console(highlight=False, width=200)


# ---------------------------------------------------------------------- models and servers
def train_models(out: Path, quick: bool) -> tuple[Path, Path]:
    from brainnet import MultiLabelImageClassifier, MultiLabelMLP
    from brainnet.core.data.builtin_images import make_shapes
    from brainnet.core.data.builtin_tables import load_builtin

    table = MultiLabelMLP(seed=0, **({"n_models": 1} if quick else {}))
    table.fit(load_builtin("yeast", "train")).save(out / "yeast")
    images = MultiLabelImageClassifier(n_models=1, image_size=48, epochs=12, patience=4, seed=0)
    images.fit(make_shapes(600, size=48, seed=0)).save(out / "shapes")
    return out / "yeast", out / "shapes"


class Server:
    """``brainnet serve DIR --port 0 --no-access-log`` in a subprocess."""

    def __init__(self, model_dir: Path) -> None:
        cmd = [sys.executable, "-m", "brainnet.cli.main", "serve", str(model_dir), "--port", "0"]
        self.proc = subprocess.Popen(
            [*cmd, "--no-access-log"],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        for line in self.proc.stderr:
            if "serving" in line:
                self.url = line.split(" on ")[1].split()[0].rstrip("/")
                break
        else:
            raise SystemExit("the server did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # keep the pipe drained
        with httpx.Client(base_url=self.url, timeout=120) as client:
            client.get("/health").raise_for_status()  # uvicorn is up
        self.host, self.port = self.url.split("//")[1].split(":")
        self.port = int(self.port)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------------- 3. load
async def _load(url: str, requests: list[dict], concurrency: int) -> tuple[list, list, float]:
    statuses, latencies = [], []
    limit = asyncio.Semaphore(concurrency)
    pool = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=pool) as client:

        async def one(kwargs: dict) -> None:
            async with limit:
                start = time.perf_counter()
                try:
                    reply = await client.post("/predict", **kwargs)
                    statuses.append(reply.status_code)
                except httpx.HTTPError as e:
                    statuses.append(type(e).__name__)
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(one(kwargs) for kwargs in requests))
        wall = time.perf_counter() - start
    return statuses, latencies, wall


def load_row(name: str, server: Server, requests: list[dict], concurrency: int) -> list[str]:
    asyncio.run(_load(server.url, requests[: 2 * concurrency], concurrency))  # connections, caches
    rss_before = server.rss_mb()
    statuses, latencies, wall = asyncio.run(_load(server.url, requests, concurrency))
    rss_after = server.rss_mb()
    errors = sum(s != 200 for s in statuses)
    fivexx = sum(isinstance(s, int) and s >= 500 for s in statuses)
    ms = sorted(1000 * t for t in latencies)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    return [
        name,
        str(len(statuses)),
        str(errors),
        str(fivexx),
        f"{statistics.median(ms):.1f}",
        f"{p99:.1f}",
        f"{len(statuses) / wall:.0f}",
        f"{rss_before:.0f} → {rss_after:.0f}",
    ]


def table_requests(n: int) -> list[dict]:
    from brainnet.core.data.builtin_tables import load_builtin

    test = load_builtin("yeast", "test")
    rows = [dict(zip(test.feature_names, x.tolist(), strict=True)) for x in test.X]
    return [{"json": {"rows": [rows[i % len(rows)]]}} for i in range(n)]


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def image_requests(n: int) -> list[dict]:
    from brainnet.core.data.builtin_images import make_shapes

    pngs = [png(a) for a in make_shapes(100, size=48, seed=1).arrays]
    return [{"files": {"file": (f"{i}.png", pngs[i % 100], "image/png")}} for i in range(n)]


# ---------------------------------------------------------------------- 4. a 200 MB body
def big_body(server: Server, chunked: bool) -> list[str]:
    """Send 200 MB from a raw socket while reading; /health is polled from another connection meanwhile."""
    health, done = [], threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not done.is_set():
                start = time.perf_counter()
                client.get("/health").raise_for_status()
                health.append(1000 * (time.perf_counter() - start))

    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG}"
    head = (
        f"POST /predict HTTP/1.1\r\nHost: {server.host}\r\nContent-Type: application/json\r\n"
        f"{length}\r\n\r\n"
    ).encode()
    chunk = b"7" * (1 << 20)
    piece = (b"100000\r\n" + chunk + b"\r\n") if chunked else chunk
    sent = [0]
    sock = socket.create_connection((server.host, server.port))

    def send() -> None:
        try:
            sock.sendall(head)
            while sent[0] < BIG and not done.is_set():
                sock.sendall(piece)
                sent[0] += len(chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: expected after the 413

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)  # the poller is running before the body starts
    start = time.perf_counter()
    sender = threading.Thread(target=send)
    sender.start()
    try:
        status_line = sock.makefile("rb").readline().decode().strip()
    except OSError as e:
        status_line = f"no reply ({e})"
    elapsed = time.perf_counter() - start
    at_reply = sent[0]
    time.sleep(0.3)  # /health keeps being polled just after the reply too
    done.set()
    sender.join()
    poller.join()
    sock.close()
    return [
        "chunked" if chunked else "Content-Length: 209715200",
        status_line.split(" ", 1)[1] if " " in status_line else status_line,
        f"{1000 * elapsed:.0f}",
        f"{at_reply / 1024 / 1024:.0f}",
        str(len(health)),
        f"{statistics.median(health):.1f}" if health else "-",
        f"{max(health):.1f}" if health else "-",
    ]


# ---------------------------------------------------------------------- 5. bad requests
def bad_requests(kind: str, features: list[str]) -> list[tuple[str, str, str, dict]]:
    """(case, method, path, httpx keyword arguments) for one model kind."""
    J = {"content-type": "application/json"}
    common = [
        ("unknown path", "GET", "/nope", {}),
        ("wrong method", "GET", "/predict", {}),
        (
            "empty body",
            "POST",
            "/predict",
            {"content": b"", "headers": J if kind == "table" else {"content-type": "image/png"}},
        ),
    ]
    if kind == "table":
        row = dict.fromkeys(features, 0.5)
        cases = [
            ("not JSON", {"content": b'{"rows": [', "headers": J}),
            ("NaN", {"content": b'{"rows": [{"a": NaN}]}', "headers": J}),
            ("Infinity", {"content": b'{"rows": [{"a": -Infinity}]}', "headers": J}),
            ("nested junk", {"content": b"[" * 100_000 + b"]" * 100_000, "headers": J}),
            ("not UTF-8", {"content": b"\xff\xfe", "headers": J}),
            ("no 'rows'", {"json": {"data": []}}),
            ("rows not an array", {"json": {"rows": "x"}}),
            ("no rows", {"json": {"rows": []}}),
            ("a string feature", {"json": {"rows": [{**row, features[0]: "1"}]}}),
            ("a boolean feature", {"json": {"rows": [{**row, features[0]: True}]}}),
            ("a nested feature", {"json": {"rows": [{**row, features[0]: [[1]]}]}}),
            (
                "a huge number",
                {
                    "content": json.dumps({"rows": [row]}).replace("0.5", "1e999", 1).encode(),
                    "headers": J,
                },
            ),
            (
                "missing feature",
                {"json": {"rows": [{k: v for k, v in row.items() if k != features[1]}]}},
            ),
            ("extra feature", {"json": {"rows": [{**row, "zzz": 1}]}}),
            ("a row that is a list", {"json": {"rows": [[0.5] * len(features)]}}),
            ("huge array (100k rows)", {"json": {"rows": [0] * 100_000}}),
            ("wrong content type", {"content": b"{}", "headers": {"content-type": "text/csv"}}),
        ]
    else:
        bomb = io.BytesIO()
        Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # 100 Mpx in a few kB
        good = png(np.full((48, 48, 3), 200, dtype=np.uint8))
        cases = [
            ("not an image", {"files": {"f": ("a.png", b"hello", "image/png")}}),
            ("truncated PNG", {"files": {"f": ("a.png", good[:60], "image/png")}}),
            (
                "decompression bomb (100 Mpx)",
                {"files": {"f": ("b.png", bomb.getvalue(), "image/png")}},
            ),
            ("empty file", {"files": {"f": ("e.png", b"", "image/png")}}),
            ("text field only", {"files": {"note": (None, "hi")}}),
            (
                "text field + image",
                {"data": {"note": "hi"}, "files": {"f": ("a.png", good, "image/png")}},
            ),
            ("17 files", {"files": [("f", (f"{i}.png", good, "image/png")) for i in range(17)]}),
            ("no boundary", {"content": b"xx", "headers": {"content-type": "multipart/form-data"}}),
            ("JSON to an image model", {"json": {"rows": []}}),
            (
                "raw body not an image",
                {"content": b"junk", "headers": {"content-type": "image/jpeg"}},
            ),
        ]
    return common + [(name, "POST", "/predict", kwargs) for name, kwargs in cases]


def bad_rows(kind: str, server: Server, features: list[str]) -> list[list[str]]:
    rows = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for name, method, path, kwargs in bad_requests(kind, features):
            reply = client.request(method, path, **kwargs)
            body = reply.json()
            rows.append(
                [name, str(reply.status_code), body.get("error", "?"), body.get("detail", "")[:110]]
            )
    return rows


# ---------------------------------------------------------------------- 6. screenshot
def screenshot(server: Server, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from brainnet.core.data.builtin_images import make_shapes

    chromium = shutil.which("chromium")
    if chromium is None:
        console.print("no chromium: screenshot skipped")
        return
    images = make_shapes(8, size=48, seed=3)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        files = []
        for i in (1, 4):
            f = Path(tmp) / f"shapes_{i}.png"
            f.write_bytes(png(images.arrays[i]))
            files.append(str(f))
        args = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ]
        browser = p.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 860, "height": 600}, device_scale_factor=1)
        page.goto(server.url + "/")
        page.wait_for_selector("#images-panel:not([hidden])")
        page.set_input_files("#files", files)
        page.wait_for_selector(".result .bar")
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        browser.close()
    console.print(f"wrote {path}")


# ---------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--table-model", type=Path, help="serve this model instead of training one")
    parser.add_argument("--image-model", type=Path, help="serve this model instead of training one")
    parser.add_argument(
        "--models-dir",
        type=Path,
        help="train the models into this folder once; later runs reuse them",
    )
    parser.add_argument("--quick", action="store_true", help="1 table network, 200 requests")
    parser.add_argument("--screenshot", type=Path, help="save the page with two uploads here")
    parser.add_argument("--markdown", type=Path, help="also write the tables as markdown")
    args = parser.parse_args()
    n = 200 if args.quick and args.requests == 1000 else args.requests

    import fastapi
    import uvicorn

    import brainnet

    info = run_header(
        {
            "brainnet": brainnet.__version__,
            "fastapi": fastapi.__version__,
            "uvicorn": uvicorn.__version__,
        },
        "server: torch default; client: 1 asyncio thread",
    )
    info["load_average"] = "{:.1f} {:.1f} {:.1f}".format(
        *os.getloadavg()
    )  # other work on the machine
    for line in [
        *header_lines(info),
        f"load average at start (1, 5, 15 min): {info['load_average']}",
    ]:
        console.print(line)
    tmp = tempfile.TemporaryDirectory()
    table_dir, image_dir = args.table_model, args.image_model
    folder = args.models_dir or Path(tmp.name)
    if args.models_dir and (folder / "yeast").is_dir() and (folder / "shapes").is_dir():
        table_dir, image_dir = table_dir or folder / "yeast", image_dir or folder / "shapes"
    if table_dir is None or image_dir is None:
        start = time.perf_counter()
        trained = train_models(folder, args.quick)
        table_dir, image_dir = table_dir or trained[0], image_dir or trained[1]
        console.print(f"trained the models in {time.perf_counter() - start:.0f} s")

    load = TableSpec(
        f"{n} requests, concurrency {args.concurrency}, one item per request",
        [
            "model",
            "requests",
            "errors",
            "5xx",
            "p50 ms",
            "p99 ms",
            "requests/s",
            "server RSS MB before → after",
        ],
    )
    bigs = TableSpec(
        "200 MB request bodies (table model server, 16 MB limit)",
        [
            "body",
            "reply",
            "ms to the reply",
            "MB sent by then",
            "/health polls",
            "/health p50 ms",
            "/health max ms",
        ],
    )
    bad = TableSpec("the bad-request set", ["model: case", "status", "error", "detail (start)"])
    finals = []
    for kind, model_dir, requests in (
        ("table", table_dir, table_requests(n)),
        ("images", image_dir, image_requests(n)),
    ):
        server = Server(model_dir)
        try:
            meta = httpx.get(server.url + "/model").json()
            name = f"{kind}: {meta['model_kind']}, {meta['n_models']} network(s), {len(meta['labels'])} labels"
            load.rows.append(load_row(name, server, requests, args.concurrency))
            if kind == "table":
                bigs.rows += [big_body(server, chunked=False), big_body(server, chunked=True)]
            features = meta["inputs"].get("features", [])
            bad.rows += [[f"{kind}: {r[0]}", *r[1:]] for r in bad_rows(kind, server, features)]
            finals.append(f"{kind} server RSS at the end: {server.rss_mb():.0f} MB")
            if kind == "images" and args.screenshot:
                screenshot(server, args.screenshot)
        finally:
            server.stop()
    fivexx = sum(int(r[1]) >= 500 for r in bad.rows)
    bad.notes.append(f"{len(bad.rows)} requests, {fivexx} answered 5xx")
    load.notes += finals
    load.notes.append(
        "load average at start / end (1, 5, 15 min): {} / {:.1f} {:.1f} {:.1f}".format(
            info["load_average"], *os.getloadavg()
        )
    )
    for spec in (load, bigs, bad):
        console.print(to_rich(spec))
        for note in spec.notes:
            console.print(f"  {note}")
    if args.markdown:
        text = (
            "\n".join(header_lines(info))
            + "\n\n"
            + "\n\n".join(map(to_markdown, (load, bigs, bad)))
        )
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    tmp.cleanup()


if __name__ == "__main__":
    main()
