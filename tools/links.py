"""The addresses of this course, derived from the repository's own ``origin`` remote.

The project does not know where it is published: a fork or a clone has its own public address. Every
link that leaves the repository (the package index page, Binder, Colab, nbgitpuller) is built here from
``git remote get-url origin`` (or ``K8SNETVIZ_REPO_URL``), never written by hand.

    python tools/links.py source|binder|colab     the repository, the Binder and the Colab link
    python tools/links.py hub https://HUB         an nbgitpuller link that opens the course on a JupyterHub

Standard library only: ``setup.py`` uses it while building the package.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

__all__ = ["Repo", "find_repo", "parse_remote", "absolute_links", "package_page", "START"]

ROOT = Path(__file__).resolve().parents[1]
# The notebook every link opens.
START = "notebooks/00-start-here.ipynb"
NO_REMOTE = ("this checkout has no public address: add its remote (git remote add origin "
             "https://github.com/OWNER/REPO) or set K8SNETVIZ_REPO_URL")


@dataclass(frozen=True)
class Repo:
    """A repository on a Git host: ``https://HOST/PATH`` (PATH is ``owner/name``, or deeper on GitLab)."""

    host: str
    path: str
    branch: str | None = None  # the default branch, when the remote says which

    @property
    def web(self) -> str:
        return f"https://{self.host}/{self.path}"

    @property
    def clone(self) -> str:
        return f"{self.web}.git"

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def blob(self, file: str) -> str:
        """The page that shows ``file`` on the default branch."""
        if self.host == "github.com":
            return f"{self.web}/blob/HEAD/{file}"
        return f"{self.web}/-/blob/HEAD/{file}"  # GitLab and Gitea-like hosts

    def raw(self, file: str) -> str:
        """The file itself (for images)."""
        if self.host == "github.com":
            return f"https://raw.githubusercontent.com/{self.path}/HEAD/{file}"
        return f"{self.web}/-/raw/HEAD/{file}"

    def binder(self, file: str = START) -> str:
        """mybinder.org builds the repository (binder/) and opens ``file`` in JupyterLab."""
        if self.host == "github.com":
            spec = f"gh/{self.path}/HEAD"
        elif self.host == "gitlab.com":
            spec = f"gl/{quote(self.path, safe='')}/HEAD"
        else:
            spec = f"git/{quote(self.clone, safe='')}/HEAD"
        return f"https://mybinder.org/v2/{spec}?urlpath={quote('lab/tree/' + file)}"

    def colab(self, file: str = START) -> str | None:
        """Colab opens notebooks from GitHub only."""
        if self.host != "github.com":
            return None
        return f"https://colab.research.google.com/github/{self.path}/blob/{self.branch or 'main'}/{file}"

    def nbgitpuller(self, hub: str, file: str = START) -> str:
        """A link that clones (or updates) the course into the user's home on ``hub``, then opens ``file``.

        nbgitpuller keeps a learner's own changes when the course is updated: where both changed a
        file, the learner's version stays.
        """
        query = f"repo={quote(self.clone, safe='')}"
        if self.branch:
            query += f"&branch={quote(self.branch)}"
        query += f"&urlpath={quote(f'lab/tree/{self.name}/{file}', safe='')}"
        return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def parse_remote(url: str, branch: str | None = None) -> Repo | None:
    """The public repository behind a remote URL, or None for a local path or an unknown form.

    >>> parse_remote("git@github.com:alice/k8snetviz.git").web
    'https://github.com/alice/k8snetviz'
    >>> parse_remote("https://bob:s3cret@gitlab.com/team/sub/k8snetviz").web  # credentials never leak
    'https://gitlab.com/team/sub/k8snetviz'
    >>> parse_remote("/srv/git/k8snetviz") is None
    True
    """
    url = url.strip()
    m = re.fullmatch(r"(?:ssh://)?[\w.-]+@([\w.-]+)[:/](.+?)(?:\.git)?/?", url)
    if m and "://" not in url.replace("ssh://", "", 1):
        host, path = m.groups()
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http", "ssh", "git") or not parts.hostname:
            return None
        host, path = parts.hostname, parts.path.strip("/").removesuffix(".git")
    if "/" not in path:
        return None
    return Repo(host.lower(), path, branch)


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def find_repo(root: Path = ROOT) -> Repo | None:
    """This checkout's public repository: ``K8SNETVIZ_REPO_URL``, else the ``origin`` remote of ``root``.

    Only a Git checkout whose top level is ``root`` counts: an unpacked sdist inside some other
    repository must not take that repository's address.
    """
    env = os.environ.get("K8SNETVIZ_REPO_URL")
    if env:
        return parse_remote(env, os.environ.get("K8SNETVIZ_REPO_BRANCH"))
    top = _git("rev-parse", "--show-toplevel", cwd=root)
    if top is None or Path(top).resolve() != root.resolve():
        return None
    url = _git("remote", "get-url", "origin", cwd=root)
    if not url:
        return None
    head = _git("symbolic-ref", "--short", "refs/remotes/origin/HEAD", cwd=root)  # origin/main
    return parse_remote(url, head.split("/", 1)[1] if head and "/" in head else None)


# A Markdown link or image whose target is a path in the repository: [text](path) or ![alt](path).
_LINK = re.compile(r"(!?)\[((?:[^\]\\]|\\.)*)\]\(([^()\s]+)\)")


def absolute_links(markdown: str, repo: Repo) -> str:
    """``markdown`` with every relative link made absolute: pages to ``blob``, images to ``raw``.

    >>> r = Repo("github.com", "alice/k8snetviz")
    >>> absolute_links("See [the contract](docs/contract.md) and ![a walk](docs/walk.svg).", r)
    'See [the contract](https://github.com/alice/k8snetviz/blob/HEAD/docs/contract.md) and \
![a walk](https://raw.githubusercontent.com/alice/k8snetviz/HEAD/docs/walk.svg).'
    >>> absolute_links("[Binder](https://mybinder.org) [up](#the-course)", r)
    '[Binder](https://mybinder.org) [up](#the-course)'
    """
    def fix(m: re.Match[str]) -> str:
        bang, text, target = m.groups()
        if re.match(r"[a-z][a-z0-9+.-]*:|#|/", target):
            return m.group(0)
        target = target.removeprefix("./")
        return f"{bang}[{text}]({repo.raw(target) if bang else repo.blob(target)})"

    return _LINK.sub(fix, markdown)


def _pkg_info_source(root: Path) -> str | None:
    """The Source URL an sdist recorded in its PKG-INFO when it was built from the repository."""
    info = root / "PKG-INFO"
    if not info.is_file():
        return None
    for line in info.read_text(encoding="utf-8").splitlines():
        if line.startswith("Project-URL: Source, "):
            return line.split(", ", 1)[1].strip()
        if not line.strip():  # the headers end at the first blank line
            break
    return None


def package_page(root: Path = ROOT) -> tuple[str, dict[str, str]]:
    """The package index page (README.md with absolute links) and ``project.urls``, for ``setup.py``.

    Built from the repository's ``origin``; a wheel built from an sdist takes the address the sdist
    recorded. Without any public address the README is kept as it is and there are no URLs.
    """
    readme = (root / "README.md").read_text(encoding="utf-8")
    repo = find_repo(root)
    if repo is None:
        source = _pkg_info_source(root)
        repo = parse_remote(source) if source else None
    if repo is None:
        print(f"k8snetviz build: {NO_REMOTE}; the package page keeps relative links", file=sys.stderr)
        return readme, {}
    urls = {"Source": repo.web, "Documentation": repo.blob("README.md"), "Issues": f"{repo.web}/issues",
            "Changelog": f"{repo.web}/commits/HEAD", "Binder": repo.binder()}
    if repo.host != "github.com":
        urls["Issues"] = f"{repo.web}/-/issues"
        urls["Changelog"] = f"{repo.web}/-/commits/HEAD"
    return absolute_links(readme, repo), urls


def main(argv: list[str]) -> int:
    usage = "usage: python tools/links.py source|binder|colab|hub HUB_URL"
    if not argv or argv[0] not in ("source", "binder", "colab", "hub") or (argv[0] == "hub") != (len(argv) == 2):
        print(usage, file=sys.stderr)
        return 2
    repo = find_repo()
    if repo is None:
        print(f"links: {NO_REMOTE}", file=sys.stderr)
        return 2
    if argv[0] == "colab":
        url = repo.colab()
        if url is None:
            print(f"links: Colab opens notebooks from GitHub only; {repo.web} is on {repo.host}", file=sys.stderr)
            return 2
    elif argv[0] == "hub":
        if not argv[1].startswith(("https://", "http://")):
            print(f"links: the hub's address must start with https://, not {argv[1]!r}", file=sys.stderr)
            return 2
        url = repo.nbgitpuller(argv[1])
    else:
        url = repo.web if argv[0] == "source" else repo.binder()
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
