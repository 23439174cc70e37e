"""The command line: answers on stdout with status 0; bad input as one line on stderr with status 2, never a
traceback. Most tests call ``main`` in-process (fast); a few run the real ``python -m k8snetviz``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8snetviz.cli import main

ROOT = Path(__file__).resolve().parents[1]
BAD = Path(__file__).parent / "scenarios"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def bad_input(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run, expect status 2 and exactly one line on stderr without a traceback; return that line."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err and out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    return err.rstrip("\n")


# --- the real process ---------------------------------------------------------------------------

def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8snetviz", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def test_process_trace_answers_with_status_0() -> None:
    p = cli("trace", "two-node-bridge", "--from", "default/client", "--to", "default/web:80")
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.startswith("trace pod/default/client → default/web:80 (TCP)\n")
    assert p.stdout.rstrip().splitlines()[-1].startswith("verdict: delivered: ")


def test_process_json_is_the_contract() -> None:
    p = cli("trace", "two-node-bridge", "--from", "default/client", "--to", "default/web:80", "--json")
    d = json.loads(p.stdout)
    assert d["delivered"] is True and d["verdict"] == "delivered"
    assert d["final"]["pod"] == "default/web"
    assert [h["action"] for h in d["hops"]][:3] == ["route", "veth", "bridge"]


def test_process_malformed_yaml_has_file_and_line_and_no_traceback() -> None:
    path = BAD / "malformed.yaml"
    p = cli("trace", str(path), "--from", "default/a", "--to", "default/b:80")
    assert p.returncode == 2 and p.stdout == ""
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith(f"k8snetviz: {path}:5: YAML does not parse: ")
    assert p.stderr.count("\n") == 1


# --- answers -------------------------------------------------------------------------------------

def test_a_packet_that_does_not_arrive_is_an_answer_with_status_0(capsys) -> None:
    code, out, err = run(capsys, "trace", "broken-route", "--from", "default/client", "--to", "default/web:80")
    assert code == 0 and err == ""
    assert "verdict: no-route: " in out


def test_routes(capsys) -> None:
    code, out, _ = run(capsys, "routes", "two-node-bridge", "node/node-a")
    assert code == 0
    assert out.splitlines() == ["default via 172.18.0.1 dev eth0",
                                "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1",
                                "10.244.2.0/24 via 172.18.0.3 dev eth0",
                                "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.2"]
    code, out, _ = run(capsys, "routes", "two-node-bridge", "pod/default/web")
    assert out.splitlines()[0] == "default via 10.244.2.1 dev eth0"


def test_get(capsys) -> None:
    code, out, _ = run(capsys, "get", "kind-default", "nodes", "-o", "wide")
    assert code == 0 and out.splitlines()[0].split()[:6] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION",
                                                             "INTERNAL-IP"]
    code, out, _ = run(capsys, "get", "two-node-bridge", "pods", "-A")
    assert out.splitlines()[0].split()[0] == "NAMESPACE"


def test_render_dot(capsys, tmp_path: Path) -> None:
    target = tmp_path / "walk.dot"
    code, _, err = run(capsys, "render", "two-node-bridge", "--from", "default/client", "--to", "default/web:80",
                       "-o", str(target))
    assert code == 0 and err == f"wrote {target}\n"
    assert target.read_text().startswith("digraph cluster {")


def test_unknown_kind_warns_and_still_answers(capsys) -> None:
    path = BAD / "unknown-kind.yaml"
    code, out, err = run(capsys, "get", str(path), "pods")
    assert code == 0
    assert err == f'Warning: {path}:1: unknown kind "Widget" (apiVersion "example.com/v1"): ignored\n'
    assert out.splitlines()[1].startswith("a ")


# --- bad scenarios ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fixture", "message"), [
    ("bad-pod-cidr.yaml", 'The Node "node-a" is invalid: spec.podCIDR: Invalid value: "10.244.1.1/24": '
                          "must be a valid CIDR value"),
    ("bad-node-ip.yaml", 'The Node "node-a" is invalid: status.addresses[1].address: Invalid value: '
                         '"172.18.0.300": must be a valid IP address'),
    ("bad-pod-ip.yaml", 'The Pod "web" is invalid: status.podIP: Invalid value: "10.244.1.x": '
                        "must be a valid IP address"),
    ("overlapping-pod-cidrs.yaml", 'The Node "node-b" is invalid: spec.podCIDR: Invalid value: "10.244.1.0/24": '
                                   'overlaps with the podCIDR of node "node-a" (10.244.0.0/16)'),
    ("pod-on-missing-node.yaml", 'The Pod "web" is invalid: spec.nodeName: Not found: "node-z"'),
    ("pod-ip-outside-cidr.yaml", 'The Pod "web" is invalid: status.podIP: Invalid value: "10.244.2.7": '
                                 'not in the range host-local hands out on node "kind-worker" '
                                 "(10.244.1.2-10.244.1.254 of podCIDR 10.244.1.0/24)"),
])
def test_invalid_objects_name_the_object_and_field(capsys, fixture: str, message: str) -> None:
    line = bad_input(capsys, "get", str(BAD / fixture), "pods")
    assert line.startswith(message)


def test_duplicate_pods_name_the_object_and_both_places(capsys) -> None:
    path = BAD / "duplicate-pods.yaml"
    line = bad_input(capsys, "get", str(path), "pods")
    assert line == f'k8snetviz: pods "web" already exists in namespace "default" ({path}:6; first at {path}:1)'


def test_duplicate_nodes(capsys) -> None:
    path = BAD / "duplicate-nodes.yaml"
    assert bad_input(capsys, "get", str(path), "nodes") == f'k8snetviz: nodes "node-a" already exists ({path}:5)'


def test_malformed_yaml_in_process(capsys) -> None:
    path = BAD / "malformed.yaml"
    assert bad_input(capsys, "routes", str(path), "node/kind-worker").startswith(f"k8snetviz: {path}:5: ")


def test_missing_scenario(capsys) -> None:
    line = bad_input(capsys, "get", "no-such-scenario", "pods")
    assert line.startswith('k8snetviz: scenario "no-such-scenario" not found')


# --- bad arguments -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("src", "dst", "message"), [
    ("default/nobody", "default/web:80", 'k8snetviz: pods "nobody" not found in namespace "default"'),
    ("default/client", "default/nobody:80", 'k8snetviz: pods "nobody" not found in namespace "default"'),
    ("node/node-z", "default/web:80", 'k8snetviz: nodes "node-z" not found'),
    ("default/client", "default/web:http", 'k8snetviz: destination "default/web:http": port must be a number '
                                           'from 1 to 65535, not "http"'),
    ("default/client", "default/web:0", 'k8snetviz: destination "default/web:0": port must be a number '
                                        'from 1 to 65535, not "0"'),
    ("default/client", "default/web", 'k8snetviz: destination "default/web": needs a port, e.g. default/web:80'),
    ("a/b/c", "default/web:80", 'k8snetviz: "a/b/c" is not a pod: use pod/NAMESPACE/NAME or NAMESPACE/NAME'),
])
def test_trace_bad_source_or_destination(capsys, src: str, dst: str, message: str) -> None:
    assert bad_input(capsys, "trace", "two-node-bridge", "--from", src, "--to", dst) == message


def test_routes_of_an_unknown_node(capsys) -> None:
    assert bad_input(capsys, "routes", "two-node-bridge", "node/node-z") == 'k8snetviz: nodes "node-z" not found'


def test_get_with_an_unknown_output_format(capsys) -> None:
    line = bad_input(capsys, "get", "two-node-bridge", "pods", "-o", "json")
    assert line.startswith('error: unable to match a printer suitable for the output format "json"')


def test_render_needs_both_ends_and_a_known_suffix(capsys, tmp_path: Path) -> None:
    assert bad_input(capsys, "render", "two-node-bridge", "--from", "default/client", "-o",
                     str(tmp_path / "x.dot")) == "k8snetviz: render: --from and --to go together"
    assert "the file must end in .svg, .png or .dot" in bad_input(capsys, "render", "two-node-bridge", "-o",
                                                                  str(tmp_path / "x.txt"))


def test_argparse_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["trace", "two-node-bridge", "--from", "default/client"])
    assert e.value.code == 2
    assert "--to" in capsys.readouterr().err


def test_trace_why_opens_each_decision_to_its_chain(capsys) -> None:
    """--why prints, under each hop, the deciding row and then who wrote it, for which object and why (issue 12:
    "this DNAT rule ← written by kube-proxy on kind-worker ← for endpoint … of EndpointSlice … ← Service …")."""
    code, out, err = run(capsys, "trace", "kind-default", "--from", "pod/client", "--to", "svc/web:80",
                         "--endpoint", "default/web-j47jzhb66m-nmms7", "--why")
    assert code == 0 and err == ""
    lines = out.splitlines()
    dnat = next(i for i, line in enumerate(lines) if line.startswith("     decided by rule: -A KUBE-SEP-"))
    assert "-j DNAT --to-destination 10.244.1.2:80" in lines[dnat]
    assert lines[dnat + 1] == "       ← written by kube-proxy on kind-worker"
    assert lines[dnat + 2].startswith("       ← for endpoint 10.244.1.2:80 of default/web:http, in EndpointSlice "
                                      "default/web-")
    assert lines[dnat + 3] == "       ← because of Service default/web"
    # without --why the same decision is one line
    code, plain, _ = run(capsys, "trace", "kind-default", "--from", "pod/client", "--to", "svc/web:80",
                         "--endpoint", "default/web-j47jzhb66m-nmms7")
    assert "← written by" not in plain and "decided by: -A KUBE-SEP-" in plain


def test_ingress_takes_the_request_scheme_method_and_headers(capsys: pytest.CaptureFixture[str]) -> None:
    # ingress-nginx (docs/user-guide/nginx-configuration/annotations.md, "Server-side HTTPS enforcement through
    # redirect"): a TLS host's plain-http request gets 308 to https; over https it reaches the backend
    code, out, _ = run(capsys, "ingress", "ingress", "--host", "secure.example.com", "--path", "/")
    assert code == 0 and out.startswith("http://secure.example.com/ -> 308 redirect to https://secure.example.com/")
    code, out, _ = run(capsys, "ingress", "ingress", "--host", "secure.example.com", "--path", "/",
                       "--scheme", "https", "--method", "POST", "--header", "X-Canary: always")
    assert code == 0 and out.startswith("https://secure.example.com/ -> default/web:http")
    assert "Request: POST, X-Canary: always" in out
    line = bad_input(capsys, "ingress", "ingress", "--host", "secure.example.com", "--path", "/",
                     "--header", "no colon")
    assert line == "k8snetviz: --header \"no colon\": write it as 'Name: value' (the name is a token, no spaces)"
