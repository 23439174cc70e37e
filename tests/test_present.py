"""Presentation mode (``k8snetviz.present()``): larger text and diagrams, and solutions shown at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import k8snetviz
from k8snetviz.course import pod_networking as pn
from k8snetviz.course.quiz import CSS_PRESENTER_ANSWER
from k8snetviz.errors import UsageError
from k8snetviz.views.presentation import MODE, Presentation


@pytest.fixture(autouse=True)
def mode_off() -> Iterator[None]:
    yield
    k8snetviz.present(False)


def test_present_switches_the_kernel_s_mode_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert MODE == Presentation()
    k8snetviz.present()
    assert (MODE.on, MODE.scale, MODE.solutions) == (True, 1.5, True)
    assert capsys.readouterr().out.startswith("presentation mode on: text and diagrams 1.5×, task solutions shown")
    k8snetviz.present(scale=2, solutions=False)
    assert "solutions hidden" in capsys.readouterr().out
    k8snetviz.present(False)
    assert (MODE.on, MODE.scale, MODE.solutions) == (False, 1.0, False)
    assert capsys.readouterr().out == "presentation mode off\n"


def test_the_style_scales_jupyterlab_s_font_variables_and_the_diagrams() -> None:
    html = Presentation(on=True, scale=1.75, solutions=True)._repr_mimebundle_()["text/html"]
    assert "--knv-present-scale: 1.75;" in html
    assert "--jp-code-font-size: calc(13px * var(--knv-present-scale));" in html
    assert ".knv-figure svg { width: 100%; height: auto; }" in html
    # Off (or at the usual size) there is no style, so updating the display removes the earlier one.
    assert "<style>" not in Presentation()._repr_mimebundle_()["text/html"]
    assert "<style>" not in Presentation(on=True, scale=1, solutions=True)._repr_mimebundle_()["text/html"]


def test_scale_out_of_range_is_one_clear_error() -> None:
    with pytest.raises(UsageError, match="^present: scale must be between 1 and 3, not 10$"):
        k8snetviz.present(scale=10)
    assert MODE.on is False


def test_tasks_show_their_solution_in_presentation_mode() -> None:
    task = pn.task_warm_up()
    assert "Solution:" not in task.text()
    assert task.widget().children[1].description == "Show solution"
    k8snetviz.present()
    assert task.text().endswith("Solution:\n" + task.solution().text())
    assert task.widget().children[1].description == "Hide solution"
    k8snetviz.present(solutions=False)
    assert task.widget().children[1].description == "Show solution"


def test_predictions_keep_their_vote_and_fold_the_answer_for_the_presenter() -> None:
    q = pn.predict_source_address()
    assert not any(CSS_PRESENTER_ANSWER in c._dom_classes for c in q.widget().children)
    k8snetviz.present()
    box = q.widget()
    (folded,) = [c for c in box.children if CSS_PRESENTER_ANSWER in c._dom_classes]
    assert folded.value.startswith("<details><summary>") and q.answer.split(",")[0] in folded.value
    assert box.children[1].value is None  # nothing is chosen for the class
    assert q.text().endswith(f"(presentation mode) the answer: {q.answer}")
