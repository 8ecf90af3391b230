import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PythonInterpreter } from "../tools/code/index.ts";

/**
 * Programs written as an attacker would, each trying to reach the host through
 * a different door: every one tries to create `marker` on the host (through a
 * shell, JavaScript, or a file), or to leave something behind for the next
 * program. Each must leave no marker, and the call after it must find the
 * interpreter as a fresh one is.
 */
const marker = join(mkdtempSync(join(tmpdir(), "python-hostile-")), "pwned");
const shell = `touch ${marker}`;
const js = `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`;
const jsSpawn = `require("child_process").execSync(${JSON.stringify(shell)})`;
/** The real `__import__`, past sandbox.py's guard (a Python-level guard can be walked around). */
const real = `real = __import__.__globals__["_import"]\n`;
const ctypes = `${real}ctypes = real("ctypes")\nlibc = ctypes.CDLL(None)\n`;
/** `_ctypes` made afresh from the built-in table, then `ctypes` executed from its file: no import statement at all. */
const ctypesFromFile = `import _imp, importlib.util, importlib.machinery, sys
sys.modules["_ctypes"] = _imp.create_builtin(importlib.machinery.ModuleSpec("_ctypes", None))
spec = importlib.util.spec_from_file_location("c", sys.prefix + "/lib/python3.14/ctypes/__init__.py")
ctypes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ctypes)
libc = ctypes.CDLL(None)
`;

const hostile: [string, string][] = [
  ["os.system", `import os\nos.system(${JSON.stringify(shell)})`],
  ["os.system, backgrounded", `import os\nos.system("sleep 2 && ${shell} &")`],
  ["os.popen", `import os\nos.popen(${JSON.stringify(shell)}).read()`],
  ["subprocess with a shell", `import subprocess\nsubprocess.run(${JSON.stringify(shell)}, shell=True)`],
  ["subprocess.Popen", `import subprocess\nsubprocess.Popen(["touch", ${JSON.stringify(marker)}])`],
  ["os.posix_spawn", `import os\nos.posix_spawn("/bin/sh", ["sh", "-c", ${JSON.stringify(shell)}], {})`],
  ["os.posix_spawnp", `import os\nos.posix_spawnp("sh", ["sh", "-c", ${JSON.stringify(shell)}], {})`],
  ["os.execv", `import os\nos.execv("/bin/sh", ["sh", "-c", ${JSON.stringify(shell)}])`],
  ["os.execlp", `import os\nos.execlp("sh", "sh", "-c", ${JSON.stringify(shell)})`],
  ["os.fork", `import os\nif os.fork() == 0: os.system(${JSON.stringify(shell)})`],
  ["posix.system, past os", `import posix\nposix.system(${JSON.stringify(shell)})`],
  ["a fresh posix module from the built-in table", `import _imp, importlib.machinery\nposix = _imp.create_builtin(importlib.machinery.ModuleSpec("posix", None))\nposix.system(${JSON.stringify(shell)})`],
  ["os.kill of the host", `import os\nos.kill(os.getppid(), 9)\nos.kill(1, 9)`],
  ["signal.raise_signal", `import signal\nsignal.raise_signal(signal.SIGKILL)`],
  ["ctypes by import", `import ctypes\nctypes.CDLL(None).system(${JSON.stringify(shell)}.encode())`],
  ["ctypes by importlib", `import importlib\nimportlib.import_module("ctypes")`],
  ["ctypes by __import__", `__import__("ctypes")`],
  ["ctypes from its file, _ctypes from the built-in table", `${ctypesFromFile}libc.system(${JSON.stringify(shell)}.encode())`],
  ["ctypes past the guard: system", `${ctypes}libc.system(${JSON.stringify(shell)}.encode())`],
  ["ctypes past the guard: emscripten_run_script", `${ctypes}libc.emscripten_run_script(${JSON.stringify(js)}.encode())`],
  ["ctypes past the guard: emscripten_run_script_string", `${ctypes}f = libc.emscripten_run_script_string\nf.restype = ctypes.c_char_p\nf(${JSON.stringify(jsSpawn)}.encode())`],
  ["ctypes past the guard: emscripten_run_script_int", `${ctypes}libc.emscripten_run_script_int(b"process.kill(process.pid), 1")`],
  ["ctypes past the guard: emscripten_async_run_script", `${ctypes}libc.emscripten_async_run_script(${JSON.stringify(js)}.encode(), 0)`],
  ["ctypes past the guard: dynamic import in a script", `${ctypes}libc.emscripten_run_script(b"import('node:child_process').then(c => c.execSync('${shell}'))")`],
  ["ctypes past the guard: emscripten_async_wget of a host file", `${ctypes}libc.emscripten_async_wget(b"file:///etc/passwd", b"/tmp/passwd", None, None)\nopen("/tmp/passwd").read()`],
  ["js by import", `import js\njs.process.kill(js.process.pid)`],
  ["js from sys.modules", `import sys\nsys.modules["js"].process`],
  ["js past the guard", `${real}real("js").process.mainModule.require("child_process")`],
  ["pyodide_js past the guard", `${real}real("pyodide_js")._module.require("child_process")`],
  ["_pyodide past the guard", `${real}real("_pyodide._base").eval_code("1")\nreal("_pyodide_core")`],
  ["pyodide.code.run_js", `${real}real("pyodide.code").code.run_js(${JSON.stringify(jsSpawn)})`],
  ["a JavaScript function's constructor", `${real}ffi = real("pyodide.ffi").ffi\nffi.to_js({}).constructor.constructor("return process")().exit(1)`],
  ["pyodide_js.mountNodeFS", `${real}api = real("pyodide_js")\napi.mountNodeFS("/host", "/")\nopen("/host${marker}", "w").write("x")`],
  ["pyodide_js loadBinaryFile", `${real}await real("pyodide_js")._api.loadBinaryFile("/etc/passwd")`],
  ["pyodide_js.loadPackage", `${real}await real("pyodide_js").loadPackage("file:///etc/passwd")`],
  ["importlib.util on Pyodide's bridge", `import importlib.util\nimportlib.util.find_spec("js").loader.load_module("js").process`],
  ["the host's files by path", `open(${JSON.stringify(marker)}, "w").write("x")\nopen("/etc/passwd").read()`],
  ["the network", `import socket\nsocket.create_connection(("127.0.0.1", 22), timeout=1)`],
  ["a stubborn SIGINT handler", `import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass`],
  ["os._exit", `import os\nos._exit(3)`],
];

/** Programs that try to leave something behind for the next one. */
const lingering: [string, string][] = [
  ["leaving a timer for the next program", `import signal\nsignal.setitimer(signal.ITIMER_REAL, 0.05)\nsignal.alarm(1)`],
  ["leaving a callback for the next program", `import asyncio\nasyncio.get_event_loop().call_later(0.05, lambda: open("/tmp/pwned", "w"))`],
  ["replacing a built-in", `import builtins\nbuiltins.len = lambda x: 42\nbuiltins.pwned = True`],
  ["replacing the sandbox's own state", `import __main__\n__main__.run_program = None\n__main__.__dict__.setdefault("_BUILTINS", {})["len"] = None`],
  ["replacing the sandbox's functions' code", `import __main__\n__main__.run_program.__code__ = (lambda code: None).__code__`],
  ["replacing a module's function", `import json, math\njson.dumps = lambda *a, **k: '{"value": "42"}'\nmath.pi = 3`],
  ["poisoning sys.modules and sys.path", `import sys\nsys.modules["math"] = None\nsys.modules["pwned"] = sys\nsys.path.insert(0, "/tmp")`],
  ["a file for the next program", `open("/tmp/pwned", "w").write("x")\nimport os\nos.environ["PWNED"] = "1"`],
];

const STATE = `import builtins, json, math, os, sys, __main__
(len([1, 2]), [name for name in dir(builtins) if "pwn" in name], "PWNED" in os.environ, os.path.exists("/tmp/pwned"),
 "pwned" in sys.modules, json.dumps([1]), math.pi, sys.path[0], sorted(vars(__main__)), __main__.run_program.__code__.co_name)`;

const interpreter = new PythonInterpreter({ timeoutMs: 2000 });
/** Each test starts two interpreters, and a stubborn program waits out its deadline and the grace after it. */
const PER_PROGRAM_MS = 90_000;
let fresh = "";

beforeAll(async () => {
  fresh = JSON.stringify(await interpreter.run(STATE));
  expect(fresh).toContain(`"status":"ok"`);
});
afterAll(() => interpreter.close());

describe(`Python sandbox against ${hostile.length + lingering.length} hostile programs`, () => {
  it.each(hostile)("contains %s, and the next program finds a fresh interpreter", async (_, program) => {
    const result = await interpreter.run(program);
    expect(result.status === "ok" ? result.value : "").not.toMatch(/^0$/);
    expect(existsSync(marker)).toBe(false);
    expect(JSON.stringify(await interpreter.run(STATE))).toBe(fresh);
  }, PER_PROGRAM_MS);

  it.each(lingering)("lets nothing through %s", async (_, program) => {
    await interpreter.run(program);
    expect(JSON.stringify(await interpreter.run(STATE))).toBe(fresh);
  }, PER_PROGRAM_MS);

  it("leaves no process behind: the backgrounded shell never ran", async () => {
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(existsSync(marker)).toBe(false);
  });
});

describe("the worker that runs Python", () => {
  it("has no process, no eval, no function constructors and a require that refuses every module", async () => {
    const worker = new Worker(new URL("./helpers/sealed-worker.mjs", import.meta.url));
    const reached = await new Promise<string[]>((resolve, reject) => worker.once("message", resolve).once("error", reject));
    await worker.terminate();
    expect(reached).toEqual([
      "process: undefined",
      "eval: refused (not available in the Python sandbox)",
      "indirect eval: refused (not available in the Python sandbox)",
      "require child_process: refused (not available in the Python sandbox)",
      "require fs: refused (not available in the Python sandbox)",
      expect.stringMatching(/^function constructor: refused/),
      expect.stringMatching(/^async function constructor: refused/),
    ]);
  });
});
