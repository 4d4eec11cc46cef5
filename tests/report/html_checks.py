"""What a number on the night report must look like, given summary.json (shared by the HTML
tests and the browser tests)."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from typing import Any

from lmdetect.summary.night import format_metric, metric_value

__all__ = ["summary_value", "expected_text", "DataKeyParser", "parse_report"]


def summary_value(summary: dict[str, Any], key: str) -> Any:
    return metric_value(summary, key)


def expected_text(value: Any, fmt: str, decimals: int | None, summary: dict[str, Any]) -> str:
    """The text the report must show for ``value`` in display format ``fmt``."""
    if value is None:
        return "n/a"
    if fmt == "clock":
        start = dt.datetime.fromisoformat(summary["recording_start"])
        return (start + dt.timedelta(seconds=float(value))).strftime("%H:%M")
    if fmt == "percent":
        return f"{100.0 * float(value):.{decimals or 0}f} %"
    return format_metric(value, decimals)


class DataKeyParser(HTMLParser):
    """Collects the [data-key] spans, images, scripts, links and external references of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: list[dict[str, Any]] = []
        self.images: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if "id" in a:
            self.ids.add(a["id"])
        for k in ("src", "href", "action", "poster"):
            if k in a:
                self.urls.append(a[k])
        if tag == "img":
            self.images.append(a)
        if "data-key" in a:
            self._open = {"key": a["data-key"], "value": a["data-value"],
                          "format": a.get("data-format", "number"),
                          "decimals": int(a["data-decimals"]) if "data-decimals" in a else None, "text": ""}

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self.values.append(self._open)
            self._open = None


def parse_report(html: str) -> DataKeyParser:
    p = DataKeyParser()
    p.feed(html)
    p.close()
    for v in p.values:
        v["parsed"] = json.loads(v["value"])
    return p
