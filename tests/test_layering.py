"""Layers import downwards only: handlers never import bot; storage and sources import neither;
the search engine imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_type_hints

import pytest

from bot.config import Settings
from handlers.common import HandlerSettings

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> list[str]:
    """Return every module a source file imports, at any depth (functions, TYPE_CHECKING)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """Return 'file: module' for each import in package of a forbidden top-level package."""
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in imported_modules(path)
        if name.split(".")[0] in forbidden
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("handlers", ("bot",)),
        ("storage", ("bot", "handlers", "telegram")),
        ("sources", ("bot", "handlers", "telegram")),
        # The engine reads the archive through search.engine.SearchRows, which storage answers.
        ("search", ("bot", "handlers", "telegram", "storage", "sources", "aiosqlite", "asyncpg")),
    ],
)
def test_layer_imports_nothing_above_it(package: str, forbidden: tuple[str, ...]) -> None:
    assert offending(package, forbidden) == []


def test_the_sqlite_store_does_not_know_postgresql() -> None:
    # One neutral module chooses the backend; the SQLite store and the PostgreSQL store (which
    # changes what differs) do not import each other both ways.
    store = imported_modules(ROOT / "storage" / "store.py")
    assert [name for name in store if name.startswith("storage.pg")] == []
    assert "storage.pg.store" in imported_modules(ROOT / "storage" / "backends.py")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import bot", ["bot"]),
        ("import bot.config as c", ["bot.config"]),
        ("from bot.schedule import parse_hhmm", ["bot.schedule"]),
        ("from bot import config", ["bot"]),
        ("def f():\n    from bot.supervisor import Health\n", ["bot.supervisor"]),
        ("from . import texts", []),
        ("import botany", ["botany"]),
    ],
)
def test_imports_are_found_wherever_they_are(
    tmp_path: Path, source: str, expected: list[str]
) -> None:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    assert imported_modules(path) == expected


def test_settings_give_handlers_what_they_read() -> None:
    assert isinstance(Settings(), HandlerSettings)
    fields = get_type_hints(Settings)
    members = {
        name: get_type_hints(member.fget)["return"]
        for name, member in vars(HandlerSettings).items()
        if isinstance(member, property)
    }
    assert members
    assert members == {name: fields[name] for name in members}


def test_reads_never_leave_a_statement_open_across_an_await() -> None:
    # A cursor read row by row keeps its statement, and so its read snapshot, open while other
    # tasks query the same reader connection: they then miss rows committed since (a chat just
    # created read back as missing, under load). Readers fetch whole results in one call.
    root = Path(__file__).resolve().parent.parent / "storage"
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "_read.execute(" in line
    ]
    assert offenders == []
