"""A throwaway PostgreSQL server for tests and CI: initdb in a folder, loopback only, then gone.

From a shell: `python -m tests.pgserver start DIR` prints the server's URL (DIR: an empty folder
it may take over); `python -m tests.pgserver stop DIR` stops the server and deletes DIR.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Debian's layout first, newest version first; then whatever is on PATH.
_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_USER = "furat"
_DATABASE = "furat"
# A throwaway server need not survive a crash: without fsync the suite runs several times faster.
_SETTINGS = (
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=200",
)


@dataclass(frozen=True)
class Server:
    """A running throwaway server: its folder and the URL of its database."""

    base: Path
    url: str


def bin_dir() -> Path | None:
    """Return the folder holding initdb, pg_ctl and postgres, or None when not installed."""
    found = sorted(Path("/").glob(_BIN_GLOB.lstrip("/")), key=_version, reverse=True)
    found = [d for d in found if (d / "initdb").exists()]
    if found:
        return found[0]
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _version(path: Path) -> float:
    try:
        return float(path.parent.name)
    except ValueError:
        return 0.0


def _runner() -> tuple[list[str], int | None, int | None]:
    # initdb and postgres refuse to run as root: run them as an unprivileged user then.
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run as")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{output}")


def start(base: Path | None = None) -> Server:
    """Initialise a cluster in BASE (a new temporary folder by default), start it, make a DB."""
    bindir = bin_dir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: no initdb")
    base = Path(tempfile.mkdtemp(prefix="furat-pg-")) if base is None else base
    base.mkdir(parents=True, exist_ok=True)
    prefix, uid, gid = _runner()
    if uid is not None and gid is not None:
        # The server owns its folder: the data, its log and its unix socket live there.
        os.chown(base, uid, gid)
        os.chmod(base, 0o700)
    password = secrets.token_hex(16)
    pwfile = base / "password"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if uid is not None and gid is not None:
        os.chown(pwfile, uid, gid)
    data = base / "data"
    _run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            _USER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )
    env = {**os.environ, "PGPASSWORD": password}
    for attempt in range(5):
        port = _free_port()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {port}",
                f"-k {base}",
                *(f"-c {s}" for s in _SETTINGS),
            ]
        )
        try:
            _run(
                [
                    *prefix,
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(base / "log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
            break
        except RuntimeError as e:
            # Another process may have taken the port between choosing and binding it.
            if attempt == 4:
                log = base / "log"
                raise RuntimeError(log.read_text() if log.exists() else str(e)) from e
    _run(
        [
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            _USER,
            _DATABASE,
        ],
        env=env,
    )
    url = f"postgresql://{_USER}:{password}@127.0.0.1:{port}/{_DATABASE}"
    (base / "url").write_text(url + "\n")
    (base / "url").chmod(0o600)
    return Server(base, url)


def stop(base: Path) -> None:
    """Stop the server in BASE, if one runs, and delete BASE."""
    bindir = bin_dir()
    data = base / "data"
    if bindir is not None and (data / "postmaster.pid").exists():
        prefix, _, _ = _runner()
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
    shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Start or stop a throwaway server from a shell."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.pgserver start|stop DIR", file=sys.stderr)
        return 2
    base = Path(argv[1]).resolve()
    if argv[0] == "stop":
        stop(base)
        return 0
    try:
        server = start(base)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        stop(base)
        return 1
    print(server.url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
