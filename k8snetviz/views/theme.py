"""The notebook outputs' style sheet (``static/theme.css``): JupyterLab's theme colours, light and dark.

Every rich HTML output of the package is wrapped in an element of class ``knv`` and carries this sheet in a
``<style>`` element, so it reads in the light and the dark theme and in front ends without JupyterLab's
variables (the sheet has fallbacks). The widgets load the same file as their anywidget CSS.

>>> html = themed("<p>hi</p>")
>>> html.startswith("<style>") and '<div class="knv">' in html
True
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["STYLESHEET", "css", "style", "themed", "error_html"]

STYLESHEET = Path(__file__).parent / "static" / "theme.css"


@cache
def css() -> str:
    """The style sheet's text."""
    return STYLESHEET.read_text(encoding="utf-8")


def style() -> str:
    """The sheet as a ``<style>`` element."""
    return f"<style>{css()}</style>"


def themed(html: str, classes: str = "") -> str:
    """``html`` inside ``<div class="knv …">``, after the style sheet."""
    extra = f" {classes}" if classes else ""
    return f'{style()}<div class="knv{extra}">{html}</div>'


def error_html(message: str) -> str:
    """A widget's error line: a mark, the word and the message, in the theme's error colour."""
    from html import escape

    return themed(f'<p class="knv-verdict knv-bad"><b>Error:</b> {escape(message)}</p>')
