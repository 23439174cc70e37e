"""The terminal widget: a transcript of commands and their output, and a line to type the next one.

The front end (``static/terminal.js``) keeps the typed history (↑/↓) and sends each line to the kernel;
``handler(line)`` answers with the output and the next prompt. What answers is up to the caller: the
course's :class:`~k8snetviz.course.shell.Session` drives it in the notebooks.

>>> t = TerminalView(lambda line: (f"you typed {line}", "$"), prompt="$")
>>> t.submit("ls")
>>> t.transcript[-1]["output"]
'you typed ls'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

__all__ = ["TerminalView", "Handler"]

_STATIC = Path(__file__).parent / "static"

# A line typed → (what it printed, the prompt for the next line).
Handler = Callable[[str], tuple[str, str]]


class TerminalView(anywidget.AnyWidget):
    """A terminal in a notebook cell; ``submit(line)`` is what pressing Enter does."""

    _esm = _STATIC / "terminal.js"
    _css = _STATIC / "terminal.css"

    prompt = traitlets.Unicode("$").tag(sync=True)
    transcript = traitlets.List(traitlets.Dict()).tag(sync=True)  # [{prompt, command, output}]
    height = traitlets.Unicode("22em").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, handler: Handler, *, prompt: str = "$", title: str = "", height: str = "22em",
                 **kwargs: Any) -> None:
        super().__init__(prompt=prompt, title=title, height=height, **kwargs)
        self._handler = handler
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "run":
            self.submit(str(content.get("line", "")))

    def submit(self, line: str) -> None:
        """Run ``line`` and add it, with its output, to the transcript."""
        prompt = self.prompt
        output, next_prompt = self._handler(line)
        self.transcript = [*self.transcript, {"prompt": prompt, "command": line, "output": output}]
        self.prompt = next_prompt

    def text(self) -> str:
        """The transcript as a terminal shows it."""
        out = []
        for entry in self.transcript:
            out.append(f"{entry['prompt']} {entry['command']}")
            if entry["output"]:
                out.append(entry["output"])
        return "\n".join(out)
