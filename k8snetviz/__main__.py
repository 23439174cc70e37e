"""``python -m k8snetviz``: the same as the ``k8snetviz`` command."""

from __future__ import annotations

import sys

from k8snetviz.cli import main

sys.exit(main())
