"""The jinja2 environment shared by the night and multi-night reports."""

from __future__ import annotations

import functools

import jinja2

__all__ = ["environment"]


@functools.cache
def environment() -> jinja2.Environment:
    """Templates of lmdetect/report/templates, autoescaped; undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("lmdetect.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
