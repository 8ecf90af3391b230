import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { loadPyodide } from "pyodide";
import { z } from "zod";
import type { PythonCallLimits } from "../limits.ts";
import { truncate, type CodeResult } from "../result.ts";
import type { RunReply } from "../result.ts";
import { CappedOutput } from "./output.ts";
import { refuseHostImports, sealPyodide, sealWorker } from "./seal.ts";

export type PythonWorkerRequest = { type: "run"; id: number; code: string; limits: PythonCallLimits };

export interface PythonWorkerData {
  /** The most WebAssembly memory Pyodide may grow to. */
  memoryBytes: number;
  /** Pyodide's interrupt buffer: the host writes SIGINT into it at the deadline. */
  interrupt: SharedArrayBuffer;
  /** Pyodide's memory just after it loaded, made by the first worker; absent, this worker makes it. */
  snapshot?: Uint8Array;
}

/** `snapshot`: sent by a worker that loaded Pyodide from scratch, for the workers after it. */
export type PythonWorkerReply = { type: "ready"; snapshot?: Uint8Array } | RunReply;

const port = parentPort;
if (!port) throw new Error("tools/code/python/worker.ts runs inside a worker thread (see PythonInterpreter)");
const { memoryBytes, interrupt, snapshot } = workerData as PythonWorkerData;
const WASM_PAGE = 65536;
const indexURL = `${dirname(createRequire(import.meta.url).resolve("pyodide/pyodide.asm.wasm"))}/`;

/** Set once the memory could not grow: an allocation failed, whatever the program then did. */
let exhausted = false;
capMemory();
refuseHostImports();
// A memory snapshot restores in a fraction of the time a load from scratch takes.
const pyodide = await loadPyodide({
  indexURL,
  jsglobals: Object.create(null),
  env: {},
  stdin: () => null,
  ...(snapshot ? { _loadSnapshot: snapshot } : { _makeSnapshot: true }),
});
const made = snapshot ? undefined : pyodide.makeMemorySnapshot();
const output = new CappedOutput();
for (const stream of [pyodide.setStdout, pyodide.setStderr]) stream.call(pyodide, { write: (bytes) => output.write(bytes) });
sealPyodide(pyodide);
sealWorker();
pyodide.runPython(readFileSync(new URL("./sandbox.py", import.meta.url), "utf8"), { filename: "sandbox.py" });
const runProgram = pyodide.globals.get("run_program") as (code: string) => Promise<string>;
// The first program compiles and imports what every program needs: done here, not on the program's clock.
await runProgram("None");
pyodide.setInterruptBuffer(new Int32Array(interrupt));

const SandboxReplySchema = z.union([z.object({ value: z.string() }), z.object({ error: z.string() })]);

// A worker runs one program: the next one gets an interpreter nothing has touched.
port.once("message", async (request: PythonWorkerRequest) => {
  output.reset(request.limits.maxOutputChars);
  let reply: PythonWorkerReply;
  try {
    const answer = SandboxReplySchema.parse(JSON.parse(await runProgram(request.code)));
    reply = { type: "result", id: request.id, result: codeResult(answer, request.limits), retire: true };
  } catch (error) {
    // run_program catches every Python exception: what reaches here is Pyodide failing (a fatal error).
    reply = { type: "crashed", id: request.id, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ type: "ready", snapshot: made } satisfies PythonWorkerReply);

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
