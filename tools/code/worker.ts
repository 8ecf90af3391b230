import { parentPort, workerData } from "node:worker_threads";
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC } from "quickjs-emscripten";
import type { CodeLimits } from "./limits.ts";
import type { CodeResult } from "./result.ts";
import { Sandbox } from "./sandbox.ts";
import type { RunReply } from "./result.ts";

export type WorkerRequest =
  | { type: "run"; id: number; code: string; limits: CodeLimits; session?: number }
  | { type: "close-session"; id: number; session: number };

/** Given when the worker starts: the size of its WebAssembly memory, which nothing can outgrow. */
export interface WorkerData {
  memoryBytes: number;
}

export type WorkerReply =
  | { type: "ready" }
  /**
   * A run's `retire` is set when its memory ran out or freeing a program's
   * state failed: QuickJS does not recover from every such failure cleanly.
   */
  | RunReply
  | { type: "closed"; id: number; retire: boolean };

const port = parentPort;
if (!port) throw new Error("tools/code/worker.ts runs inside a worker thread (see CodeInterpreter)");
const WASM_PAGE = 65536;
/** QuickJS's own starting size (16 MiB). */
const INITIAL_PAGES = 256;
const { memoryBytes } = workerData as WorkerData;
const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: Math.floor(memoryBytes / WASM_PAGE) });
/**
 * Set once the memory could not grow: an allocation failed, whatever the
 * program then did. (A single allocation over QuickJS's own limit fails
 * cleanly before it reaches the memory.)
 */
let exhausted = false;
/** Set when freeing a sandbox failed: the engine has aborted. */
let aborted = false;
const grow = memory.grow.bind(memory);
memory.grow = (pages: number) => {
  try {
    return grow(pages);
  } catch (error) {
    exhausted = true;
    throw error;
  }
};
// Loading the WebAssembly module is the slow part: once per worker.
const module = await newQuickJSWASMModule(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
const sessions = new Map<number, Sandbox>();

port.on("message", (request: WorkerRequest) => {
  if (request.type === "close-session") {
    const sandbox = sessions.get(request.session);
    sessions.delete(request.session);
    if (sandbox) dispose(sandbox);
    port.postMessage({ type: "closed", id: request.id, retire: exhausted || aborted } satisfies WorkerReply);
    return;
  }
  let reply: WorkerReply;
  try {
    const ran = run(request);
    const result: CodeResult = exhausted ? { status: "out-of-memory", output: ran.output, error: "out of memory" } : ran;
    reply = { type: "result", id: request.id, result, retire: exhausted || aborted };
  } catch (error) {
    reply = { type: "crashed", id: request.id, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ type: "ready" } satisfies WorkerReply);

/** A program without a session gets a sandbox of its own; a session's sandbox is made on first use. */
function run(request: Extract<WorkerRequest, { type: "run" }>): CodeResult {
  if (request.session === undefined) {
    const sandbox = new Sandbox(module);
    try {
      return sandbox.run(request.code, request.limits);
    } finally {
      dispose(sandbox);
    }
  }
  let sandbox = sessions.get(request.session);
  if (!sandbox) {
    sandbox = new Sandbox(module);
    sessions.set(request.session, sandbox);
  }
  return sandbox.run(request.code, request.limits);
}

/**
 * QuickJS asserts that freeing a runtime frees every object, and a few
 * interrupted promise chains break that: the engine aborts. The program's
 * result is already known, so it is still reported, and the worker retires.
 */
function dispose(sandbox: Sandbox): void {
  try {
    sandbox.dispose();
  } catch {
    aborted = true;
  }
}
