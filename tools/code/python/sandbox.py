"""The Python side of the sandbox (tools/code/python/worker.ts runs this once per worker).

Defines `run_program`, which runs one program in a fresh namespace and answers
with JSON. Every worker runs one program, so nothing a program changes reaches
the next. The host's own protections (tools/code/python/seal.ts) do not depend
on this file: the guards here give a clear error where a program asks for what
the host refuses anyway.
"""

import builtins
import errno
import json
import os
import posix
import sys
import traceback

from pyodide.code import eval_code_async

# Programs run as this file, so error locations name it.
PROGRAM_FILE = "<program>"
# Pyodide's bridge to JavaScript (and its package installer): only Pyodide itself may import these.
BRIDGE_MODULES = frozenset({"js", "pyodide", "pyodide_js", "_pyodide", "_pyodide_core", "micropip"})
# Foreign functions reach the C library, and through it the host's imports: no one imports these.
FOREIGN_MODULES = frozenset({"ctypes", "_ctypes"})
# What would start, replace or signal a process.
PROCESS_FUNCTIONS = (
    "system", "popen", "posix_spawn", "posix_spawnp", "fork", "forkpty", "kill", "killpg",
    "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
    "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
)

_import = builtins.__import__


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    root = name.split(".")[0]
    importer = (globals or {}).get("__name__") or ""
    inside_pyodide = importer.split(".")[0] in BRIDGE_MODULES
    if level == 0 and (root in FOREIGN_MODULES or (root in BRIDGE_MODULES and not inside_pyodide)):
        raise ImportError(f"module {name!r} is not available in this sandbox")
    return _import(name, globals, locals, fromlist, level)


def _no_processes(*args, **kwargs):
    raise OSError(errno.ENOSYS, "processes are not available in this sandbox")


def _exit(code):
    """os._exit ends the program as sys.exit does: there is no process of its own to end."""
    raise SystemExit(code)


builtins.__import__ = _guarded_import
for _module in (os, posix):
    for _name in PROCESS_FUNCTIONS:
        if hasattr(_module, _name):
            setattr(_module, _name, _no_processes)
    _module._exit = _exit
# Emscripten passes the worker's script path as `_`: nothing of the host belongs in the environment.
os.environ.pop("_", None)


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
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
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
