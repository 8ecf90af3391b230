import { afterAll, describe, expect, it } from "vitest";
import { codeObservation, PythonInterpreter, pythonTool } from "../tools/code/index.ts";
import { callWithText } from "../tools/tool.ts";
import { Docstore, WikiEnvironment } from "../tools/wiki/index.ts";

const MIB = 1024 * 1024;
/** Hostile programs get a short deadline so they end quickly; nothing here asserts how long anything took. */
const SHORT = { limits: { timeoutMs: 300 } };
// One warm interpreter for every test (Pyodide takes seconds to load); ordinary programs get a long deadline.
const interpreter = new PythonInterpreter({ timeoutMs: 20_000, memoryBytes: 128 * MIB, maxOutputChars: 500 });
const run = async (code: string, options = {}) => codeObservation(await interpreter.run(code, options), "None");

afterAll(() => interpreter.close());

// Every call starts an interpreter of its own (a second or more on a loaded machine).
describe("Python interpreter", { timeout: 90_000 }, () => {
  it("shows what the program printed and the value of its last expression", async () => {
    expect(await run(`import math\nprint("sum", 1 + 2, [1, "a"])\nmath.comb(10, 3)`)).toBe("Output:\nsum 3 [1, 'a']\nResult: 120");
    expect(await run(`"text"`)).toBe(`Result: 'text'`);
    expect(await run(`print("only output")`)).toBe("Output:\nonly output");
    expect(await run(`import asyncio\nawait asyncio.sleep(0)\nsorted({3, 1, 2})`)).toBe("Result: [1, 2, 3]");
  });

  it("starts every call in a fresh namespace with the built-ins restored", async () => {
    expect(await run(`leftover = 1\nimport builtins\nbuiltins.len = None\nleftover`)).toBe("Result: 1");
    expect(await run(`len([1, 2])`)).toBe("Result: 2");
    expect(await run(`leftover`)).toBe("Error: NameError: name 'leftover' is not defined (line 1)");
  });

  it("reports a syntax error and an exception by the traceback's last line, with the program's line", async () => {
    expect(await run(`x = 1\ndef f(:\n    pass`)).toBe("Error: SyntaxError: invalid syntax (line 2)");
    expect(await run(`def f():\n    raise ValueError("bad input")\n\nf()`)).toBe("Error: ValueError: bad input (line 2)");
    expect(await run(`print("before")\n1 / 0`)).toBe("Output:\nbefore\nError: ZeroDivisionError: division by zero (line 2)");
    expect(await run(`def f(): return f()\nf()`)).toBe("Error: RecursionError: maximum recursion depth exceeded (line 1)");
  });

  it("stops an infinite loop at the deadline, and the next call works without a restart", async () => {
    expect(await run(`while True: pass`, SHORT)).toBe("Error: timed out after 300 ms");
    expect(await run(`1 + 1`)).toBe("Result: 2");
  });

  it("kills the worker of a program that ignores the deadline's interrupt, and the next call works", async () => {
    const stubborn = `print("started")\nwhile True:\n    try:\n        while True: pass\n    except BaseException: pass`;
    expect(await run(stubborn, SHORT)).toBe("Error: timed out after 300 ms");
    expect(await run(`2 + 2`)).toBe("Result: 4");
  });

  it("ends a memory bomb with a clear error, and the next call works", async () => {
    const result = await interpreter.run(`chunks = []\nwhile True: chunks.append("x" * 10**6 + str(len(chunks)))`);
    expect(result).toMatchObject({ status: "out-of-memory", error: "out of memory" });
    expect(await run(`[1, 2][-1]`)).toBe("Result: 2");
  });

  it("cuts huge output and results to the limit with a marker", async () => {
    expect(await run(`print("x" * 1000)`)).toBe(`Output:\n${"x".repeat(500)}… [truncated 501 chars]`);
    expect(await run(`"y" * 1000`)).toBe(`Result: '${"y".repeat(499)}… [truncated 502 chars]`);
  });

  it.each([
    ["the host's files", `open("/etc/passwd").read()`, "FileNotFoundError: [Errno 44] No such file or directory: '/etc/passwd' (line 1)"],
    ["the host's JavaScript", `import js\njs.process`, "ImportError: module 'js' is not available in this sandbox (line 1)"],
    ["Pyodide's API", `import pyodide_js`, "ImportError: module 'pyodide_js' is not available in this sandbox (line 1)"],
    ["processes", `import subprocess\nsubprocess.run(["ls"])`, "OSError: [Errno 138] emscripten does not support processes. (line 2)"],
  ])("cannot reach %s", async (_, program, error) => {
    expect(await run(program)).toBe(`Error: ${error}`);
  });

  it("cannot reach the network, by sockets, urllib or asyncio", async () => {
    expect(await run(`import socket\nsocket.create_connection(("1.1.1.1", 80))`)).toBe(
      "Error: OSError: [Errno 23] Host is unreachable (line 2)",
    );
    expect(await run(`import urllib.request\nurllib.request.urlopen("http://example.com")`)).toMatch(/^Error: urllib.error.URLError: .*unreachable/);
    expect(await run(`import asyncio\nawait asyncio.open_connection("1.1.1.1", 80)`)).toMatch(/^Error: NotImplementedError/);
  });

  it("leaves nothing of the host behind the import guard", async () => {
    // The guard is Python-level and can be walked around: what lies behind it must refuse too.
    const real = `real = __import__.__globals__["_import"]\n`;
    expect(await run(`${real}real("js").process`)).toBe("Error: AttributeError: process (line 2)");
    expect(await run(`${real}real("pyodide_js").mountNodeFS("/mnt", "/etc")`)).toMatch(/not available in the Python sandbox/);
    expect(await run(`${real}api = real("pyodide_js")\napi.FS.filesystems.NODEFS`)).toBe("Error: AttributeError: NODEFS (line 3)");
    expect(await run(`${real}await real("pyodide_js")._api.loadBinaryFile("/etc/passwd")`)).toMatch(/not available in the Python sandbox/);
    expect(await run(`${real}real("pyodide.ffi").ffi.to_js({}).constructor.constructor`)).toBe("Result: None");
    expect(await run(`${real}real("pyodide.code").code.run_js("process")`)).toMatch(/^Error: ImportError: cannot import name 'eval'/);
  });

  it("offers the host nothing of its environment", async () => {
    expect(await run(`import os\nsorted(os.environ)`)).not.toMatch(/PATH': '\/usr|_'/);
  });

  it("refuses to start a call whose signal is already aborted", async () => {
    await expect(interpreter.run(`1`, { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});

describe("Python tool", { timeout: 90_000 }, () => {
  it("answers a text action Python[program], in an environment that opts in", async () => {
    const environment = new WikiEnvironment(new Docstore([]), [pythonTool({ interpreter })]);
    const step = await environment.step({ name: "Python", argument: `sum(x * x for x in [3, 4])` });
    expect(step.observation).toBe("Result: 25");
    expect(await callWithText(pythonTool({ interpreter }), `print(len("abc"))`)).toBe("Output:\n3");
  });
});
