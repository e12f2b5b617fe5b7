"""A throw-away PostgreSQL server for tests, started from Debian's packages.

``postgres_server()`` runs ``initdb`` and ``pg_ctl start`` in a new temporary
folder as an unprivileged user (PostgreSQL refuses to run as root: the
``postgres`` system user the package created when this process is root, this
process's own user otherwise). The server listens on 127.0.0.1 only, on a free
port, with its unix socket in the folder and trust authentication for local
connections only. It yields an SQLAlchemy URL (``postgresql+psycopg://...``),
then stops the server and removes the folder, also when the test fails.

``new_database(url)`` gives a test a database of its own on that server.
``unavailable()`` says in one line why no server can be started here (no
binaries, no unprivileged user, no psycopg), or returns None.
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

# Debian's layout (postgresql-NN); PG_BIN overrides it
_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_USER = "postgres"
_START_TIMEOUT_S = 60


def _bin_dir() -> str | None:
    """The folder holding initdb and pg_ctl, the newest major version first."""
    if os.environ.get("PG_BIN"):
        candidates = [os.environ["PG_BIN"]]
    else:
        candidates = sorted(glob.glob(_BIN_GLOB), key=_major, reverse=True)
        if shutil.which("initdb"):
            candidates.append(os.path.dirname(shutil.which("initdb")))
    for folder in candidates:
        if all(os.access(os.path.join(folder, n), os.X_OK) for n in ("initdb", "pg_ctl")):
            return folder
    return None


def _major(folder: str) -> int:
    name = os.path.basename(os.path.dirname(folder))
    return int(name) if name.isdigit() else 0


def _run_as() -> list[str] | None:
    """The command prefix that runs a program as an unprivileged user, or None."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(_USER)
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return [runuser, "-u", _USER, "--"] if runuser else None


def unavailable() -> str | None:
    """Why no PostgreSQL server can be started here, in one line; None if one can."""
    try:
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        return f"PostgreSQL tests need psycopg and SQLAlchemy ({exc})"
    if _bin_dir() is None:
        where = os.environ.get("PG_BIN") or f"{_BIN_GLOB} or on PATH"
        return (
            f"no PostgreSQL server binaries (initdb, pg_ctl) in {where}; "
            "install Debian's postgresql package (.ci/run does when it runs as root)"
        )
    if _run_as() is None:
        return f"running as root without a '{_USER}' user and runuser to start PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=_START_TIMEOUT_S)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"{what} failed ({done.returncode}): " + " | ".join(tail))


@contextlib.contextmanager
def postgres_server(dbname: str = "skmlp"):
    """Start a PostgreSQL server in a temporary folder; yield its SQLAlchemy URL.

    Parameters
    ----------
    dbname : str, default="skmlp"
        The database created for the caller (owned by the server's user).

    Yields
    ------
    url : str
        ``postgresql+psycopg://USER@127.0.0.1:PORT/DBNAME``.
    """
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    bin_dir, prefix = _bin_dir(), _run_as()
    user = _USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    root = tempfile.mkdtemp(prefix="skmlp-pg-")
    os.chmod(root, 0o700)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    pg_ctl = [*prefix, os.path.join(bin_dir, "pg_ctl"), "-D", data]
    started = False
    try:
        # trust for local connections only: the server listens on 127.0.0.1 and its socket
        # sits in a folder only the server's user can enter
        _check(
            [*prefix, os.path.join(bin_dir, "initdb"), "-D", data, "-U", user,
             "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
            "initdb",
        )  # fmt: skip
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _check([*pg_ctl, "-l", log, "-o", options, "-w", "-t", str(_START_TIMEOUT_S), "start"],
               "pg_ctl start")  # fmt: skip
        started = True
        createdb = [*prefix, os.path.join(bin_dir, "createdb"), "-h", "127.0.0.1", "-p"]
        _check([*createdb, str(port), "-U", user, dbname], "createdb")
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/{dbname}"
    finally:
        if started:
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=_START_TIMEOUT_S)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def new_database(url: str) -> str:
    """Create an empty database on the server of ``url``; return its URL."""
    import uuid

    import sqlalchemy

    name = "test_" + uuid.uuid4().hex[:16]
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    finally:
        engine.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def timed_server_cycle() -> tuple[float, float]:
    """Start and stop one server; return (start seconds, stop seconds)."""
    t0 = time.perf_counter()
    with postgres_server():
        t1 = time.perf_counter()
    return t1 - t0, time.perf_counter() - t1
