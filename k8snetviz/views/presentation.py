"""Presentation mode for live coding (``k8snetviz.present()``): larger text and diagrams, solutions shown.

The mode is one per kernel. Its notebook display is a ``<style>`` element (``static/present.css``) that
enlarges JupyterLab's text through the theme's font variables, and a one-line note saying what is on.
The course reads :data:`MODE` to show task solutions without the *Show solution* click.

>>> mode = Presentation(on=True, scale=1.5, solutions=True)
>>> print(mode)
presentation mode on: text and diagrams 1.5×, task solutions shown; k8snetviz.present(False) turns it off
>>> "--knv-present-scale: 1.5" in mode._repr_mimebundle_()["text/html"]
True
>>> Presentation().text()
'presentation mode off'
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from k8snetviz.errors import UsageError

__all__ = ["Presentation", "MODE", "DISPLAY_ID", "set_mode"]

_CSS = Path(__file__).parent / "static" / "present.css"
# Every display of the mode carries this id, so turning it off replaces the earlier style element too.
DISPLAY_ID = "k8snetviz-present"


@dataclass
class Presentation:
    """Whether presentation mode is on, how much larger text and diagrams are, and whether solutions show."""

    on: bool = False
    scale: float = 1.0
    solutions: bool = False

    def text(self) -> str:
        if not self.on:
            return "presentation mode off"
        parts = [f"text and diagrams {self.scale:g}×" if self.scale != 1 else "text at its usual size"]
        parts.append("task solutions shown" if self.solutions else "solutions hidden")
        return f"presentation mode on: {', '.join(parts)}; k8snetviz.present(False) turns it off"

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        note = f'<p class="knv-present-note"><small>{escape(self.text())}</small></p>'
        style = ""
        if self.on and self.scale != 1:
            style = (f"<style>:root {{ --knv-present-scale: {self.scale:g}; }}\n"
                     f"{_CSS.read_text(encoding='utf-8')}</style>")
        return {"text/plain": self.text(), "text/html": style + note}


# The kernel's mode; k8snetviz.present() changes it in place, so every module sees the same object.
MODE = Presentation()


def set_mode(on: bool, scale: float, solutions: bool) -> Presentation:
    """Switch the mode (in place) and return it. ``scale`` from 1 (usual size) to 3."""
    if not 1 <= scale <= 3:
        raise UsageError(f"present: scale must be between 1 and 3, not {scale:g}")
    MODE.on, MODE.scale, MODE.solutions = on, (scale if on else 1.0), (solutions if on else False)
    return MODE
