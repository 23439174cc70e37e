"""The package index page and ``project.urls``, which depend on where this copy is published.

Everything else is in pyproject.toml. ``tools/links.py`` derives the public address from the
repository's ``origin`` remote (or ``K8SNETVIZ_REPO_URL``) and makes README.md's links absolute, so the
page a package index shows has no broken link, for the project and for any fork.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))
from links import package_page  # noqa: E402

page, urls = package_page(ROOT)
setup(long_description=page, long_description_content_type="text/markdown", project_urls=urls)
