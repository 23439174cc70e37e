"""Builds the static JupyterLite site of the course: ``make site`` runs it with the site's build environment.

    .venv-site/bin/python site/build.py [--out build/site] [--work build/site-work] [--cache DIR]

The site runs the course in the learner's browser with Pyodide (CPython compiled to WebAssembly) and
fetches nothing from anywhere but itself. Every step, in order:

1. the Pyodide core comes from the ``pyodide`` npm package (``site/package-lock.json``), at the version
   the kernel (``jupyterlite-pyodide-kernel``) was made for;
2. wheels: this checkout's ``k8snetviz`` (built from its sdist, as the packaging layer does), the kernel's
   own wheels (from its JupyterLab extension), PyYAML made pure from its sdist, and every other package
   pinned in ``site/pyodide-packages.txt`` from PyPI (``site/lock.py``);
3. every wheel and the standard library are precompiled to Python 3.14 bytecode by Pyodide in Node
   (``site/pycompile.mjs``): the kernel then starts about twice as fast;
4. a ``pyodide-lock.json`` that names exactly those wheels, so ``import k8snetviz`` loads it and its
   dependencies from the site;
5. ``jupyter lite build`` with the notebooks (and the real dumps they load) as the site's files, the
   widget extensions of the build environment, and the settings of ``site/lite/`` (Pyodide from the site,
   no PyPI fallback);
6. checks: ``jupyter lite check``, and no CDN address left in the site's configuration.

Downloads and compiled wheels are kept between builds in a cache outside the checkout (``--cache``, by
default ``$K8SNETVIZ_SITE_CACHE`` or ``~/.cache/k8snetviz/site``): PyPI's wheels by name and pinned version,
the pure PyYAML by version, bytecode by the Pyodide version and the input's sha256. A fresh clone (CI
starts from one) then downloads nothing that an earlier build on the machine fetched, and a build after a
change to the package redoes only the package's own wheel and the JupyterLite step.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from lock import LockError, read_pins, rehash, resolve, write_lock  # noqa: E402

PYODIDE = HERE / "node_modules" / "pyodide"
PYODIDE_CORE = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm")
# What the kernel loads before the first cell (jupyter-lite.json prefetches them) and the course.
ROOTS = ["micropip", "piplite", "ipykernel", "pyodide-kernel", "comm", "ipython", "jedi", "widgetsnbextension",
         "k8snetviz"]
# The site's files, at the same paths as in the repository, so the notebooks' relative paths hold: the
# notebooks, and the real dumps they load (notebook 00 loads one from ../tests/data/dumps/).
DUMPS = REPO / "tests" / "data" / "dumps"
CDN_HOSTS = ("cdn.jsdelivr.net", "pypi.org", "files.pythonhosted.org", "unpkg.com", "esm.sh")


def step(text: str) -> None:
    print(f"==> site: {text}", flush=True)


LOG: Path | None = None  # where the chatty tools write (work/build.log); shown when one fails


def run(*cmd: str | Path, quiet: bool = False, **kwargs: object) -> None:
    """Run a command; with ``quiet`` its output goes to the log, and to the terminal only if it fails."""
    args = [str(c) for c in cmd]
    if not quiet or LOG is None:
        subprocess.run(args, check=True, **kwargs)  # type: ignore[call-overload]
        return
    with LOG.open("a") as log:
        log.write(f"\n$ {' '.join(args)}\n")
        log.flush()
        done = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode:
        tail = LOG.read_text(errors="replace").splitlines()[-40:]
        raise SystemExit("\n".join(tail) + f"\nsite: {args[0]} failed (exit status {done.returncode}); log: {LOG}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_versions() -> str:
    """The Pyodide of node_modules must be the one the kernel was made for; returns the wheel platform tag."""
    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

    have = json.loads((PYODIDE / "package.json").read_text())["version"]
    if have != PYODIDE_VERSION:
        raise SystemExit(f"site: jupyterlite-pyodide-kernel runs Pyodide {PYODIDE_VERSION}, but "
                         f"site/package.json installs pyodide {have}")
    info = json.loads((PYODIDE / "pyodide-lock.json").read_text())["info"]
    return f"pyemscripten_{info['abi_version']}_wasm32"


def own_wheel(work: Path) -> Path:
    """k8snetviz as a wheel built from its sdist (a clean copy: nothing stale from an in-tree build)."""
    out = work / "wheels" / "own"
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        run(sys.executable, "-m", "build", "--outdir", tmp, REPO, quiet=True)
        wheel = next(Path(tmp).glob("k8snetviz-*.whl"))
        out.mkdir(parents=True)
        return Path(shutil.copy2(wheel, out))


def kernel_wheels(work: Path) -> Path:
    """The kernel's own wheels (pyodide-kernel, piplite, the ipykernel and widgetsnbextension 4 shims)."""
    src = Path(sys.prefix) / "share/jupyter/labextensions/@jupyterlite/pyodide-kernel-extension/static/pypi"
    out = work / "wheels" / "kernel"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for wheel in src.glob("*.whl"):
        if not wheel.name.startswith("widgetsnbextension-3."):  # ipywidgets 8 wants widgetsnbextension 4
            shutil.copy2(wheel, out)
    return out


def pure_pyyaml(cache: Path, version: str) -> Path:
    """PyYAML without its C extension: setup.py then tags the wheel py3-none-any itself."""
    out = cache / "pure" / f"pyyaml-{version}"
    if not list(out.glob(f"pyyaml-{version}-py3-none-any.whl")):
        shutil.rmtree(out, ignore_errors=True)
        run(sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-cache-dir",
            "--no-deps", "--no-binary", "pyyaml", f"pyyaml=={version}", "-w", out, quiet=True,
            env={**os.environ, "PYYAML_FORCE_LIBYAML": "0"})
    wheels = list(out.glob("*.whl"))
    if [w.name for w in wheels] != [f"pyyaml-{version}-py3-none-any.whl"]:
        raise SystemExit(f"site: building PyYAML {version} from its sdist gave {[w.name for w in wheels]}, "
                         "not a pure wheel")
    return out


def precompile(stage: Path, cache_root: Path, out: Path) -> None:
    """Every wheel of ``stage`` and the standard library, as 3.14 bytecode, into ``out``; cached by content
    (and by the Pyodide that compiles it)."""
    version = json.loads((PYODIDE / "package.json").read_text())["version"]
    cache = cache_root / f"pyc-pyodide-{version}"
    todo = []
    for wheel in sorted(stage.glob("*.whl")):
        key = cache / sha256(wheel)[:20]
        if not (key / wheel.name).exists():
            todo.append((wheel, key))
    stdlib = cache / f"stdlib-{sha256(PYODIDE / 'python_stdlib.zip')[:20]}"
    if todo or not (stdlib / "python_stdlib.zip").exists():
        with tempfile.TemporaryDirectory() as tmp_in, tempfile.TemporaryDirectory() as tmp_out:
            for wheel, _ in todo:
                shutil.copy2(wheel, tmp_in)
            flags = [] if (stdlib / "python_stdlib.zip").exists() else ["--stdlib"]
            run("node", HERE / "pycompile.mjs", PYODIDE, tmp_in, tmp_out, *flags)
            for wheel, key in todo:
                key.mkdir(parents=True, exist_ok=True)
                shutil.move(Path(tmp_out) / wheel.name, key / wheel.name)
            if flags:
                stdlib.mkdir(parents=True, exist_ok=True)
                shutil.move(Path(tmp_out) / "python_stdlib.zip", stdlib / "python_stdlib.zip")
    keep = set()
    for wheel in sorted(stage.glob("*.whl")):
        keep.add(cache / sha256(wheel)[:20])
        shutil.copy2(cache / sha256(wheel)[:20] / wheel.name, out / wheel.name)
    # The package's own wheel is new at each build: keep only the current one's bytecode.
    for old in cache.glob("*/k8snetviz-*.whl"):
        if old.parent not in keep:
            shutil.rmtree(old.parent, ignore_errors=True)
    shutil.copy2(stdlib / "python_stdlib.zip", out / "python_stdlib.zip")


def for_pyodide(notebook: Path, target: Path) -> None:
    """A copy of ``notebook`` that names the site's kernel: JupyterLab asks which kernel to start for a
    notebook whose kernel it does not know and whose language it cannot tell (python3 is not here)."""
    data = json.loads(notebook.read_text(encoding="utf-8"))
    data["metadata"]["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
    data["metadata"].setdefault("language_info", {"name": "python"})
    target.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def loaded_dumps(notebooks: list[Path]) -> list[Path]:
    """The real dumps the notebooks name (``tests/data/dumps/NAME``): only those go into the site."""
    names = {m for nb in notebooks for m in re.findall(r"tests/data/dumps/([\w.-]+)", nb.read_text(encoding="utf-8"))}
    return sorted(DUMPS / name for name in names if (DUMPS / name).exists())


def lite_dir(work: Path, dist: Path) -> Path:
    """The JupyterLite folder: its settings, the course's files, Pyodide with the locked wheels."""
    lite = work / "lite"
    shutil.rmtree(lite, ignore_errors=True)
    shutil.copytree(HERE / "lite", lite)
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    (lite / "files" / "notebooks").mkdir(parents=True)
    for notebook in notebooks:
        for_pyodide(notebook, lite / "files" / "notebooks" / notebook.name)
    for dump in loaded_dumps(notebooks):
        target = lite / "files" / dump.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if dump.is_dir() else shutil.copy2)(dump, target)
    shutil.copytree(dist, lite / "static" / "pyodide")
    return lite


def default_cache() -> Path:
    """Where downloads are kept between builds: ``$K8SNETVIZ_SITE_CACHE``, else ``$XDG_CACHE_HOME/k8snetviz/site``."""
    if os.environ.get("K8SNETVIZ_SITE_CACHE"):
        return Path(os.environ["K8SNETVIZ_SITE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "k8snetviz" / "site"


def size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "site-work")
    parser.add_argument("--cache", type=Path, default=default_cache(),
                        help="downloads and compiled wheels, kept between builds (outside the checkout)")
    args = parser.parse_args()
    out, work, cache = args.out.resolve(), args.work.resolve(), args.cache.expanduser().resolve()
    step(f"cache: {cache}")
    global LOG
    work.mkdir(parents=True, exist_ok=True)
    LOG = work / "build.log"
    LOG.write_text("")
    start = time.monotonic()
    platform = check_versions()
    pins = read_pins(HERE / "pyodide-packages.txt")

    step("wheels: k8snetviz from its sdist, the kernel's own, PyYAML made pure")
    local = [own_wheel(work).parent, kernel_wheels(work), pure_pyyaml(cache, str(pins["pyyaml"]))]

    step("the packages the kernel loads (site/pyodide-packages.txt), from PyPI once, then from the cache")
    stage = work / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        packages = resolve(ROOTS, pins, local, cache / "pypi", platform)
    except LockError as error:
        raise SystemExit(f"site: {error}") from None
    info = json.loads((PYODIDE / "pyodide-lock.json").read_text())["info"]
    write_lock(packages, info, stage)

    step(f"{len(packages)} wheels and the standard library as Python 3.14 bytecode (Pyodide in Node)")
    dist = work / "pyodide"
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir()
    precompile(stage, cache, dist)
    for name in PYODIDE_CORE:
        shutil.copy2(PYODIDE / name, dist / name)
    shutil.copy2(stage / "pyodide-lock.json", dist / "pyodide-lock.json")
    rehash(dist / "pyodide-lock.json")

    step("jupyter lite build")
    lite = lite_dir(work, dist)
    shutil.rmtree(out, ignore_errors=True)  # always from scratch: an incremental build can lose a setting
    jupyter = Path(sys.executable).parent / "jupyter"
    run(jupyter, "lite", "build", "--output-dir", out, cwd=lite, quiet=True)
    run(jupyter, "lite", "check", "--output-dir", out, cwd=lite, quiet=True)

    step("checks: nothing in the site's settings points outside it")
    for config in out.rglob("*.json"):
        if "schema" in config.parts or config.name.endswith(".schema.json"):
            continue
        text = config.read_text(errors="replace")
        hosts = [h for h in CDN_HOSTS if h in text]
        if hosts:
            raise SystemExit(f"site: {config.relative_to(out)} names {', '.join(hosts)}")
    total, count = size(out)
    pyodide_bytes, _ = size(out / "static" / "pyodide")
    print(f"==> site: {out} is {total / 1e6:.1f} MB in {count} files (Pyodide and the wheels: "
          f"{pyodide_bytes / 1e6:.1f} MB), built in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
