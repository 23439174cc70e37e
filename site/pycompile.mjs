// Precompiles Python to CPython 3.14 bytecode with Pyodide itself, running in Node.js: the build machine's
// Python is another version, whose .pyc files Pyodide cannot use. Pyodide's CDN serves precompiled
// packages; the npm core and PyPI's wheels carry only sources, and compiling them in the browser at every
// start-up doubles the time to a ready kernel.
//
//   node site/pycompile.mjs PYODIDE_DIR IN_DIR OUT_DIR [--stdlib]
//
// * each IN_DIR/*.whl is written to OUT_DIR/ with __pycache__/NAME.cpython-314.pyc beside every .py
//   (unchecked-hash pycs: valid whatever the file times are once unpacked; the sources stay, so
//   tracebacks show code); files under a package's tests/ folder are left out, as Pyodide's own build
//   does, and RECORD lists what the wheel holds;
// * with --stdlib, PYODIDE_DIR/python_stdlib.zip is written to OUT_DIR/ with NAME.pyc in place of each
//   NAME.py (zipimport reads NAME.pyc from a zip, never __pycache__).
//
// Zip entries carry a fixed date, so the same input gives the same bytes.
import path from "node:path";

const [pyodideDir, inDir, outDir, ...flags] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node site/pycompile.mjs PYODIDE_DIR IN_DIR OUT_DIR [--stdlib]");
  process.exit(2);
}
const { loadPyodide } = await import(path.resolve(pyodideDir, "pyodide.mjs"));
const py = await loadPyodide({ indexURL: path.resolve(pyodideDir) + "/" });
for (const [mount, dir] of [["/in", inDir], ["/out", outDir], ["/dist", pyodideDir]]) {
  py.FS.mkdirTree(mount);
  py.FS.mount(py.FS.filesystems.NODEFS, { root: path.resolve(dir) }, mount);
}
py.globals.set("DO_STDLIB", flags.includes("--stdlib"));
py.runPython(String.raw`
import glob, os, py_compile, sys, zipfile

MODE = py_compile.PycInvalidationMode.UNCHECKED_HASH
TAG = sys.implementation.cache_tag  # cpython-314


def zip_write(zout, name, data):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zout.writestr(info, data)


def compiled(source, name):
    """The unchecked-hash pyc of one module's source, or None when it does not compile (py2 leftovers)."""
    with open("/tmp/m.py", "wb") as f:
        f.write(source)
    try:
        py_compile.compile("/tmp/m.py", cfile="/tmp/m.pyc", dfile=name, doraise=True, invalidation_mode=MODE)
    except py_compile.PyCompileError:
        return None
    with open("/tmp/m.pyc", "rb") as f:
        return f.read()


for whl in sorted(glob.glob("/in/*.whl")):
    n_pyc, left_out, added = 0, set(), []
    with zipfile.ZipFile(whl) as zin, zipfile.ZipFile("/out/" + os.path.basename(whl), "w") as zout:
        record_name = next(n for n in zin.namelist() if n.endswith(".dist-info/RECORD"))
        for item in zin.infolist():
            if item.filename == record_name or item.is_dir():
                continue
            if "tests" in item.filename.split("/")[1:-1]:
                left_out.add(item.filename)
                continue
            data = zin.read(item)
            zip_write(zout, item.filename, data)
            if item.filename.endswith(".py") and ".dist-info/" not in item.filename:
                pyc = compiled(data, item.filename)
                if pyc is not None:
                    folder, base = os.path.split(item.filename)
                    pyc_name = (folder + "/" if folder else "") + f"__pycache__/{base[:-3]}.{TAG}.pyc"
                    zip_write(zout, pyc_name, pyc)
                    added.append(pyc_name)
        record = [line for line in zin.read(record_name).decode().splitlines()
                  if line and line.split(",", 1)[0] not in left_out]
        zip_write(zout, record_name, ("\n".join(record) + "\n" + "".join(f"{n},,\n" for n in added)).encode())
    print(f"  {os.path.basename(whl)}: {len(added)} pyc, {len(left_out)} test files left out")

if DO_STDLIB:
    n = 0
    with zipfile.ZipFile("/dist/python_stdlib.zip") as zin, zipfile.ZipFile("/out/python_stdlib.zip", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.endswith(".py"):
                pyc = compiled(data, item.filename)
                if pyc is not None:
                    zip_write(zout, item.filename[:-3] + ".pyc", pyc)
                    n += 1
                    continue
            zout.writestr(item, data)  # data files and folders as they were
    print(f"  python_stdlib.zip: {n} modules as pyc (sourceless)")
`);
