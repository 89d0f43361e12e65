"""The seeds ship with the program: an installed furat opens on them from any folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SEED_PLACES, Settings, _default_seeds
from tests.conftest import ROOT, SEEDS

# What a wheel is made of: the project's metadata and the folders its packages come from.
SOURCES = (
    "pyproject.toml", "README.md", "bot", "handlers", "search", "sources", "storage", "seeds"
)


@pytest.mark.parametrize(
    ("present", "chosen"),
    [
        ({"here", "package", "checkout"}, "here"),
        ({"package", "checkout"}, "package"),
        ({"checkout"}, "checkout"),
        ({"here", "checkout"}, "here"),
        (set(), "checkout"),  # nothing anywhere: the last place, as before
    ],
)
def test_seeds_are_looked_for_here_then_in_the_package_then_the_checkout(
    tmp_path: Path, present: set[str], chosen: str
) -> None:
    places = tuple(tmp_path / name / "seeds" for name in ("here", "package", "checkout"))
    for place in places:
        if place.parent.name in present:
            place.mkdir(parents=True)
    assert _default_seeds(places) == tmp_path / chosen / "seeds"


def test_seed_places_are_the_current_folder_the_package_and_the_checkout() -> None:
    here, package, checkout = SEED_PLACES
    assert here == Path("seeds")
    assert package == ROOT / "bot" / "seeds"
    assert checkout == ROOT / "seeds"


def test_furat_seeds_comes_first(tmp_path: Path) -> None:
    assert Settings.from_env({"FURAT_SEEDS": str(tmp_path)}).seeds == tmp_path


def _installed_tree(tmp_path: Path) -> Path:
    """Build the packages as a wheel holds them (setuptools' build_py); return the folder."""
    pytest.importorskip("setuptools")
    src, lib = tmp_path / "src", tmp_path / "lib"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    # A copy: building in the checkout would leave build/ and *.egg-info behind.
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py"]
        + ["--build-lib", str(lib)],
        cwd=src,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return lib


def _run_installed(lib: Path, folder: Path, *args: str, stdin: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FURAT_")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.update(PYTHONPATH=str(lib), FURAT_DB=str(folder / "furat.db"), FURAT_LOG_LEVEL="WARNING")
    proc = subprocess.run(
        [sys.executable, *args],
        input=stdin,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_installed_package_opens_on_its_own_seeds_from_any_folder(tmp_path: Path) -> None:
    lib = _installed_tree(tmp_path)
    shipped = sorted(p.name for p in (lib / "bot" / "seeds").glob("*.txt"))
    assert shipped == sorted(p.name for p in SEEDS.glob("*.txt")) and shipped
    folder = tmp_path / "anywhere"
    folder.mkdir()
    code = "import bot.config as c; print(c.__file__); print(c.Settings.from_env().seeds)"
    module, seeds = _run_installed(lib, folder, "-c", code).splitlines()
    assert Path(module).resolve() == (lib / "bot" / "config.py").resolve()
    assert Path(seeds).resolve() == (lib / "bot" / "seeds").resolve()
    out = _run_installed(lib, folder, "-m", "bot", "search", "--json", "--limit", "1", "كاليبر")
    [result] = json.loads(out)["results"]
    assert result["doc"].startswith("00") and "كاليبر" in result["passage"]
    out = _run_installed(lib, folder, "-m", "bot", "chat", stdin="/about\n/quit\n")
    assert "المقالات: 5" in out and "archive is empty" not in out
    # Nothing else written here: the database and its derived search index.
    assert sorted(p.name for p in folder.iterdir()) == ["furat.db", "furat.db.index"]
