"""tools/links.py: every address that leaves the repository comes from its own ``origin`` remote."""

from __future__ import annotations

import doctest
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_links() -> ModuleType:
    spec = importlib.util.spec_from_file_location("links", ROOT / "tools" / "links.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["links"] = module
    spec.loader.exec_module(module)
    return module


links = load_links()


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with README.md and tools/links.py, and no remote yet."""
    monkeypatch.delenv("K8SNETVIZ_REPO_URL", raising=False)
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "links.py", tmp_path / "tools")
    shutil.copy(ROOT / "README.md", tmp_path)
    git(tmp_path, "init", "-q", "-b", "main")
    return tmp_path


def run_links(checkout: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "tools/links.py", *argv], cwd=checkout, capture_output=True, text=True,
                          timeout=30)


def test_doctests() -> None:
    assert doctest.testmod(links).failed == 0


def test_without_a_remote_there_is_no_address_and_one_clear_line(checkout: Path) -> None:
    p = run_links(checkout, "binder")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "git remote add origin" in p.stderr
    page, urls = links.package_page(checkout)
    assert urls == {} and page == (checkout / "README.md").read_text()


def test_binder_colab_and_hub_links_from_a_github_remote(checkout: Path) -> None:
    git(checkout, "remote", "add", "origin", "git@github.com:alice/k8snetviz.git")
    assert run_links(checkout, "source").stdout == "https://github.com/alice/k8snetviz\n"
    assert run_links(checkout, "binder").stdout == (
        "https://mybinder.org/v2/gh/alice/k8snetviz/HEAD?urlpath=lab/tree/notebooks/00-start-here.ipynb\n")
    assert run_links(checkout, "colab").stdout == (
        "https://colab.research.google.com/github/alice/k8snetviz/blob/main/notebooks/00-start-here.ipynb\n")
    hub = run_links(checkout, "hub", "https://hub.example.edu/").stdout.strip()
    assert hub == ("https://hub.example.edu/hub/user-redirect/git-pull?"
                   "repo=https%3A%2F%2Fgithub.com%2Falice%2Fk8snetviz.git"
                   "&urlpath=lab%2Ftree%2Fk8snetviz%2Fnotebooks%2F00-start-here.ipynb")
    assert run_links(checkout, "hub", "hub.example.edu").returncode == 2


def test_the_default_branch_comes_from_the_remote(checkout: Path) -> None:
    git(checkout, "remote", "add", "origin", "https://github.com/alice/k8snetviz")
    git(checkout, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    repo = links.find_repo(checkout)
    assert repo.branch == "trunk"
    assert "&branch=trunk&" in repo.nbgitpuller("https://hub.example.edu")


def test_gitlab_and_other_hosts() -> None:
    gl = links.parse_remote("https://gitlab.com/team/k8snetviz.git")
    assert gl.binder().startswith("https://mybinder.org/v2/gl/team%2Fk8snetviz/HEAD?")
    assert gl.colab() is None and gl.blob("docs/a.md") == "https://gitlab.com/team/k8snetviz/-/blob/HEAD/docs/a.md"
    other = links.parse_remote("https://git.example.org/course/k8snetviz")
    assert other.binder().startswith("https://mybinder.org/v2/git/https%3A%2F%2Fgit.example.org%2F")


def test_the_package_page_has_no_relative_link(checkout: Path) -> None:
    git(checkout, "remote", "add", "origin", "https://github.com/alice/k8snetviz.git")
    page, urls = links.package_page(checkout)
    targets = re.findall(r"\]\(([^)\s]+)\)", page)
    assert targets, "the README has links"
    for target in targets:
        assert target.startswith(("https://", "#")), target
    assert urls["Source"] == "https://github.com/alice/k8snetviz"
    assert urls["Binder"].startswith("https://mybinder.org/v2/gh/alice/k8snetviz/")


def test_an_sdist_inside_another_repository_does_not_take_its_address(checkout: Path) -> None:
    git(checkout, "remote", "add", "origin", "https://github.com/someone-else/project")
    sdist = checkout / "dist" / "k8snetviz-0.1.0"
    sdist.mkdir(parents=True)
    shutil.copy(ROOT / "README.md", sdist)
    (sdist / "PKG-INFO").write_text("Metadata-Version: 2.4\nName: k8snetviz\n"
                                    "Project-URL: Source, https://github.com/alice/k8snetviz\n\nbody\n")
    assert links.find_repo(sdist) is None
    page, urls = links.package_page(sdist)
    assert urls["Source"] == "https://github.com/alice/k8snetviz"


DOCS = ["README.md", "ARCHITECTURE.md", "CONTRIBUTING.md", "docs/contract.md", "docs/teaching.md",
        "k8snetviz/data/README.md"]


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_in_the_docs_leads_to_a_file(doc: str) -> None:
    """In the repository (and in the sdist) a relative link must lead somewhere; on the package index
    page setup.py makes them absolute (test_the_package_page_has_no_relative_link)."""
    path = ROOT / doc
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^()\s]+)\)", text):
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target):
            continue
        assert (path.parent / target.split("#")[0]).exists(), f"{doc}: the link to {target} leads nowhere"


def test_no_doc_points_outside_the_repository_or_at_a_placeholder() -> None:
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert "../shared" not in text and "DESIGN.md" not in text, doc
        assert "mybinder.org/v2/gh/k8snetviz/k8snetviz" not in text, f"{doc}: a Binder link to a placeholder"
