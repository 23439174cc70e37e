"""Bad input never crashes: a bounded property-based fuzz of loading and the command line (hypothesis).

The shipped scenarios are mutated (a field deleted, a value swapped for one of another type or a huge number,
the text cut short, bytes that are not UTF-8, a key written twice) and every command is run on them in-process,
with arguments fuzzed too. Whatever the input, the command exits 0 (an answer), or 2 with exactly one line on
standard error, never a traceback and never the "internal error" line of the safety net. Memory and time stay
bounded because the limits are enforced before anything is built (int32 fields, 150,000 pods, 5,000 nodes).

The unit layer runs a small budget; ``make fuzz`` runs a large one (``K8SNETVIZ_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8snetviz.cli import main
from k8snetviz.scenario.loader import _scenarios, shipped_scenarios

EXAMPLES = int(os.environ.get("K8SNETVIZ_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="K8SNETVIZ_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
SCENARIOS = shipped_scenarios()
TEXTS = {n: (_scenarios() / f"{n}.yaml").read_text() for n in SCENARIOS}
DOCS = {n: [d for d in yaml.safe_load_all(t) if d] for n, t in TEXTS.items()}

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([0, -1, 65536, 2**31 - 1, 2**31, 2**63, 2_000_000, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["abc", "", "10.96.0.500", "10.244.0.0/33", "None", "-", "a/b/c", "ö", "\x07"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a document."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += paths(v, (*prefix, i))
    return out


def mutate(doc: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    import copy

    doc = copy.deepcopy(doc)
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if how == "delete":
        del parent[last]
    else:
        parent[last] = value
    return doc


@st.composite
def scenario_text(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(SCENARIOS))
    how = draw(st.sampled_from(["swap", "swap", "swap", "delete", "truncate", "bytes", "duplicate", "kind"]))
    text = TEXTS[name]
    if how == "truncate":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))].encode()
    if how == "bytes":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        return text[:at].encode() + draw(st.binary(min_size=1, max_size=4)) + text[at:].encode()
    if how == "duplicate":
        lines = text.splitlines(keepends=True)
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]).encode()
    docs = list(DOCS[name])
    i = draw(st.integers(min_value=0, max_value=len(docs) - 1))
    if how == "kind":
        docs[i] = {**docs[i], "kind": draw(VALUES)}
    else:
        targets = paths(docs[i])
        if targets:
            path = draw(st.sampled_from(targets))
            docs[i] = mutate(docs[i], path, how, draw(VALUES))
    return yaml.safe_dump_all(docs, allow_unicode=True).encode()


ARG = st.one_of(st.sampled_from(["default/client", "default/web:80", "svc/default/web:80", "node/kind-worker",
                                 "pod/default/web", "external", "10.96.0.10:53", "web:80", "http://x/",
                                 "kube-system/coredns", "a/b/c", "", ":", "svc/x/y:0", "node/x:99999"]),
                st.text(max_size=15))


@st.composite
def command(draw: st.DrawFn, path: str) -> list[str]:
    which = draw(st.sampled_from(["trace", "dns", "get", "routes", "iptables", "inspect", "policy", "ingress"]))
    a, b = draw(ARG), draw(ARG)
    if which == "trace":
        argv = ["trace", path, "--from", a, "--to", b]
        if draw(st.booleans()):
            argv += ["--endpoint", draw(ARG)]
        return argv + draw(st.sampled_from([[], ["--json"], ["--protocol", "udp"]]))
    if which == "dns":
        return ["dns", path, "--from", a, b] + draw(st.sampled_from([[], ["--type", "SRV"], ["--json"]]))
    if which == "get":
        return ["get", path, draw(st.sampled_from(["pods", "svc", "nodes", "endpointslices", "x"])), "-A"]
    if which == "routes":
        return ["routes", path, a]
    if which == "iptables":
        return ["iptables", path, a]
    if which == "policy":
        return ["policy", path, "--port", str(draw(st.integers(min_value=-5, max_value=70000)))]
    if which == "ingress":
        return ["ingress", path, "--host", a, "--path", b]
    return ["inspect", path]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own usage errors
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


def assert_clean(argv: list[str], code: int, out: str, err: str) -> None:
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    assert "internal error" not in err, (argv, err)
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.endswith("\n"), (argv, err)


@FUZZ
@given(data=st.data(), text=scenario_text())
def test_mutated_scenarios_answer_or_refuse_in_one_line(tmp_path: Path, data: st.DataObject, text: bytes) -> None:
    path = tmp_path / "mutated.yaml"
    path.write_bytes(text)
    argv = data.draw(command(str(path)))
    assert_clean(argv, *run(argv))


@FUZZ
@given(data=st.data())
def test_fuzzed_arguments_on_shipped_scenarios(data: st.DataObject) -> None:
    argv = data.draw(command(data.draw(st.sampled_from(SCENARIOS))))
    assert_clean(argv, *run(argv))


@pytest.mark.parametrize("argv", [
    ["trace", "two-node-bridge", "--from", "default/client"],
    ["nosuchcommand"],
    ["policy", "two-node-bridge", "--port", "x"],
])
def test_usage_errors_are_one_line_too(argv: list[str]) -> None:
    code, out, err = run(argv)
    assert code == 2 and out == "" and err.count("\n") == 1, err
