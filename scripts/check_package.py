"""``make package``: what a user downloads, checked the way a user meets it.

1. ``uv build`` writes the sdist to ``dist/`` and builds the wheel from that sdist (so the sdist
   is complete enough to build from); the build backend is pinned by the constraints.
2. ``twine check --strict`` on both.
3. Their contents: the LICENSE text in both, ``py.typed`` in the wheel and no tests there; tests,
   docs, example DAGs and CHANGELOG.md in the sdist; no published extras; one version everywhere.
4. A clean virtualenv, outside the repository, gets the wheel alone (no extras) with the tested
   constraints, and runs the README's quick start (section "Installation and quick start") as
   written, except that ``pip install airflow-provider-runs`` installs the built wheel, port 8080
   is a free port and ``~`` is a temporary directory.

Usage: ``python scripts/check_package.py [--constraints FILE] [--keep]``.
"""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
NAME = "airflow-provider-runs"
QUICK_START = "## Installation and quick start"
CLASSIFIERS = {
    "Development Status :: 4 - Beta",
    "Framework :: Apache Airflow",
    "Framework :: Apache Airflow :: Provider",
    "Operating System :: OS Independent",
    "Typing :: Typed",
}
SDIST_HOLDS = ["LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "tests/", "docs/", "example_dags/"]


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(cmd: list, shown: str | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    print("$ " + (shown or shlex.join(str(c) for c in cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, text=True, **kwargs)


def source_version() -> str:
    init = (ROOT / "airflow_provider_runs/__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', init, re.M)
    assert match, "no __version__ in airflow_provider_runs/__init__.py"
    return match.group(1)


def build(uv: str, constraints: Path) -> tuple[Path, Path]:
    step("build the sdist, then the wheel from it")
    run([uv, "build", "--quiet", "--clear", "--out-dir", DIST, "--build-constraints", constraints, ROOT])
    (sdist,) = DIST.glob("*.tar.gz")
    (wheel,) = DIST.glob("*.whl")
    for path in (sdist, wheel):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1024:.0f} KiB")
    return sdist, wheel


def check_contents(sdist: Path, wheel: Path, version: str) -> None:
    step("contents and metadata")
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0" in license_text
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        dist_info = f"airflow_provider_runs-{version}.dist-info"
        assert whl.read(f"{dist_info}/licenses/LICENSE").decode() == license_text, "wheel: LICENSE"
        assert "airflow_provider_runs/py.typed" in names, "wheel: py.typed"
        assert not [n for n in names if n.startswith(("tests/", "example_dags/"))], "wheel: tests"
        metadata = email.parser.Parser().parsestr(whl.read(f"{dist_info}/METADATA").decode())
        entry_points = whl.read(f"{dist_info}/entry_points.txt").decode()
    assert metadata["Version"] == version, (metadata["Version"], version)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert not metadata.get_all("Provides-Extra"), f"extras published: {metadata.get_all('Provides-Extra')}"
    missing = CLASSIFIERS - set(metadata.get_all("Classifier") or [])
    assert not missing, f"classifiers missing: {missing}"
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Changelog"} <= set(urls), urls
    assert "apache_airflow_provider" in entry_points
    print(f"wheel: {len(names)} files; Version {version}; no extras; Project-URLs {sorted(urls)}")
    prefix = f"airflow_provider_runs-{version}/"
    with tarfile.open(sdist) as tar:
        members = [m.name.removeprefix(prefix) for m in tar.getmembers()]
        sdist_license = tar.extractfile(prefix + "LICENSE")
        assert sdist_license is not None and sdist_license.read().decode() == license_text
    for item in SDIST_HOLDS:
        assert any(m == item or m.startswith(item) for m in members), f"sdist lacks {item}"
    assert not [m for m in members if "__pycache__" in m or m.startswith(".venv")], "sdist: junk"
    print(f"sdist: {len(members)} files, holds {', '.join(SDIST_HOLDS)}")


def quick_start_blocks() -> list[tuple[str, str, str]]:
    """The quick start's fenced blocks: (language, code, the prose just before the block)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index(QUICK_START)
    end = readme.find("\n## ", start + len(QUICK_START))
    section = readme[start : end if end != -1 else None]
    blocks, last = [], 0
    for match in re.finditer(r"^```(\w+)\n(.*?)^```", section, re.S | re.M):
        blocks.append((match.group(1), match.group(2), section[last : match.start()]))
        last = match.end()
    return blocks


def quick_start_script(uv: str, python: Path, constraints: Path, wheel: Path, port: int, work: Path) -> str:
    """The quick start as one bash script, run in ``work`` (outside the repository)."""
    lines = ["set -euo pipefail"]
    for language, code, before in quick_start_blocks():
        code = code.replace("8080", str(port)).replace("~/", f"{work}/")
        if language == "python":
            (target,) = re.findall(r"`([^`]+\.py)`", before)[-1:]
            lines += [f'mkdir -p "$(dirname {target})"', f"cat > {target} <<'QUICKSTART_EOF'", code.rstrip()]
            lines += ["QUICKSTART_EOF"]
            continue
        assert language == "bash", language
        for line in code.splitlines():
            command = re.sub(r"\s{2,}#.*$", "", line).strip()
            if not command or command.startswith("#"):
                continue
            lines.append("echo " + shlex.quote(f"$ {command}"))
            if command.startswith("pip install"):
                assert command.split()[2:] == [NAME], command
                command = shlex.join([uv, "pip", "install", "--quiet", "-p", str(python)])
                command += " " + shlex.join(["-c", str(constraints), str(wheel)])
            elif command.endswith("&"):
                command = command.rstrip("&").strip()
                # in the background (the check ends its whole process group), up to 60 s to listen
                wait = (
                    "for _ in $(seq 600); do grep -q 'listening on' background.log && break; sleep 0.1; done"
                )
                lines += [f"{command} > background.log 2>&1 &", wait, "cat background.log"]
                lines.append("grep -q 'listening on' background.log")
                continue
            lines.append(command)
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(work: Path, venv: Path) -> dict[str, str]:
    """A user's shell with the new virtualenv activated: nothing of this repository or its venvs.

    The registry and certificate settings stay (uv needs them); Airflow's home defaults to a
    directory under ``work`` (the quick start's ``~`` is ``work`` too).
    """
    dropped = ("AIRFLOW", "PYTHON", "VIRTUAL_ENV", "CONDA", "RUNS_", "PYTEST", "MAKE", "MFLAGS")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    env.update(VIRTUAL_ENV=str(venv), AIRFLOW_HOME=str(work / "airflow"))
    env["UV_LINK_MODE"] = "hardlink"  # a throw-away venv: link from uv's cache instead of copying
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return env


def check_installed(python: Path, version: str, env: dict[str, str], cwd: Path) -> None:
    step("what the clean virtualenv holds")
    probe = f"""
import importlib.metadata, importlib.util, pathlib
import airflow_provider_runs
from airflow_provider_runs.get_provider_info import get_provider_info
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow.providers_manager import ProvidersManager

package = pathlib.Path(airflow_provider_runs.__file__).parent
assert package.is_relative_to({str(python.parent.parent)!r}), package
assert (package / "py.typed").exists()
info = get_provider_info()
urls = dict(u.split(", ", 1) for u in importlib.metadata.metadata({NAME!r}).get_all("Project-URL"))
assert airflow_provider_runs.__version__ == importlib.metadata.version({NAME!r}) == {version!r}
assert info["versions"] == [{version!r}] and info["documentation-url"] == urls["Documentation"], info
provider = ProvidersManager().providers[{NAME!r}]
assert provider.version == {version!r}
assert provider.data["documentation-url"].strip() == urls["Documentation"]
dev_only = [m for m in ("pytest", "hypothesis", "playwright", "twine") if importlib.util.find_spec(m)]
assert not dev_only, dev_only
print("installed from", package)
print("version", provider.version, "| documentation-url", provider.data["documentation-url"].strip())
print("operators import; no developer-only package installed")
"""
    run([python, "-c", probe], shown="python -c <imports, provider info, ProvidersManager>", env=env, cwd=cwd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--constraints", type=Path, default=ROOT / "constraints/airflow-3.3.txt")
    parser.add_argument("--keep", action="store_true", help="keep the temporary virtualenv")
    args = parser.parse_args()
    constraints = args.constraints.resolve()
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    started = time.monotonic()
    version = source_version()
    sdist, wheel = build(uv, constraints)
    step("twine check")
    run([sys.executable, "-m", "twine", "--no-color", "check", "--strict", sdist, wheel])
    check_contents(sdist, wheel, version)

    work = Path(tempfile.mkdtemp(prefix="runs-package-"))
    try:
        venv = work / "venv"
        step(f"clean virtualenv {venv} (the wheel, no extras, {constraints.name})")
        run([uv, "venv", "--quiet", "-p", sys.executable, venv])
        python = venv / "bin" / "python"
        env = clean_env(work, venv)
        script = quick_start_script(uv, python, constraints, wheel, free_port(), work)
        (work / "quick_start.sh").write_text(script)
        step("the README's quick start")
        t0 = time.monotonic()
        proc = subprocess.Popen(
            ["bash", "quick_start.sh"],
            cwd=work,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            assert proc.stdout is not None
            output = []
            for line in proc.stdout:
                output.append(line)
                if line.startswith(("$ ", "emulator ", "airflow-provider-runs ")) or re.search(
                    r"Created run|ERROR|Error|Traceback", line
                ):
                    print(f"   [{time.monotonic() - t0:5.1f} s] {line.rstrip()[:200]}", flush=True)
            status = proc.wait()
        finally:
            with contextlib.suppress(ProcessLookupError):  # the emulator and whatever else it left
                os.killpg(proc.pid, signal.SIGTERM)
        if status != 0:
            print("".join(output[-60:]))
            raise SystemExit(f"the quick start failed (exit {status})")
        text = "".join(output)
        finished = re.search(r"DagRun Finished: dag_id=(\w+).*?run_duration=([\d.]+), state=(\w+)", text)
        assert finished and finished.group(3) == "success", "the quick start's DAG run did not succeed"
        print(
            f"   -> DagRun {finished.group(1)}: state={finished.group(3)} in {float(finished.group(2)):.1f} s"
        )
        print(f"quick start: {time.monotonic() - t0:.0f} s")
        check_installed(python, version, env, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nmake package: OK in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
