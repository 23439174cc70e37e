"""Predict, then reveal: a question with choices, answered before the package shows what really happens.

The learner picks a choice and presses *Check*; the reveal says whether the guess was right, explains
why, and shows the proof the package computes at that moment (a packet walk, a routing-table lookup).
Without widgets the same question is answered in code:

>>> q = Predict("Which row does a node use for 8.8.8.8?",
...             ["default via 172.18.0.1 dev eth0", "172.18.0.0/16 dev eth0"],
...             answer="default via 172.18.0.1 dev eth0",
...             explanation="No more specific row contains 8.8.8.8, so the default route (/0) is used.")
>>> print(q.check(0))
✔ Correct. No more specific row contains 8.8.8.8, so the default route (/0) is used.
>>> q.is_correct("172.18.0.0/16 dev eth0")
False
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from k8snetviz.errors import K8sNetVizError
from k8snetviz.views.presentation import MODE
from k8snetviz.views.theme import themed

__all__ = ["Predict", "TextBlock", "inline_html", "show_in_place"]

# CSS classes the UI tests find the parts by; keep them stable.
CSS_PREDICT = "knv-predict"
CSS_QUESTION = "knv-predict-question"
CSS_CHOICES = "knv-predict-choices"
CSS_CHECK = "knv-predict-check"
CSS_REVEAL = "knv-predict-reveal"
CSS_PRESENTER_ANSWER = "knv-predict-presenter-answer"


def inline_html(text: str) -> str:
    """Escape ``text`` for HTML, turning ```code``` spans into ``<code>`` and ``**bold**`` into ``<b>``.

    >>> inline_html("run `ip route` **now** <here>")
    'run <code>ip route</code> <b>now</b> &lt;here&gt;'
    """
    out = escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


class TextBlock(str):
    """Text the course computes (a table, a list of facts), shown as preformatted text in a notebook too."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": themed(f'<pre class="knv-text">{escape(str(self))}</pre>')}


class WidgetItem:
    """A course item shown as its ``widget()``, with ``text()`` for front ends without widgets."""

    def widget(self) -> Any:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        bundle = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        # Without a widget front end (nbconvert, a terminal) the item is still readable.
        if isinstance(bundle, dict):
            bundle["text/plain"] = self.text()
        return bundle


def show_in_place(producer: Callable[[], Any]) -> None:
    """Display what ``producer`` returns (each item of a tuple in turn); bad input shows its message in place."""
    from IPython.display import display

    try:
        shown = producer()
    except K8sNetVizError as err:
        # A plain-text front end (a terminal, nbconvert to text) reads the text form, not an HTML object.
        display({"text/plain": f"✘ {err}",
                 "text/html": themed(f'<p class="knv-verdict knv-bad">✘ {inline_html(str(err))}</p>', "knv-error")},
                raw=True)
        return
    for item in shown if isinstance(shown, (tuple, list)) else [shown]:
        if isinstance(item, str) and not isinstance(item, TextBlock):
            item = TextBlock(item)  # kubectl-style text keeps its lines, not a quoted repr
        if item is not None:
            display(item)


class Predict(WidgetItem):
    """A multiple-choice prediction whose reveal explains and shows the proof.

    ``answer`` is the text of the right choice. ``wrong`` optionally says, per wrong choice, why it is
    wrong (shown only to a learner who picked it). ``reveal`` is called at reveal time and its result is
    displayed under the explanation: a trace, a routing table, any object with a notebook display.
    """

    def __init__(self, question: str, choices: Sequence[str], answer: str, explanation: str,
                 reveal: Callable[[], Any] | None = None, *, wrong: Mapping[str, str] | None = None) -> None:
        self.question = question
        self.choices = [str(c) for c in choices]
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"duplicate choices in {self.choices}")
        if answer not in self.choices:
            raise ValueError(f"the answer {answer!r} is not one of the choices {self.choices}")
        self.answer = answer
        self.explanation = explanation
        self.reveal = reveal
        self.wrong = dict(wrong or {})
        unknown = set(self.wrong) - set(self.choices)
        if unknown:
            raise ValueError(f"feedback for choices that do not exist: {sorted(unknown)}")

    # --- answering in code ------------------------------------------------------------------------
    def _choice(self, choice: str | int) -> str | None:
        if isinstance(choice, int) and not isinstance(choice, bool):
            return self.choices[choice] if 0 <= choice < len(self.choices) else None
        text = str(choice).strip()
        return text if text in self.choices else None

    def is_correct(self, choice: str | int) -> bool:
        """Whether ``choice`` (its text, or its index from 0) is the right answer."""
        return self._choice(choice) == self.answer

    def check(self, choice: str | int | None) -> str:
        """The verdict in words: right or wrong, why, and the explanation."""
        if choice is None:
            return "Pick an answer first, then press Check."
        picked = self._choice(choice)
        if picked is None:
            options = "; ".join(f"{i}: {c}" for i, c in enumerate(self.choices))
            return f"{choice!r} is not one of the choices ({options})."
        if picked == self.answer:
            return f"✔ Correct. {self.explanation}"
        why = self.wrong.get(picked, "")
        return (f"✘ Not quite: you chose “{picked}”; the answer is “{self.answer}”. "
                + (f"{why} " if why else "") + self.explanation)

    # --- the widget -------------------------------------------------------------------------------
    def widget(self) -> Any:
        """RadioButtons, a *Check* button and an output for the reveal, in a box of class ``knv-predict``."""
        import ipywidgets as w

        question = w.HTML(f"<p><b>Predict:</b> {inline_html(self.question)}</p>")
        question.add_class(CSS_QUESTION)
        choices = w.RadioButtons(options=self.choices, value=None, layout=w.Layout(width="auto"))
        choices.add_class(CSS_CHOICES)
        button = w.Button(description="Check", button_style="primary", icon="check")
        button.add_class(CSS_CHECK)
        out = w.Output()
        out.add_class(CSS_REVEAL)

        def on_check(_: Any) -> None:
            from IPython.display import display

            out.clear_output()
            with out:
                verdict = self.check(choices.value)
                cls = "knv-ok" if choices.value == self.answer else "knv-bad"
                display({"text/plain": verdict,
                         "text/html": themed(f'<p class="knv-verdict {cls}">{inline_html(verdict)}</p>')}, raw=True)
                if choices.value is not None and self.reveal is not None:
                    show_in_place(self.reveal)

        button.on_click(on_check)
        parts = [question, choices, button, out]
        if MODE.solutions:  # presentation mode: the answer, folded, for the presenter to open after the vote
            answer = w.HTML(f"<details><summary>Answer (presentation mode)</summary>"
                            f"<p>{inline_html(self.answer)}</p></details>")
            answer.add_class(CSS_PRESENTER_ANSWER)
            parts.append(answer)
        box = w.VBox(parts)
        box.add_class(CSS_PREDICT)
        return box

    def text(self) -> str:
        lines = [f"Predict: {self.question}"]
        lines += [f"  {i}: {c}" for i, c in enumerate(self.choices)]
        lines.append("Answer with .check(choice), or press Check in the notebook.")
        if MODE.solutions:
            lines.append(f"(presentation mode) the answer: {self.answer}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()
