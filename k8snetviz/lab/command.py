"""Run one system command, as an argument list, with a timeout and a clear error.

Commands are never shell strings: every argument reaches ``execve`` as it is, so a
namespace or pod name can never be read as shell syntax.

>>> run(["true"]).returncode
0
>>> in_netns("knv-demo-node1", ["ip", "route"])
['ip', 'netns', 'exec', 'knv-demo-node1', 'ip', 'route']
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from k8snetviz.lab.errors import CommandError

__all__ = ["run", "in_netns", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 20.0


def in_netns(netns: str, argv: Sequence[str]) -> list[str]:
    """The argument list that runs ``argv`` inside network namespace ``netns``."""
    return ["ip", "netns", "exec", netns, *argv]


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` and capture its output as text.

    With ``check`` a non-zero exit raises :class:`CommandError` naming the command and its
    stderr; a timeout or a program that cannot start raises it whatever ``check`` says.
    """
    if isinstance(argv, str):
        raise TypeError("run() takes an argument list, never a shell string")
    args = [str(a) for a in argv]
    try:
        done = subprocess.run(
            args,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise CommandError(args, f"no answer within {timeout:g}s {err}".strip(), None) from None
    except OSError as exc:
        raise CommandError(args, f"cannot start: {exc.strerror or exc}", 127) from None
    if check and done.returncode != 0:
        raise CommandError(args, done.stderr or done.stdout, done.returncode)
    return done
