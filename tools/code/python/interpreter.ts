import { PythonLimitsSchema, type PythonCallLimits, type PythonLimits } from "../limits.ts";
import type { CodeResult } from "../result.ts";
import { exchange, startWorker, WorkerSlot } from "../../../src/threads.ts";
import { runResult } from "../result.ts";
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
 * Pyodide's memory just after loading, made by the first worker of the
 * process and shared (not copied) with every later one: restoring it takes a
 * fraction of a second where a load from scratch takes seconds.
 */
let snapshot: Uint8Array | undefined;

function keepSnapshot(reply: PythonWorkerReply): void {
  if (reply.type !== "ready" || !reply.snapshot || snapshot) return;
  snapshot = new Uint8Array(new SharedArrayBuffer(reply.snapshot.byteLength));
  snapshot.set(reply.snapshot);
}

/**
 * Runs Python (Pyodide, standard library only) on worker threads, each
 * program in an interpreter of its own: a worker runs one program and is
 * replaced, so nothing one program changes (built-ins, modules, files, timers)
 * reaches the next. The next worker is restored from a memory snapshot while
 * the host waits for its next call. At the deadline the program gets a
 * KeyboardInterrupt; one that has not answered 0.5 s later is stopped by
 * killing its worker.
 */
export class PythonInterpreter {
  private readonly limits: PythonLimits;
  private readonly worker: WorkerSlot;
  /** Shared with every worker this interpreter starts; one program runs at a time. */
  private readonly interrupt = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  private nextId = 1;
  private closed = false;

  constructor(limits: Partial<PythonLimits> = {}) {
    this.limits = PythonLimitsSchema.parse(limits);
    this.worker = new WorkerSlot(() => {
      const workerData: PythonWorkerData = { memoryBytes: this.limits.memoryBytes, interrupt: this.interrupt.buffer as SharedArrayBuffer, snapshot };
      // An empty environment: nothing of the host's variables is copied into the worker.
      const options = { workerData, env: {} };
      return startWorker(new URL("./worker.ts", import.meta.url), options, "Python interpreter", keepSnapshot);
    });
  }

  /** Runs a program in a fresh namespace. */
  async run(code: string, options: PythonRunOptions = {}): Promise<CodeResult> {
    options.signal?.throwIfAborted();
    this.closed = false;
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
      this.worker.discard(worker);
      this.prepareNext();
      // An answer after the deadline is a timeout, whatever it says (the KeyboardInterrupt, or a program that caught it).
      if (interrupted && reply.type === "result") return { ...runResult({ type: "timeout" }, limits.timeoutMs), output: reply.result.output };
      return runResult(reply, limits.timeoutMs);
    });
  }

  /** Stops the worker; a later call starts a new one. */
  close(): Promise<void> {
    this.closed = true;
    return this.worker.close();
  }

  /** Starts the next program's worker now, so that it is ready when the call comes. */
  private prepareNext(): void {
    // A start that fails is retried, and reported, by the call that needs the worker.
    if (!this.closed) this.worker.start().catch(() => undefined);
  }
}

let shared: PythonInterpreter | undefined;

/** One Python interpreter for the whole process, started on first use; while idle it never keeps the process alive. */
export function sharedPythonInterpreter(): PythonInterpreter {
  shared ??= new PythonInterpreter();
  return shared;
}
