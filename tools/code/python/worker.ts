import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { loadPyodide, type PyodideAPI } from "pyodide";
import { z } from "zod";
import type { PythonCallLimits } from "../limits.ts";
import { truncate, type CodeResult } from "../result.ts";
import type { RunReply } from "../worker-thread.ts";
import { CappedOutput } from "./output.ts";

export type PythonWorkerRequest = { type: "run"; id: number; code: string; limits: PythonCallLimits };

export interface PythonWorkerData {
  /** The most WebAssembly memory Pyodide may grow to. */
  memoryBytes: number;
  /** Pyodide's interrupt buffer: the host writes SIGINT into it at the deadline. */
  interrupt: SharedArrayBuffer;
}

/** A run's `retire` is set when its memory ran out: the worker is replaced rather than trusted further. */
export type PythonWorkerReply = { type: "ready" } | RunReply;

const port = parentPort;
if (!port) throw new Error("tools/code/python/worker.ts runs inside a worker thread (see PythonInterpreter)");
const { memoryBytes, interrupt } = workerData as PythonWorkerData;
const WASM_PAGE = 65536;
const require = createRequire(import.meta.url);
const indexURL = `${dirname(require.resolve("pyodide/pyodide.asm.wasm"))}/`;

/** Set once the memory could not grow: an allocation failed, whatever the program then did. */
let exhausted = false;
capMemory();
blockSockets();
// Loading Pyodide and its standard library is the slow part (seconds): once per worker.
const pyodide = await loadPyodide({ indexURL, jsglobals: Object.create(null), env: {}, stdin: () => null });
const output = new CappedOutput();
for (const stream of [pyodide.setStdout, pyodide.setStderr]) stream.call(pyodide, { write: (bytes) => output.write(bytes) });
sealJavaScript(pyodide);
pyodide.runPython(readFileSync(new URL("./sandbox.py", import.meta.url), "utf8"), { filename: "sandbox.py" });
const runProgram = pyodide.globals.get("run_program") as (code: string) => Promise<string>;
pyodide.setInterruptBuffer(new Int32Array(interrupt));

const SandboxReplySchema = z.union([z.object({ value: z.string() }), z.object({ error: z.string() })]);

port.on("message", async (request: PythonWorkerRequest) => {
  output.reset(request.limits.maxOutputChars);
  let reply: PythonWorkerReply;
  try {
    const answer = SandboxReplySchema.parse(JSON.parse(await runProgram(request.code)));
    reply = { type: "result", id: request.id, result: codeResult(answer, request.limits), retire: exhausted };
  } catch (error) {
    // run_program catches every Python exception: what reaches here is Pyodide failing (a fatal error).
    reply = { type: "crashed", id: request.id, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ type: "ready" } satisfies PythonWorkerReply);

function codeResult(answer: z.infer<typeof SandboxReplySchema>, limits: PythonCallLimits): CodeResult {
  const printed = output.text();
  if (exhausted) return { status: "out-of-memory", output: printed, error: "out of memory" };
  if ("error" in answer) return { status: "error", output: printed, error: truncate(answer.error, limits.maxOutputChars) };
  return { status: "ok", output: printed, value: truncate(answer.value, limits.maxOutputChars) };
}

/**
 * Pyodide's memory is exported by its WebAssembly module with a 4 GiB
 * maximum, so growth itself is refused past `memoryBytes`: Emscripten's
 * allocator then fails and Python raises MemoryError.
 */
function capMemory(): void {
  const grow = WebAssembly.Memory.prototype.grow;
  WebAssembly.Memory.prototype.grow = function (this: WebAssembly.Memory, pages: number) {
    if (this.buffer.byteLength + pages * WASM_PAGE > memoryBytes) {
      exhausted = true;
      throw new RangeError("the Python sandbox's memory limit");
    }
    return grow.call(this, pages);
  };
}

/**
 * Emscripten's sockets in Node are WebSockets made with the `ws` package,
 * required when a program connects: the module cache answers that require
 * with a constructor that refuses, so `socket` and `urllib` reach nothing.
 */
function blockSockets(): void {
  const pyodideRequire = createRequire(`${indexURL}pyodide.asm.mjs`);
  const ws = pyodideRequire.resolve("ws");
  const refuse = function NoNetwork() {
    throw new Error("the Python sandbox has no network");
  };
  pyodideRequire.cache[ws] = { id: ws, filename: ws, loaded: true, exports: refuse } as unknown as NodeJS.Module;
}

/**
 * Leaves a program nothing of the host to reach through JavaScript, should it
 * get past sandbox.py's import guard (a Python-level guard can be walked
 * around). `import js` sees an empty object (jsglobals). Pyodide's own API
 * stays reachable from Python, so its members that touch the host (mounting
 * host folders, Node's sockets, reading files and packages from disk) refuse.
 * A JavaScript value a program makes cannot lead back to the global scope:
 * the function constructors (`fn.constructor("return process")`) and V8's
 * stack-trace hook, which hands out callers' `this`, are sealed. What the
 * worker itself could reach (network globals, native bindings) goes too.
 */
function sealJavaScript(api: PyodideAPI): void {
  const internals = api as unknown as Record<"_api" | "_module", Record<string, unknown>>;
  const refuse = () => {
    throw new Error("not available in the Python sandbox");
  };
  const hostReaching = {
    api: ["mountNodeFS", "mountNativeFS", "useNodeSockFS", "loadPackage", "loadPackagesFromImports"],
    _api: ["initializeNodeSockFS", "loadBinaryFile", "loadDynlib", "install"],
    _module: ["FS_createPreloadedFile", "FS_createLazyFile"],
    FS: ["createPreloadedFile", "createLazyFile"],
  };
  const owners: Record<keyof typeof hostReaching, Record<string, unknown>> = {
    api: api as unknown as Record<string, unknown>,
    _api: internals._api,
    _module: internals._module,
    FS: api.FS as Record<string, unknown>,
  };
  for (const [owner, names] of Object.entries(hostReaching) as [keyof typeof hostReaching, string[]][]) {
    for (const name of names) owners[owner][name] = refuse;
  }
  delete (api.FS.filesystems as Record<string, unknown>).NODEFS;
  delete internals._module.NODEFS;
  const functionKinds = [Function, (async () => {}).constructor, function* () {}.constructor, async function* () {}.constructor];
  for (const kind of functionKinds) Object.defineProperty(kind.prototype, "constructor", { value: undefined });
  Object.defineProperty(Error, "prepareStackTrace", { value: undefined, writable: false, configurable: false });
  const globals = globalThis as Record<string, unknown>;
  for (const name of ["fetch", "WebSocket", "EventSource", "XMLHttpRequest"]) delete globals[name];
  const host = process as unknown as Record<string, unknown>;
  for (const name of ["getBuiltinModule", "binding", "_linkedBinding", "dlopen"]) delete host[name];
}
