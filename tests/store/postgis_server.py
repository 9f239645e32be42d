"""A throw-away PostgreSQL + PostGIS server for the tests (Debian packages, no docker).

``start_server()`` runs ``initdb`` into a fresh temporary directory, starts
``postgres`` with ``pg_ctl`` on a free TCP port of 127.0.0.1 (unix socket in
the same directory), sets a password for the ``postgres`` role (host logins use
scram-sha-256) and creates an empty database.  Run as root, the cluster is
owned by and runs as the ``postgres`` system user.  Durability is off
(``fsync=off``): this server only lives for one test session.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = ("run scripts/install_system_deps.sh (Debian packages postgresql and "
                "postgresql-15-postgis-3)")
PASSWORD = "geosvc-test-secret"


class ServerUnavailable(RuntimeError):
    """The PostgreSQL binaries or PostGIS are missing, or the server did not start."""


def find_bindir() -> Path:
    """Return the directory of ``initdb``/``pg_ctl``/``postgres`` (Debian or PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                        else 0, reverse=True)
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(str(Path(os.path.realpath(which)).parent))
    for cand in candidates:
        path = Path(cand)
        if all((path / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
            return path
    msg = f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}"
    raise ServerUnavailable(msg)


def check_postgis(bindir: Path) -> None:
    """Raise :class:`ServerUnavailable` when PostGIS is not installed for this server."""
    pg_config = bindir / "pg_config"
    sharedir = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True,
                              check=False).stdout.strip() if pg_config.is_file() else ""
    if not sharedir:  # pg_config lives in the client package on Debian
        sharedir = f"/usr/share/postgresql/{bindir.parent.name}"
    if not (Path(sharedir) / "extension" / "postgis.control").is_file():
        msg = f"PostGIS is not installed for the server in {bindir}; {INSTALL_HINT}"
        raise ServerUnavailable(msg)


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running test server; :meth:`stop` removes it and its directory."""

    bindir: Path
    root: Path
    port: int
    dbname: str
    start_s: float
    run_as: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        """URL of the test database, with the password (host login)."""
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{self.dbname}"

    def url_for(self, schema: str) -> str:
        """URL of one dataset (a PostgreSQL schema) in the test database."""
        return f"{self.url}?schema={schema}"

    def stop(self) -> None:
        """Stop the server immediately and delete its files."""
        subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m",
                        "immediate", "-w", "stop"], capture_output=True, check=False,
                       **self.run_as)
        shutil.rmtree(self.root, ignore_errors=True)


def start_server(dbname: str = "geosvc_test") -> Server:
    """Initialise, start and return a fresh server with database ``dbname``."""
    bindir = find_bindir()
    check_postgis(bindir)
    t0 = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="geosvc-pg-"))
    run_as: dict = {}
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError as exc:
            msg = f"running as root needs the `postgres` system user; {INSTALL_HINT}"
            raise ServerUnavailable(msg) from exc
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> None:
        proc = subprocess.run(list(args), capture_output=True, text=True, env=env,
                              cwd=root, check=False, **run_as)
        if proc.returncode != 0:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            msg = f"{Path(args[0]).name} failed: {proc.stderr.strip()}\n{tail}"
            raise ServerUnavailable(msg)

    run(str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "-E", "UTF8",
        "--no-locale", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
        f"--pwfile={pwfile}")
    port = free_port()
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
               "-c shared_buffers=32MB")
    run(str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"),
        "-o", options, "-w", "-t", "30", "start")
    server = Server(bindir, root, port, dbname, 0.0, run_as)
    psql = shutil.which("psql") or str(bindir / "psql")
    try:
        run(psql, "-h", str(root), "-p", str(port), "-U", "postgres", "-d", "postgres",
            "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {dbname}")
    except ServerUnavailable:
        server.stop()
        raise
    server.start_s = time.perf_counter() - t0
    return server
