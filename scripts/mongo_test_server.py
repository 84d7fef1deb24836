#!/usr/bin/env python3
"""A MongoDB wire-protocol server for the auth-mongo tests, started on a free loopback port.

No real `mongod` can be installed from a package registry without downloading a binary at
run time, so the tests run against nx-27017 (from PyPI): a MongoDB wire-protocol server
that keeps its data in SQLite through the neosqlite library. The official Rust driver
passes everything auth-mongo needs on it (unique and TTL indexes, duplicate-key error
11000, `find_one_and_update` with its conditions checked, cursors, transactions) once
three bugs of neosqlite 1.17.2 are worked around below. To test against a real MongoDB
instead, set MYAUTH_TEST_MONGODB_URL and scripts/test.sh never starts this one.

Run with any Python 3.10+:

    python3 scripts/mongo_test_server.py [--host 127.0.0.1] [--port 0] [--log FILE]

The first run creates a virtual environment under ~/.cache/myauth/ with the pinned
versions below (about ten seconds); later runs reuse it. The script then re-executes
itself inside that environment (same process id), prints one line with the server's URL
on stdout, and serves in the foreground, in memory, until SIGTERM or SIGINT.
scripts/mongo-test-server.sh wraps this for shell scripts.

Looser than MongoDB in ways tests must not rely on: every query is a full scan in
Python (timings mean nothing); expired TTL documents vanish at once; transactions are not
isolated between connections of one database (each test uses its own database name);
index names are not kept; `{field: null}` does not match a stored null; binary subtypes
are not kept. Tests stay runnable against a real mongod.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

# Exact versions, all of them, transitive dependencies included: the workarounds below
# reach into neosqlite's internals, which change between releases. Changing a pin means
# checking every workaround again (the script refuses to start if one no longer applies).
PINS = (
    "nx-27017==0.8.1",
    "neosqlite==1.17.2",
    "pymongo==4.20.1",
    "dnspython==2.9.2",
)

MIN_PYTHON = (3, 10)  # nx-27017 uses `match` statements.


def venv_dir() -> Path:
    """Where the pinned environment lives: under the user's cache, named by its pins, so
    that changing a pin builds a new environment instead of patching an old one."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = "-".join(pin.replace("==", "-") for pin in PINS[:2])
    return cache / "myauth" / f"mongo-test-server-{tag}"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv() -> Path:
    """Creates the environment once. It is built in a temporary directory and renamed into
    place only when every package installed, so an interrupted install is never reused."""
    venv = venv_dir()
    marker = venv / "myauth-pins.txt"
    wanted = "\n".join(PINS) + "\n"
    if venv_python(venv).exists() and marker.exists() and marker.read_text() == wanted:
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    building = venv.with_name(f"{venv.name}.building-{os.getpid()}")
    subprocess.run(["rm", "-rf", str(building)], check=True)
    print(f"mongo test server: installing {' '.join(PINS)} into {venv}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True)
    subprocess.run(
        [
            str(venv_python(building)),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            *PINS,
        ],
        check=True,
    )
    (building / "myauth-pins.txt").write_text(wanted)
    # A venv records its own path in its scripts, but `python -m` (all we use) works from
    # the renamed directory. Another run may have finished first: keep the one in place.
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    try:
        building.rename(venv)
    except OSError:
        subprocess.run(["rm", "-rf", str(building)], check=True)
    return venv


def free_port(host: str) -> int:
    # The port is free now; another process could take it before the server binds it,
    # in which case the server exits and the shell wrapper reports its log.
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def apply_workarounds() -> None:
    """Patches neosqlite 1.17.2 so that what the Rust driver sends behaves as on MongoDB.
    Each patch checks first that the code it replaces is still there, so a changed pin
    fails here, loudly, instead of in a confusing test."""
    from neosqlite.collection import Collection
    from neosqlite.collection import query_helper
    from neosqlite.collection.sql_translator_unified import SQLTranslator
    from nx_27017 import utils as nx_utils

    for owner, name in (
        (query_helper, "set_force_fallback"),
        (SQLTranslator, "translate_match"),
        (Collection, "aggregate"),
        (Collection, "count_documents"),
        (nx_utils, "convert_bson_to_neo_objectids"),
    ):
        if not callable(getattr(owner, name, None)):
            sys.exit(f"mongo test server: {owner.__name__}.{name} is gone; re-check the workarounds")

    # 1. neosqlite's SQL fast path for updates writes a `$set` of a boolean as the integer 1
    #    and a `$set` of a BSON DateTime as a string, so `{is_active: true}` and date
    #    comparisons stop matching the updated document. Its pure-Python path keeps the
    #    types; this global switch makes every query and update take it.
    query_helper.set_force_fallback(True)

    # 2. Its translation of a filter to SQL matches nothing for an equality on an ObjectId
    #    field other than `_id` in count, update and delete. Answering "not translatable"
    #    makes neosqlite evaluate every filter in Python instead.
    def no_sql_translation(self, match_spec, *args, **kwargs):
        return None, []

    SQLTranslator.translate_match = no_sql_translation

    # 3. nx-27017 converts the driver's BSON ObjectIds to neosqlite's own ObjectId type for
    #    find and update, but not for `count` and `aggregate`; the driver's
    #    `count_documents` is an aggregate, so a count filtered on an ObjectId field was 0.
    convert = nx_utils.convert_bson_to_neo_objectids

    def converting(method):
        def wrapper(self, first=None, *args, **kwargs):
            return method(self, convert(first), *args, **kwargs)

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    Collection.aggregate = converting(Collection.aggregate)
    Collection.count_documents = converting(Collection.count_documents)


def serve(args: argparse.Namespace) -> int:
    apply_workarounds()
    from nx_27017.nx_27017 import main as nx_main

    port = args.port or free_port(args.host)
    log = args.log or os.devnull
    # nx-27017 insists on a pid file and refuses to start while one names a live process;
    # one per server process never collides with a concurrent run.
    pid_file = Path(tempfile.gettempdir()) / f"myauth-mongo-test-server-{os.getpid()}.pid"
    print(f"mongodb://{args.host}:{port}/?directConnection=true", flush=True)
    # nx-27017 reads its own command line; `--db memory` keeps every database in RAM, so
    # nothing is left behind when the server stops.
    sys.argv = [
        "nx-27017",
        "--db",
        "memory",
        "--host",
        args.host,
        "--port",
        str(port),
        "--log-file",
        log,
        "--pid-file",
        str(pid_file),
    ]
    return nx_main() or 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--log", help="the server's log file (default: none)")
    args = parser.parse_args()

    if sys.version_info < MIN_PYTHON:
        sys.exit(f"mongo test server: needs Python {'.'.join(map(str, MIN_PYTHON))}+")
    venv = ensure_venv()
    if Path(sys.prefix).resolve() != venv.resolve():
        # Same process id afterwards, so whoever started us can stop the server by it.
        python = str(venv_python(venv))
        os.execv(python, [python, str(Path(__file__).resolve()), *sys.argv[1:]])
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
