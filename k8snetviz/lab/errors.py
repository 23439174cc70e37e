"""Errors of the real Linux lab: each ``str()`` is one line that says what to do.

They derive from :class:`k8snetviz.errors.K8sNetVizError`, so the CLI prints them
on one line and exits 2, like any other input the tool cannot act on.
"""

from __future__ import annotations

from collections.abc import Sequence

from k8snetviz.errors import K8sNetVizError

__all__ = [
    "LabError",
    "NotRoot",
    "MissingTool",
    "MissingExtra",
    "CommandError",
    "NamespaceCollision",
    "LabInterrupted",
    "CNIError",
]


class LabError(K8sNetVizError):
    """Something the lab cannot do on this machine, or a step that failed."""


class NotRoot(LabError):
    """The lab changes network namespaces: it needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)."""

    def __init__(self, euid: int) -> None:
        super().__init__(
            f"the lab needs root to create network namespaces (running as uid {euid}); "
            "run it with sudo, or use the simulator alone"
        )
        self.euid = euid


class MissingTool(LabError):
    """A system program or CNI plugin binary the lab runs is not installed."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(
            "the lab needs " + ", ".join(missing) + " (Debian: apt-get install iproute2 iptables nftables "
            "nfacct containernetworking-plugins python3)"
        )
        self.missing = list(missing)


class MissingExtra(LabError):
    """A Python package of one of the package's extras that this environment lacks."""

    def __init__(self, package: str, extra: str, needed_by: str) -> None:
        super().__init__(f"{needed_by} need the Python package {package}: pip install 'k8snetviz[{extra}]'")
        self.package = package
        self.extra = extra


class CommandError(LabError):
    """A command that failed, timed out or could not start; names the command and its stderr."""

    def __init__(self, argv: Sequence[str], detail: str, returncode: int | None = None) -> None:
        cmd = " ".join(argv)
        status = "timed out" if returncode is None else f"exited {returncode}"
        super().__init__(f"command {cmd!r} {status}: {detail.strip() or '(no stderr)'}")
        self.argv = list(argv)
        self.detail = detail
        self.returncode = returncode


class NamespaceCollision(LabError):
    """A name the lab wants is already taken by something the lab did not create."""

    def __init__(self, what: str, name: str) -> None:
        super().__init__(
            f"{what} {name!r} already exists and was not created by this lab; "
            "refusing to touch it (remove it yourself, or pick another lab id)"
        )
        self.what = what
        self.name = name


class LabInterrupted(LabError):
    """SIGINT or SIGTERM arrived; ``outcome`` says what state that left (by default: the lab being built
    was torn down). ``lab up|verify|down`` exit with ``exit_status``, 128 + the signal's number, as a shell
    reports a command a signal ended: 130 for SIGINT, 143 for SIGTERM, in every phase."""

    def __init__(self, signum: int, outcome: str = "the lab was torn down") -> None:
        import signal

        super().__init__(f"interrupted by {signal.Signals(signum).name}; {outcome}")
        self.signum = signum
        self.outcome = outcome

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


class CNIError(LabError):
    """A CNI plugin that returned an error result (spec: ``code``, ``msg``, ``details``)."""

    def __init__(self, plugin: str, command: str, code: int | None, msg: str, details: str = "") -> None:
        text = f"CNI plugin {plugin} {command} failed"
        if code is not None:
            text += f" (code {code})"
        text += f": {msg}"
        if details and details != msg:
            text += f": {details}"
        super().__init__(text)
        self.plugin = plugin
        self.command = command
        self.code = code
        self.msg = msg
        self.details = details
