"""The lab's record of what it created, kept in ``/run/k8snetviz/<lab>.json``.

Every namespace, file and process is written here *before* it is created, so a crash
or a signal at any point leaves a record that ``down`` can finish from. Writes are
atomic (a temporary file renamed over the old one), and one process at a time owns a
lab through an ``flock`` on ``<lab>.lock``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from k8snetviz.lab.errors import LabError

__all__ = [
    "RUN_DIR",
    "NETNS_PREFIX",
    "LabState",
    "NetnsRecord",
    "ProcessRecord",
    "validate_lab_id",
    "netns_name",
    "list_labs",
]

RUN_DIR = Path("/run/k8snetviz")
NETNS_PREFIX = "knv-"
_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$")
_ROLE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


def validate_lab_id(lab_id: str) -> str:
    """A lab id is 1-20 lower-case letters, digits and inner dashes.

    >>> validate_lab_id("gt-bridge")
    'gt-bridge'
    """
    if not _ID.match(lab_id):
        raise LabError(
            f"invalid lab id {lab_id!r}: use 1-20 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return lab_id


def netns_name(lab_id: str, role: str) -> str:
    """The name of the lab's namespace for ``role``: ``knv-<lab>-<role>``.

    >>> netns_name("gt-bridge", "node1")
    'knv-gt-bridge-node1'
    """
    validate_lab_id(lab_id)
    if not _ROLE.match(role):
        raise LabError(f"invalid namespace role {role!r}: use lower-case letters, digits and '-'")
    return f"{NETNS_PREFIX}{lab_id}-{role}"


@dataclass
class NetnsRecord:
    name: str
    status: str = "planned"  # planned -> created; "planned" means `ip netns add` may not have run
    inode: int | None = None  # nsfs inode of /run/netns/NAME: the namespace's identity


@dataclass
class ProcessRecord:
    pid: int
    start: int  # field 22 of /proc/PID/stat: tells a reused pid from ours
    netns: str
    argv: list[str]


@dataclass
class LabState:
    """What one lab created. Load with :meth:`open`; every mutation is saved at once."""

    lab: str
    run_dir: Path = RUN_DIR
    netns: list[NetnsRecord] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)
    _lock_fd: int | None = field(default=None, repr=False, compare=False)

    # -- paths ---------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.run_dir / f"{self.lab}.json"

    @property
    def lock_path(self) -> Path:
        return self.run_dir / f"{self.lab}.lock"

    @property
    def workdir(self) -> Path:
        """The lab's own directory: host-local IPAM data, cached CNI results, logs."""
        return self.run_dir / self.lab

    # -- load / save ------------------------------------------------------------------
    @classmethod
    def open(cls, lab: str, run_dir: Path = RUN_DIR) -> LabState:
        """Lock the lab and load its record (an empty one when none exists)."""
        validate_lab_id(lab)
        run_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        state = cls(lab=lab, run_dir=run_dir)
        fd = os.open(state.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LabError(f"lab {lab!r} is in use by another process (lock {state.lock_path})") from None
        state._lock_fd = fd
        if state.path.exists():
            try:
                data = json.loads(state.path.read_text())
            except (OSError, ValueError) as exc:
                state.release()
                raise LabError(f"cannot read the lab record {state.path}: {exc}") from None
            state.netns = [NetnsRecord(**n) for n in data.get("netns", [])]
            state.files = list(data.get("files", []))
            state.dirs = list(data.get("dirs", []))
            state.processes = [ProcessRecord(**p) for p in data.get("processes", [])]
        return state

    def exists(self) -> bool:
        return self.path.exists()

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "netns": [asdict(n) for n in self.netns],
            "files": self.files,
            "dirs": self.dirs,
            "processes": [asdict(p) for p in self.processes],
        }

    def save(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.to_dict(), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def forget(self) -> None:
        """Remove the record and the lock file (after a complete teardown)."""
        for p in (self.path, self.path.with_suffix(".json.tmp")):
            p.unlink(missing_ok=True)
        self.lock_path.unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- lookups -----------------------------------------------------------------------
    def netns_record(self, name: str) -> NetnsRecord | None:
        return next((n for n in self.netns if n.name == name), None)

    def is_empty(self) -> bool:
        return not (self.netns or self.files or self.dirs or self.processes)


def list_labs(run_dir: Path = RUN_DIR) -> list[str]:
    """The ids of the labs that have a record (up, or interrupted before ``down``)."""
    if not run_dir.is_dir():
        return []
    return sorted(p.stem for p in run_dir.glob("*.json"))
