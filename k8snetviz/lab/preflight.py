"""Can the lab run here?  Root, iproute2, iptables, nft, nfacct and the CNI reference plugins.

Checked before anything is created, so a refusal leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

from k8snetviz.lab.errors import MissingTool, NotRoot

__all__ = [
    "CNI_BIN_DIRS",
    "REQUIRED_PROGRAMS",
    "REQUIRED_PLUGINS",
    "cni_bin_dir",
    "missing_requirements",
    "require_root",
    "require_tools",
    "preflight",
]

# Debian's containernetworking-plugins installs into /usr/lib/cni; upstream tarballs and
# kind nodes use /opt/cni/bin.
CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
# unshare: the DNS rows run glibc under the pod's hostname; nfacct: kube-proxy's counters (iptables mode);
# nft: kube-proxy's nftables mode
REQUIRED_PROGRAMS = ("ip", "iptables-restore", "unshare", "nfacct", "nft")
REQUIRED_PLUGINS = ("bridge", "ptp", "host-local")


def cni_bin_dir(plugins: Iterable[str] = REQUIRED_PLUGINS, dirs: Iterable[str] = CNI_BIN_DIRS) -> str | None:
    """The first directory holding every plugin in ``plugins``, or None."""
    wanted = list(plugins)
    for d in dirs:
        if all(os.access(os.path.join(d, p), os.X_OK) for p in wanted):
            return d
    return None


def missing_requirements(
    programs: Iterable[str] = REQUIRED_PROGRAMS,
    plugins: Iterable[str] = REQUIRED_PLUGINS,
    dirs: Iterable[str] = CNI_BIN_DIRS,
) -> list[str]:
    """What the lab needs and this machine lacks, worded for a message (empty when all is there)."""
    missing = [p for p in programs if shutil.which(p) is None]
    wanted = list(plugins)
    if cni_bin_dir(wanted, dirs) is None:
        dirs = list(dirs)
        missing += [
            f"CNI plugin {p} (looked in {', '.join(dirs)})"
            for p in wanted
            if not any(os.access(os.path.join(d, p), os.X_OK) for d in dirs)
        ] or [f"CNI plugins {', '.join(wanted)} in one directory"]
    return missing


def require_root(euid: int | None = None) -> None:
    """Raise :class:`NotRoot` unless the effective uid is 0."""
    uid = os.geteuid() if euid is None else euid
    if uid != 0:
        raise NotRoot(uid)


def require_tools(**kwargs: Iterable[str]) -> None:
    """Raise :class:`MissingTool` naming everything missing."""
    missing = missing_requirements(**kwargs)
    if missing:
        raise MissingTool(missing)


def preflight(euid: int | None = None) -> str:
    """Check root and tools; return the CNI plugin directory to use as ``CNI_PATH``."""
    require_root(euid)
    require_tools()
    found = cni_bin_dir()
    assert found is not None  # require_tools() has just checked it
    return found
