"""Network namespaces the lab owns, and the transaction that removes them again.

>>> Lab.__doc__.splitlines()[0]
'A lab: the namespaces, files and processes one build created, torn down as one.'

Usage (as root)::

    with Lab("demo", keep=False) as lab:        # keep=False: tear down on leaving, too
        node = lab.add_netns("node1")           # knv-demo-node1, recorded before it exists
        lab.run_in(node, ["ip", "link", "set", "lo", "up"])
    # on an exception, SIGINT or SIGTERM inside the block everything recorded is removed

Everything is recorded in the lab's :class:`~k8snetviz.lab.state.LabState` before it is
created. A name that exists but is not in the record is refused. ``teardown`` kills the
lab's processes, deletes its namespaces (their veths, bridges and vxlan devices go with
them), the ``/etc/netns/NAME`` files it wrote and its work directory (host-local IPAM
data lives there, never in ``/var/lib/cni``).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType

from k8snetviz.lab.command import DEFAULT_TIMEOUT, in_netns, run
from k8snetviz.lab.errors import CommandError, LabError, LabInterrupted, NamespaceCollision
from k8snetviz.lab.preflight import require_root
from k8snetviz.lab.state import (
    NETNS_PREFIX,
    RUN_DIR,
    LabState,
    NetnsRecord,
    ProcessRecord,
    netns_name,
)

__all__ = ["Lab", "down", "NETNS_DIR", "ETC_NETNS_DIR", "netns_exists", "lab_netns_on_host"]

NETNS_DIR = Path("/run/netns")
ETC_NETNS_DIR = Path("/etc/netns")


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def lab_netns_on_host() -> list[str]:
    """Every namespace on this machine that carries the lab's prefix."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(NETNS_PREFIX))


def _inode(name: str) -> int | None:
    try:
        return os.stat(NETNS_DIR / name).st_ino
    except OSError:
        return None


def _proc_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; the fields after its ")" are fixed
    return int(stat.rsplit(")", 1)[1].split()[19])


class Lab:
    """A lab: the namespaces, files and processes one build created, torn down as one."""

    def __init__(
        self,
        lab_id: str,
        *,
        keep: bool = True,
        resume: bool = False,
        run_dir: Path = RUN_DIR,
        euid: int | None = None,
    ) -> None:
        """``keep``: leave the lab up after a block that succeeds (``lab up``); ``resume``: add to
        a lab that already has a record instead of refusing."""
        self.lab_id = lab_id
        self.keep = keep
        self.resume = resume
        self.run_dir = run_dir
        self._euid = euid
        self.state: LabState | None = None
        self._old_handlers: dict[int, object] = {}
        self._tearing_down = False

    # -- the transaction --------------------------------------------------------------
    def __enter__(self) -> Lab:
        require_root(self._euid)
        self.state = LabState.open(self.lab_id, self.run_dir)
        if self.state.exists() and not self.resume:
            self.state.release()
            self.state = None
            raise LabError(f"lab {self.lab_id!r} is already up; take it down first (lab down)")
        self.state.workdir.mkdir(mode=0o700, exist_ok=True)
        self.state.save()
        self._install_signal_handlers()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is not None or not self.keep:
                self.teardown()  # a signal during it is raised after it, in place of the error in flight
        finally:
            self._restore_signal_handlers()
            if self.state is not None:
                self.state.release()
                self.state = None

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal.signal() only works in the main thread

        def interrupted(signum: int, frame: FrameType | None) -> None:
            if not self._tearing_down:
                raise LabInterrupted(signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[sig] = signal.signal(sig, interrupted)

    def _restore_signal_handlers(self) -> None:
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
        self._old_handlers.clear()

    @property
    def _st(self) -> LabState:
        if self.state is None:
            raise LabError("use the lab inside a `with Lab(...)` block")
        return self.state

    @property
    def workdir(self) -> Path:
        return self._st.workdir

    @property
    def ipam_dir(self) -> Path:
        """host-local's ``dataDir`` for this lab (never the system's /var/lib/cni)."""
        d = self.workdir / "ipam"
        d.mkdir(mode=0o700, exist_ok=True)
        return d

    def netns_names(self) -> list[str]:
        return [n.name for n in self._st.netns if n.status == "created"]

    # -- namespaces ---------------------------------------------------------------------
    def add_netns(self, role: str) -> str:
        """Create ``knv-<lab>-<role>`` with ``lo`` up; refuse a name the lab did not create."""
        st = self._st
        name = netns_name(self.lab_id, role)
        if st.netns_record(name) is not None:
            raise LabError(f"namespace {name!r} is already part of lab {self.lab_id!r}")
        if netns_exists(name):
            raise NamespaceCollision("network namespace", name)
        rec = NetnsRecord(name)
        st.netns.append(rec)
        st.save()  # recorded before it exists
        try:
            run(["ip", "netns", "add", name])
        except CommandError:
            # not created by us (a race with someone else, or a failure): never ours to delete
            st.netns.remove(rec)
            st.save()
            if netns_exists(name):
                raise NamespaceCollision("network namespace", name) from None
            raise
        rec.status, rec.inode = "created", _inode(name)
        st.save()
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def _owned(self, netns: str) -> None:
        rec = self._st.netns_record(netns)
        if rec is None or rec.status != "created":
            raise LabError(f"namespace {netns!r} does not belong to lab {self.lab_id!r}")

    def run_in(self, netns: str, argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """``run(["ip", "netns", "exec", netns, *argv])`` for a namespace of this lab."""
        self._owned(netns)
        return run(in_netns(netns, argv), **kwargs)  # type: ignore[arg-type]

    def sysctl(self, netns: str, key: str, value: str) -> None:
        """Set a per-namespace sysctl (``net.ipv4.ip_forward`` ...) inside ``netns``."""
        self._owned(netns)
        run(in_netns(netns, ["sysctl", "-q", "-w", f"{key}={value}"]))

    # -- /etc/netns/NAME files (read by `ip netns exec`, e.g. resolv.conf) -------------------
    def write_netns_file(self, netns: str, filename: str, text: str) -> Path:
        """Write ``/etc/netns/<netns>/<filename>``; ``ip netns exec`` bind-mounts it over /etc."""
        self._owned(netns)
        if "/" in filename or filename in ("", ".", ".."):
            raise LabError(f"invalid file name {filename!r} for /etc/netns/{netns}/")
        st = self._st
        d = ETC_NETNS_DIR / netns
        if str(d) not in st.dirs:
            if d.exists():
                raise NamespaceCollision("directory", str(d))
            if not ETC_NETNS_DIR.exists() and str(ETC_NETNS_DIR) not in st.dirs:
                st.dirs.append(str(ETC_NETNS_DIR))  # ours to remove again, once empty
            st.dirs.append(str(d))
            st.save()
            d.mkdir(mode=0o755, parents=True)
        path = d / filename
        if str(path) not in st.files:
            st.files.append(str(path))
            st.save()
        path.write_text(text)
        return path

    # -- processes ---------------------------------------------------------------------------
    def spawn(self, netns: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``argv`` in ``netns`` in the background; it is killed on teardown.

        stdout is a pipe (for a readiness line); stderr goes to a log in the work directory.
        """
        self._owned(netns)
        st = self._st
        log = open(self.workdir / f"{netns}.log", "a")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                in_netns(netns, argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=dict(env) if env is not None else None,
                start_new_session=True,  # a Ctrl-C at the terminal reaches us, not the servers
            )
        finally:
            log.close()
        start = _proc_start(proc.pid) or 0
        st.processes.append(ProcessRecord(proc.pid, start, netns, list(argv)))
        st.save()
        return proc

    def wait_ready(self, proc: subprocess.Popen[str], netns: str, what: str, timeout: float = 20.0) -> None:
        """Wait for a spawned server's ``ready`` line on stdout; one that does not come up is a LabError
        quoting the end of its log."""
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        ok = bool(sel.select(timeout=timeout))
        sel.close()
        line = proc.stdout.readline() if ok else ""
        if not line.startswith("ready"):
            proc.kill()
            proc.wait()
            log = self.workdir / f"{netns}.log"
            tail = log.read_text()[-400:] if log.exists() else ""
            raise LabError(f"{what} in {netns} did not start: {tail.strip() or 'no output'}")

    # -- teardown ----------------------------------------------------------------------------
    def teardown(self) -> list[str]:
        """Remove everything recorded, newest first; return warnings (things left alone).

        Best effort: one failure does not stop the rest. SIGINT and SIGTERM wait meanwhile: one that
        arrived is raised as :class:`LabInterrupted` once everything is removed.
        """
        st = self._st
        self._tearing_down = True
        warnings: list[str] = []
        arrived: list[int] = []
        held = _defer_signals(arrived)
        try:
            for p in reversed(st.processes):
                _stop_process(p)
            st.processes.clear()
            st.save()
            for rec in reversed(list(st.netns)):
                warn = _delete_netns(rec)
                if warn:
                    warnings.append(warn)
                st.netns.remove(rec)
                st.save()
            for f in reversed(list(st.files)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f)
                st.files.remove(f)
            for d in reversed(list(st.dirs)):
                try:
                    os.rmdir(d)
                except FileNotFoundError:
                    pass
                except OSError:
                    if d != str(ETC_NETNS_DIR):  # another lab's files may share /etc/netns
                        warnings.append(f"left {d} in place: it holds files the lab did not write")
                st.dirs.remove(d)
            st.save()
            shutil.rmtree(st.workdir, ignore_errors=True)
            st.forget()
            self.state = None
        finally:
            _release_signals(held)
            self._tearing_down = False
        if arrived:
            raise LabInterrupted(arrived[0])
        return warnings


def _defer_signals(arrived: list[int]) -> dict[int, object]:
    """Note SIGINT/SIGTERM in ``arrived`` instead of acting on them; return the handlers to put back."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def note(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    return {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}


def _release_signals(held: dict[int, object]) -> None:
    for s, h in held.items():
        signal.signal(s, h)  # type: ignore[arg-type]


def _stop_process(p: ProcessRecord, grace: float = 2.0) -> None:
    """SIGTERM, then SIGKILL, the recorded process, if it is still the one we started."""
    if _proc_start(p.pid) != p.start:
        return  # gone, or the pid now belongs to another process
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 1.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p.pid, os.WNOHANG)  # reap it if it is our child
            if _proc_start(p.pid) != p.start:
                return
            time.sleep(0.02)


def _delete_netns(rec: NetnsRecord) -> str | None:
    name = rec.name
    if not netns_exists(name):
        return None
    if rec.status == "created" and rec.inode is not None and _inode(name) != rec.inode:
        return f"left namespace {name} alone: it was re-created by someone else"
    # Processes still inside would keep the namespace (and its devices) alive after the
    # name is gone. Only a process the lab started can be inside a lab namespace.
    pids = run(["ip", "netns", "pids", name], check=False, timeout=DEFAULT_TIMEOUT).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    done = run(["ip", "netns", "del", name], check=False)
    if done.returncode != 0 and netns_exists(name):
        return f"could not delete namespace {name}: {done.stderr.strip()}"
    return None


@contextlib.contextmanager
def _opened(lab_id: str, run_dir: Path, euid: int | None) -> Iterator[Lab]:
    lab = Lab(lab_id, resume=True, run_dir=run_dir, euid=euid)
    with lab:
        yield lab


def down(lab_id: str, *, run_dir: Path = RUN_DIR, euid: int | None = None) -> list[str]:
    """Tear down lab ``lab_id`` from its record (``lab down``); return warnings.

    A lab with no record is already down: nothing to do, no error.
    """
    require_root(euid)
    state_file = run_dir / f"{lab_id}.json"
    if not state_file.exists():
        return []
    with _opened(lab_id, run_dir, euid) as lab:
        return lab.teardown()
