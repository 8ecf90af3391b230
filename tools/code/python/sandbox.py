"""The Python side of the sandbox (tools/code/python/worker.ts runs this once per worker).

Defines `run_program`, which runs one program in a fresh namespace and answers
with JSON. The host's own protections (no JavaScript globals, no sockets, no
host files) do not depend on this file; the import guard here only makes the
Pyodide bridge to JavaScript unreachable by name, with a clear error.
"""

import builtins
import json
import os
import sys
import traceback

from pyodide.code import eval_code_async

# Programs run as this file, so error locations name it.
PROGRAM_FILE = "<program>"
# Pyodide's bridge to JavaScript (and its package installer): only Pyodide itself may import these.
BRIDGE_MODULES = frozenset({"js", "pyodide", "pyodide_js", "_pyodide", "_pyodide_core", "micropip"})

_import = builtins.__import__


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__") or ""
    inside_pyodide = importer.split(".")[0] in BRIDGE_MODULES
    if level == 0 and name.split(".")[0] in BRIDGE_MODULES and not inside_pyodide:
        raise ImportError(f"module {name!r} is not available in this sandbox")
    return _import(name, globals, locals, fromlist, level)


builtins.__import__ = _guarded_import
# Emscripten passes the worker's script path as `_`: nothing of the host belongs in the environment.
os.environ.pop("_", None)
# What a program may change for the next one: restored after each run.
_BUILTINS = dict(builtins.__dict__)
_STREAMS = (sys.stdin, sys.stdout, sys.stderr)
_RECURSION_LIMIT = sys.getrecursionlimit()


async def run_program(code: str) -> str:
    """`{"value": repr}` of the last expression (None when it ends in a statement), or `{"error": line}`."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        value = await eval_code_async(code, namespace, filename=PROGRAM_FILE)
        reply = {"value": repr(value)}
    # SystemExit and the deadline's KeyboardInterrupt too: nothing may escape into Pyodide's event loop.
    except BaseException as error:
        reply = {"error": _described(error)}
    finally:
        _restore()
    return json.dumps(reply)


def _described(error: BaseException) -> str:
    """The traceback's last line, with the program's line where the error arose."""
    text = traceback.format_exception_only(error)[-1].strip()
    if isinstance(error, SyntaxError) and error.filename == PROGRAM_FILE:
        line = error.lineno
    else:
        frames = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == PROGRAM_FILE]
        line = frames[-1] if frames else None
    return text if line is None else f"{text} (line {line})"


def _restore() -> None:
    for stream in _STREAMS[1:]:
        stream.flush()
    sys.stdin, sys.stdout, sys.stderr = _STREAMS
    sys.setrecursionlimit(_RECURSION_LIMIT)
    builtins.__dict__.clear()
    builtins.__dict__.update(_BUILTINS)
