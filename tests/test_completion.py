"""Shell completion (``k8snetviz completion bash|zsh``): the generated function, and real completion in
an interactive bash and zsh driven through a pseudo-terminal (the Tab key, as a learner presses it)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from k8snetviz import shipped_scenarios
from k8snetviz.cli import build_parser, main
from k8snetviz.completion import commands


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("completion")
    out = {}
    for shell in ("bash", "zsh"):
        r = subprocess.run([sys.executable, "-m", "k8snetviz", "completion", shell],
                           capture_output=True, text=True, check=True, timeout=60)
        (d / shell).write_text(r.stdout)
        out[shell] = d / shell
    return out


def complete_bash(script: Path, *words: str) -> list[str]:
    """COMPREPLY of the generated function for the command line ``words`` (the last word being typed)."""
    line = " ".join(f"'{w}'" for w in words)
    probe = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _k8snetviz; "
             'printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe], capture_output=True, text=True, check=True,
                       cwd=script.parent, timeout=30)
    return [w for w in r.stdout.splitlines() if w]


def test_every_subcommand_and_option_of_the_parser_is_known() -> None:
    cmds = {c.name: c for c in commands(build_parser())}
    assert {"trace", "dns", "get", "render", "lab", "completion"} <= set(cmds)
    assert {"--from", "--to", "--json", "--protocol"} <= set(cmds["trace"].options)
    assert cmds["trace"].values["--protocol"] == ["TCP", "UDP", "SCTP", "ICMP"]
    assert cmds["lab"].positionals == [["up", "verify", "down"], ["<scenario>"]]
    assert cmds["render"].values["-o"] == ["<file>"]


def test_bash_function_completes_commands_scenarios_and_choices(scripts: dict[str, Path]) -> None:
    bash = scripts["bash"]
    assert complete_bash(bash, "k8snetviz", "tr") == ["trace"]
    assert "--version" in complete_bash(bash, "k8snetviz", "")
    assert complete_bash(bash, "k8snetviz", "trace", "two") == ["two-node-bridge"]
    assert set(shipped_scenarios()) <= set(complete_bash(bash, "k8snetviz", "get", ""))
    # An option's choices; a free value (--from POD) completes nothing.
    assert complete_bash(bash, "k8snetviz", "trace", "kind-default", "--protocol", "") == ["TCP", "UDP", "SCTP", "ICMP"]
    assert complete_bash(bash, "k8snetviz", "trace", "kind-default", "--from", "") == []
    # After the scenario (and an option's value) only options are left.
    after = complete_bash(bash, "k8snetviz", "trace", "kind-default", "--from", "default/client", "")
    assert "--to" in after and "kind-default" not in after
    # lab: the action first, then the scenario.
    assert complete_bash(bash, "k8snetviz", "lab", "v") == ["verify"]
    assert complete_bash(bash, "k8snetviz", "lab", "up", "kind") == ["kind-default"]
    assert complete_bash(bash, "k8snetviz", "completion", "") == ["--help", "-h", "bash", "zsh"]


def test_bash_function_completes_files_where_a_file_goes(scripts: dict[str, Path]) -> None:
    (scripts["bash"].parent / "my-cluster.yaml").write_text("")
    assert complete_bash(scripts["bash"], "k8snetviz", "trace", "my-") == ["my-cluster.yaml"]
    assert complete_bash(scripts["bash"], "k8snetviz", "render", "kind-default", "-o", "my-") == ["my-cluster.yaml"]


def test_completion_needs_a_known_shell(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["completion", "fish"])
    assert exit_.value.code == 2
    assert "invalid choice: 'fish'" in capsys.readouterr().err


def interactive(argv: list[str], setup: list[str], typed: str, expect: str, cwd: Path) -> str:
    """Start an interactive shell on a pseudo-terminal, run ``setup``, type ``typed``; return the screen
    once ``expect`` appears after the typing (or whatever was seen after 30 s, for the failure message)."""
    master, slave = pty.openpty()
    env = {"PATH": os.environ["PATH"], "TERM": "xterm", "HOME": str(cwd), "PS1": "$ ", "PROMPT": "$ "}
    shell = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                             start_new_session=True)
    os.close(slave)
    seen, typed_yet = b"", False
    try:
        os.write(master, ("".join(f"{line}\n" for line in setup) + "echo READY\n").encode())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
            if not typed_yet and seen.count(b"READY") >= 2:  # the echoed command, then its output
                os.write(master, typed.encode())
                typed_yet = True
            if typed_yet and expect.encode() in seen.rsplit(b"READY", 1)[-1]:
                break
        return seen.rsplit(b"READY", 1)[-1].decode(errors="replace")
    finally:
        shell.kill()
        shell.wait()
        os.close(master)


def test_tab_completes_in_an_interactive_bash(scripts: dict[str, Path]) -> None:
    screen = interactive(["bash", "--norc", "--noprofile", "-i"], [f"source {scripts['bash']}"],
                         "k8snetviz trace two-node-b\t", "two-node-bridge ", scripts["bash"].parent)
    assert "k8snetviz trace two-node-bridge " in screen, screen


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (make debs-test installs it)")
def test_tab_completes_in_an_interactive_zsh(scripts: dict[str, Path]) -> None:
    # The user's set-up as --help describes it, condensed: compinit, then the script.
    setup = ["autoload -U compinit && compinit -u", f"source {scripts['zsh']}"]
    screen = interactive(["zsh", "-f", "-i"], setup, "k8snetviz lab u\t", "lab up", scripts["zsh"].parent)
    assert "k8snetviz lab up" in screen, screen
