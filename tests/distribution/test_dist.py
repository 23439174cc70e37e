"""The packaging layer: the sdist and the wheel, each installed into a clean virtual environment and used
from a directory outside the repository, as a new user would.

The sdist is built from the working tree with a public address (``K8SNETVIZ_REPO_URL``, as a clone's
``origin`` remote would give it); the wheel is built from the unpacked sdist without one, so its project
URLs and package page must come from what the sdist recorded. Installs use the lock (constraints.txt),
so the layer tests this package, not the day's newest releases of its dependencies.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "k8snetviz"
PUBLIC = "https://github.com/example-org/k8snetviz"
TIMEOUT = 900  # a first install downloads JupyterLab's dependencies of ipywidgets; generous, never hit locally

pytestmark = pytest.mark.packaging


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    command = " ".join(map(str, argv))
    assert p.returncode == 0, f"{command} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this test run's virtual environment or Python path."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "K8SNETVIZ_REPO_URL")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT / ".venv")))
    return env | extra


def shipped_files() -> set[str]:
    """Every file of the package in the source tree (code and data), as paths inside the wheel."""
    return {str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")}


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--sdist", "--outdir", out, ROOT, cwd=ROOT,
        env=clean_env(K8SNETVIZ_REPO_URL=f"{PUBLIC}.git"))
    (sdist,) = out.glob("k8snetviz-*.tar.gz")
    unpacked = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(sdist) as tar:
        tar.extractall(unpacked, filter="data")
    (tree,) = unpacked.iterdir()
    run(sys.executable, "-m", "build", "--wheel", "--outdir", out, tree, cwd=unpacked, env=clean_env())
    (wheel,) = out.glob("k8snetviz-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_the_wheel_carries_the_code_the_scenarios_and_the_front_end(dists: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    missing = shipped_files() - names
    assert not missing, f"the wheel lacks {sorted(missing)}"
    assert any(n.startswith("k8snetviz/data/scenarios/") and n.endswith(".yaml") for n in names)
    assert {"k8snetviz/widgets/static/diagram.js", "k8snetviz/widgets/static/diagram.css",
            "k8snetviz/widgets/static/graphviz.js"} <= names  # the diagram's layout engine: no CDN
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_sdist_carries_the_package_and_what_its_readme_links_to(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = shipped_files() - names
    assert not missing, f"the sdist lacks {sorted(missing)}"
    assert {"LICENSE", "README.md", "pyproject.toml", "setup.py", "tools/links.py", "docs/contract.md",
            "ARCHITECTURE.md", "CONTRIBUTING.md"} <= names
    assert not any(n.startswith("tests/") for n in names)


def test_the_package_page_and_urls_come_from_the_public_address(dists: dict[str, Path]) -> None:
    wheel = zipfile.ZipFile(dists["wheel"])
    (meta_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = wheel.read(meta_name).decode()
    head, _, page = meta.partition("\n\n")
    assert "License-Expression: Apache-2.0" in head
    assert f"Project-URL: Source, {PUBLIC}" in head
    assert "Project-URL: Binder, https://mybinder.org/v2/gh/example-org/k8snetviz/HEAD?" in head
    targets = re.findall(r"\]\(([^)\s]+)\)", page)
    assert targets
    relative = [t for t in targets if not t.startswith(("https://", "#"))]
    assert not relative, f"the package page has relative links: {relative}"


@pytest.fixture(scope="module", params=["wheel", "sdist"])
def installed(request: pytest.FixtureRequest, dists: dict[str, Path],
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtual environment with the package installed from the wheel or the sdist; its bin/."""
    venv = tmp_path_factory.mktemp(f"venv-{request.param}")
    run(sys.executable, "-m", "venv", venv, cwd=venv, env=clean_env())
    run(venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q",
        "-c", ROOT / "constraints.txt", dists[request.param], cwd=venv, env=clean_env())
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory with nothing of the repository in it."""
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d


def test_the_commands_work_from_another_directory(installed: Path, elsewhere: Path) -> None:
    cli = installed / "k8snetviz"
    trace = run(cli, "trace", "two-node-bridge", "--from", "default/client", "--to", "default/web:80",
                cwd=elsewhere, env=clean_env())
    assert trace.stdout.rstrip().splitlines()[-1].startswith("verdict: delivered")
    get = run(cli, "get", "kind-default", "pods", "-A", cwd=elsewhere, env=clean_env())
    assert get.stdout.split()[:3] == ["NAMESPACE", "NAME", "READY"] and "kube-system" in get.stdout
    as_json = run(cli, "trace", "kind-default", "--from", "default/client", "--to", "svc/default/web:80", "--json",
                  cwd=elsewhere, env=clean_env())
    assert json.loads(as_json.stdout)["delivered"] is True
    assert run(cli, "completion", "bash", cwd=elsewhere, env=clean_env()).stdout.startswith("# bash completion")
    assert "two-node-bridge" in run(cli, "--help", cwd=elsewhere, env=clean_env()).stdout


def test_the_python_api_finds_its_scenarios_and_front_end(installed: Path, elsewhere: Path) -> None:
    probe = """
import importlib.metadata, json, k8snetviz
from k8snetviz.widgets.diagram import Diagram
cluster = k8snetviz.load("influxdb")
print(json.dumps({
    "file": k8snetviz.__file__,
    "version": k8snetviz.__version__,
    "dist_version": importlib.metadata.version("k8snetviz"),
    "influxdb": str(cluster.service("influxdb").cluster_ip),
    "scenarios": k8snetviz.shipped_scenarios(),
    "esm": "export default" in Diagram().get_state()["_esm"],
    "css": ".knv-diagram" in Diagram().get_state()["_css"],
}))
"""
    p = run(installed / "python", "-c", probe, cwd=elsewhere, env=clean_env())
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["file"].startswith(str(installed.parent)), got["file"]  # the installed copy, not the checkout
    assert got["version"] == got["dist_version"]
    assert {"influxdb", "two-node-bridge", "kind-default"} <= set(got["scenarios"])
    assert got["influxdb"].startswith("10.96.")
    assert got["esm"] and got["css"]
    version = run(installed / "k8snetviz", "--version", cwd=elsewhere, env=clean_env()).stdout
    assert version == f"k8snetviz {got['version']}\n"


def test_a_plain_jupyter_in_a_clone_gets_the_package_from_the_first_cell(tmp_path: Path) -> None:
    """VS Code or a plain Jupyter opened in a clone, with a kernel that has never seen k8snetviz: the
    notebook's first cell installs the clone, and the rest of the notebook runs in the same kernel."""
    venv = tmp_path / "bare"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path, env=clean_env())
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-c", ROOT / "constraints.txt",
        "ipykernel", "nbclient", "nbformat", cwd=tmp_path, env=clean_env())
    probe = """
import sys, nbclient, nbformat
nb = nbformat.read(sys.argv[1], 4)
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
first = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream")
print("INSTALLED" if "Successfully installed" in first else "NOT INSTALLED", len(nb.cells))
"""
    notebook = ROOT / "notebooks" / "00-start-here.ipynb"
    p = run(python, "-c", probe, notebook, ROOT / "notebooks", cwd=tmp_path, env=clean_env())
    assert p.stdout.split()[0] == "INSTALLED", p.stdout
    installed = run(python, "-m", "pip", "show", "k8snetviz", cwd=tmp_path, env=clean_env()).stdout
    assert f"Editable project location: {ROOT}" in installed
