"""Tables shared by the benchmark scripts: plain strings, rendered by rich and as GitHub markdown."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table

# the nine MULAN sets in ../shared/data, in the issue's order (folder names; tmc2007_500's files say tmc2007-500)
MULAN_SETS = (
    "yeast",
    "scene",
    "enron",
    "medical",
    "genbase",
    "flags",
    "tmc2007_500",
    "bibtex",
    "delicious",
)


def comma_list(allowed: Sequence[str], what: str) -> Callable[[str], list[str]]:
    """An argparse ``type``: "a,b" -> ["a", "b"], each one of ``allowed`` (duplicates dropped, order kept)."""

    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in allowed]
        if not items or unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {unknown or text!r}; choose from: {', '.join(allowed)}"
            )
        return list(dict.fromkeys(items))

    return parse


@dataclass
class TableSpec:
    """A table as plain strings, rendered both by rich and as GitHub markdown."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def to_rich(spec: TableSpec, status_column: int = -1) -> Table:
    """A rich table; rows whose ``status_column`` says PASS or FAIL are coloured."""
    table = Table(title=spec.title, title_justify="left")
    for k, header in enumerate(spec.headers):
        table.add_column(header, justify="left" if k == 0 else "right")
    for row in spec.rows:
        style = {"PASS": "green", "FAIL": "bold red"}.get(row[status_column])
        table.add_row(*row, style=style)
    return table


def to_markdown(spec: TableSpec) -> str:
    aligns = [":---" if k == 0 else "---:" for k in range(len(spec.headers))]
    lines = [f"### {spec.title}"]
    if spec.rows:
        lines += ["", *("| " + " | ".join(c) + " |" for c in (spec.headers, aligns, *spec.rows))]
    if spec.notes:
        lines += ["", *(f"- {note}" for note in spec.notes)]
    return "\n".join(lines)


def run_header(versions: dict[str, str], threads: str) -> dict[str, Any]:
    """The command line, date, versions, machine and threads of a run: printed on top, saved with results."""
    return {
        "command": shlex.join(sys.orig_argv),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": {**versions, "python": platform.python_version()},
        "machine": f"{platform.platform()} ({platform.processor() or platform.machine()})",
        "cpu_count": os.cpu_count(),
        "threads": threads,
    }


def header_lines(info: dict[str, Any]) -> list[str]:
    """``run_header`` as the lines every benchmark prints first."""
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return [
        f"command: {info['command']}",
        f"date: {info['date']}",
        f"versions: {versions}",
        f"machine: {info['machine']}; {info['cpu_count']} CPUs",
        f"threads: {info['threads']}",
    ]


def print_and_write(text: str, path: Path | None) -> None:
    """Print a markdown result and, with ``path``, write it there (atomically) under the command that made it."""
    print(text)
    if path:
        from brainnet.core.files import atomic_write_text

        atomic_write_text(path, f"```\n{' '.join(sys.argv)}\n```\n\n{text}\n", force=True)
