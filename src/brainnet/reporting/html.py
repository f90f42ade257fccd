"""The report page: one self-contained HTML file (inline CSS, PNG images as base64 data URLs, no scripts, nothing
fetched from anywhere)."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
nav ol { columns: 2; font-size: 0.95em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; height: auto; display: block; margin: 0.6em 0; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.4em 0.8em; margin: 0.6em 0; }
.dim { color: #777; font-size: 0.9em; }
.scroll { max-height: 28em; overflow-y: auto; display: inline-block; }
"""


@dataclass
class Section:
    """One part of the report: an id (the page anchor, also what the browser test looks for), a title, and
    its HTML body built with the helpers below."""

    id: str
    title: str
    parts: list[str] = field(default_factory=list)

    def text(self, words: str) -> Section:
        self.parts.append(f"<p>{escape(words)}</p>")
        return self

    def note(self, words: str) -> Section:
        self.parts.append(f'<p class="note">{escape(words)}</p>')
        return self

    def image(self, png: bytes, alt: str) -> Section:
        data = base64.b64encode(png).decode("ascii")
        self.parts.append(f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">')
        return self

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[object]], *, scroll: bool = False
    ) -> Section:
        head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(cell_text(c))}</td>" for c in row) + "</tr>"
            for row in rows
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        self.parts.append(f'<div class="scroll">{table}</div>' if scroll else table)
        return self


def cell_text(value: object) -> str:
    """A table cell: floats with 4 decimals ("n/a" for NaN), None empty, anything else as str."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole HTML document: a title, a table of contents, the sections in order."""
    toc = "".join(f'<li><a href="#{s.id}">{escape(s.title)}</a></li>' for s in sections)
    body = "".join(
        f'<section id="{s.id}"><h2>{escape(s.title)}</h2>{"".join(s.parts)}</section>'
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="dim">{escape(subtitle)}</p>'
        f"<nav><ol>{toc}</ol></nav>{body}</body></html>\n"
    )
