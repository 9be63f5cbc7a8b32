"""The built wheel: one top-level package, the monitor's dependencies only, and it runs.

``pip wheel --no-deps --no-build-isolation`` builds from this checkout with the
setuptools already installed (no network), the way ``pip install .`` does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.packaging.test_monitor_only import assert_monitored, loaded_modules, run_user_script

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("ocr", "bridge", "tui", "runners", "configs")
STACK = {"torch", "torchvision", "pytorch-lightning", "hydra-core", "timm", "torchmetrics", "numpy",
         "opencv-python-headless", "pyclipper", "shapely", "pillow", "simplejpeg",
         "pypdfium2"}  # fmt: skip
PROBE = "import ocrtop, ocrtop.monitor as m; print(ocrtop.__file__, m.config_dir())"


def dist_name(requirement: str) -> str:
    """The distribution name of a ``Requires-Dist`` line: ``omegaconf<2.4,>=2.3`` -> omegaconf."""
    return re.split(r"[\s\[<>=!~;,(]", requirement, maxsplit=1)[0].lower()


def copy_checkout(dest: Path) -> Path:
    """The files git tracks (or would), symlinks as symlinks: a clean clone's tree.

    Building from a copy keeps ``build/`` and ``*.egg-info`` out of the checkout, and a
    stale ``build/lib`` (modules since moved or deleted) out of the wheel.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src, dst = ROOT / rel, dest / rel
        if not (src.is_symlink() or src.is_file()):
            continue  # deleted in the work tree, not yet in the index
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dst)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    tree = copy_checkout(tmp_path_factory.mktemp("tree"))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(tree),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    (path,) = out.glob("ocrtop-*.whl")
    return path


def test_the_wheel_installs_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert top - dist_info == {"ocrtop"} and len(dist_info) == 1
    # every folder of the checkout is inside, as real files (not links)
    for folder in FOLDERS:
        assert f"ocrtop/{folder}/__init__.py" in names
    assert "ocrtop/runners/train.py" in names and "ocrtop/configs/train.yaml" in names
    assert "ocrtop/configs/callbacks/bridge.yaml" in names and "ocrtop/tui/app.tcss" in names
    sources = {p.relative_to(ROOT).as_posix() for f in FOLDERS for p in (ROOT / f).rglob("*.py")}
    packaged = {n.removeprefix("ocrtop/") for n in names if n.endswith(".py")}
    assert sources <= packaged, sorted(sources - packaged)[:5]


def test_the_wheel_requires_no_training_stack_without_the_extra(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(z.read(meta_name).decode())
    requires = meta.get_all("Requires-Dist") or []
    core = [r for r in requires if "extra ==" not in r]
    core_names = {dist_name(r) for r in core}
    assert core_names == {"psutil", "nvidia-ml-py", "textual", "omegaconf"}
    assert not core_names & STACK
    ocr = [r for r in requires if 'extra == "ocr"' in r]
    assert {dist_name(r) for r in ocr} == STACK
    assert "ocr" in (meta.get_all("Provides-Extra") or [])


def test_the_installed_wheel_monitors_a_script_without_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    """Installed alone (``pip install --target``), with the OCR stack blocked and the
    checkout off the path, the wheel's ``ocrtop`` monitors a user's Lightning script."""
    site = tmp_path / "site"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-compile",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(p.name for p in site.iterdir() if not p.name.endswith(".dist-info")) == [
        "bin",
        "ocrtop",
    ]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    init, configs = probe.stdout.split()
    assert Path(init).is_relative_to(site) and Path(configs).is_relative_to(site), probe.stdout
    run_dir = run_user_script(tmp_path, str(site))
    assert_monitored(run_dir)
    modules = loaded_modules(run_dir)
    assert not {name.partition(".")[0] for name in modules} & set(FOLDERS)  # no top-level `bridge`
    ours = {name: file for name, file in modules.items() if name.partition(".")[0] == "ocrtop"}
    assert "ocrtop.ocr.callbacks.bridge" in ours and "ocrtop.bridge.publisher" in ours
    assert all(file is None or Path(file).is_relative_to(site) for file in ours.values())
