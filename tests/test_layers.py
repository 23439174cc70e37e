"""The test-layer rules themselves: CI turns layer skips into failures; the nbval sanitizers hold.

CONTRIBUTING.md "Tests, in layers": locally a layer whose system parts are missing skips with a reason;
under CI=true a skip of layers 2-4 is a failure.
"""

from __future__ import annotations

import importlib.util
import re
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A throw-away project whose tests/conftest.py is this repository's, with one test per case."""
    (pytester.path / "tests" / "ui").mkdir(parents=True)
    (pytester.path / "tests" / "lab").mkdir()
    (pytester.path / "tests" / "conftest.py").write_text((TESTS / "conftest.py").read_text())
    files = {
        "tests/ui/test_browser.py": """
            import pytest
            def test_needs_chromium():
                pytest.skip("/usr/bin/chromium is missing")
        """,
        "tests/test_unit.py": """
            import pytest
            def test_optional_speedup():
                pytest.skip("not a layer test: stays a skip")
            @pytest.mark.xfail(reason="known", strict=True)
            def test_known_bug():
                assert False
            @pytest.mark.lab
            def test_marked_lab_outside_lab_dir():
                pytest.skip("needs root")
        """,
    }
    for name, source in files.items():
        (pytester.path / name).write_text(textwrap.dedent(source))
    return pytester


def test_local_run_keeps_skips(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "tests")
    result.assert_outcomes(skipped=3, xfailed=1)


def test_ci_fails_skipped_layer_tests(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-rfs", "tests")
    # the ui test (by folder) and the lab-marked test fail; the plain skip and the xfail stay
    result.assert_outcomes(failed=2, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*CI=true: this layer must run*/usr/bin/chromium is missing*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_folder_marks_layer(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-m", "ui", "tests")
    result.assert_outcomes(skipped=1, deselected=3)


def test_ci_fails_layer_module_skip(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    (project.path / "tests" / "lab" / "test_netns.py").write_text(
        "import pytest\npytest.importorskip('no_such_module_for_k8snetviz')\n"
        "def test_never():\n    pass\n"
    )
    monkeypatch.setenv("CI", "true")
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "tests/lab")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*CI=true: this layer must run, but test_netns.py was skipped*"])
    monkeypatch.delenv("CI")
    project.runpytest_inprocess("-p", "no:cacheprovider", "tests/lab").assert_outcomes(skipped=1)


def _sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((TESTS / "nbval_sanitize.cfg").read_text())
    assert len(patterns) >= 6, "a section of nbval_sanitize.cfg did not parse (regex:/replace: lines)"
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("<Cluster object at 0x7f3a1c2b9d00>", "<Cluster object at 0x7f0012345678>"),
        ("model 1d2f0a9e-7b3c-4d5e-8f90-123456789abc", "model 00000000-1111-2222-3333-444444444444"),
        ("widget 3f2a9c1b8e7d4f6a0b1c2d3e4f5a6b7c", "widget 0123456789abcdef0123456789abcdef"),
        ("trace took 0.84 ms", "trace took 12.5 ms"),
        ("built in 3.2 s", "built in 9 s"),
        ("412 µs ± 3.1 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)",
         "1.02 ms ± 88 µs per loop (mean ± std. dev. of 7 runs, 1 loop each)"),
        ("wrote /tmp/tmpa8x2k/walk.svg", "wrote /tmp/tmpzz91q/walk.svg"),
        ("Jupyter at http://127.0.0.1:38211/lab", "Jupyter at http://127.0.0.1:8888/lab"),
    ],
)
def test_sanitizer_equalizes_volatile_output(first: str, second: str) -> None:
    assert _sanitize(first) == _sanitize(second)


@pytest.mark.parametrize(
    "stable",
    [
        "10.244.1.2 dev veth1a2b3c scope link",
        "default via 172.18.0.1 dev eth0",
        "10.96.0.10:53/UDP -> 10.244.0.3:53",
        "KUBE-SVC-TCOU7JCQXEZGVUNU",
        "kind-worker2   Ready   <none>   172.18.0.4",
    ],
)
def test_sanitizer_keeps_network_facts(stable: str) -> None:
    # Addresses, device names and iptables chain hashes are the course's content, never noise.
    assert _sanitize(stable) == stable



def test_nbval_skip_cells_are_not_layer_skips(pytester: pytest.Pytester) -> None:
    """A cell marked NBVAL_SKIP is the author's visible choice in the notebook, not a missing layer:
    under CI it stays a skip, while every other notebook cell must run."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("# NBVAL_SKIP\nraise SystemExit('never run')"),
        nbformat.v4.new_code_cell("print(6 * 7)"),
    ]
    nbformat.write(nb, pytester.path / "cells.ipynb")
    # collection only: nbval starts its kernel at setup, so no kernel runs here
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider", "--nbval-lax", "cells.ipynb")
    assert [type(item).__name__ for item in items] == ["IPyNbCell", "IPyNbCell"]
    assert [_layer_rules().must_not_skip(item) for item in items] == [False, True]


def _layer_rules():
    spec = importlib.util.spec_from_file_location("k8snetviz_layer_rules", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
