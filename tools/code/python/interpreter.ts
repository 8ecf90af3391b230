import { PythonLimitsSchema, type PythonCallLimits, type PythonLimits } from "../limits.ts";
import type { CodeResult } from "../result.ts";
import { exchange, runResult, startWorker, WorkerSlot } from "../worker-thread.ts";
import type { PythonWorkerData, PythonWorkerReply, PythonWorkerRequest } from "./worker.ts";

/**
 * How long a program may go on after the deadline's KeyboardInterrupt before
 * its worker is killed: a long call into C (a huge sum, a regex) only sees the
 * interrupt when it returns, and a program may catch the interrupt.
 */
const HARD_STOP_GRACE_MS = 500;
/** What Pyodide's interrupt buffer takes to raise KeyboardInterrupt. */
const SIGINT = 2;

export interface PythonRunOptions {
  /** Overrides the interpreter's limits for this call. */
  limits?: Partial<PythonCallLimits>;
  signal?: AbortSignal;
}

/**
 * Runs Python (Pyodide, standard library only) on a worker thread. Loading
 * Pyodide takes seconds, so one warm worker serves call after call, each
 * program in a fresh namespace (modules it imported stay loaded). At the
 * deadline the program gets a KeyboardInterrupt; one that has not answered
 * 0.5 s later is stopped by killing the worker, as is a worker whose memory
 * ran out; the next call starts a new one.
 */
export class PythonInterpreter {
  private readonly limits: PythonLimits;
  private readonly worker: WorkerSlot;
  /** Shared with every worker this interpreter starts; one program runs at a time. */
  private readonly interrupt = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  private nextId = 1;

  constructor(limits: Partial<PythonLimits> = {}) {
    this.limits = PythonLimitsSchema.parse(limits);
    const workerData: PythonWorkerData = { memoryBytes: this.limits.memoryBytes, interrupt: this.interrupt.buffer };
    // An empty environment: nothing of the host's variables is copied into the worker.
    const options = { workerData, env: {} };
    this.worker = new WorkerSlot(() => startWorker(new URL("./worker.mjs", import.meta.url), options, "Python interpreter"));
  }

  /** Runs a program in a fresh namespace. */
  async run(code: string, options: PythonRunOptions = {}): Promise<CodeResult> {
    options.signal?.throwIfAborted();
    const limits = PythonLimitsSchema.parse({ ...this.limits, ...options.limits });
    return this.worker.enqueue(async () => {
      const worker = await this.worker.start();
      Atomics.store(this.interrupt, 0, 0);
      let interrupted = false;
      const deadline = setTimeout(() => {
        interrupted = true;
        Atomics.store(this.interrupt, 0, SIGINT);
      }, limits.timeoutMs);
      const request: PythonWorkerRequest = { type: "run", id: this.nextId++, code, limits };
      const reply = await exchange<PythonWorkerReply>(worker, request, limits.timeoutMs + HARD_STOP_GRACE_MS);
      clearTimeout(deadline);
      if (reply.type !== "result" || reply.retire) this.worker.discard(worker);
      // An answer after the deadline is a timeout, whatever it says (the KeyboardInterrupt, or a program that caught it).
      if (interrupted && reply.type === "result") return { ...runResult({ type: "timeout" }, limits.timeoutMs), output: reply.result.output };
      return runResult(reply, limits.timeoutMs);
    });
  }

  /** Stops the worker; a later call starts a new one. */
  close(): Promise<void> {
    return this.worker.close();
  }
}

let shared: PythonInterpreter | undefined;

/** One Python interpreter for the whole process, started on first use; while idle it never keeps the process alive. */
export function sharedPythonInterpreter(): PythonInterpreter {
  shared ??= new PythonInterpreter();
  return shared;
}
