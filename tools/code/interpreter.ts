import { CodeLimitsSchema, WORKER_STACK_MB, type CallLimits, type CodeLimits } from "./limits.ts";
import type { CodeResult } from "./result.ts";
import type { WorkerData, WorkerReply, WorkerRequest } from "./worker.ts";
import { exchange, startWorker, WorkerSlot } from "../../src/threads.ts";
import { runResult } from "./result.ts";

/**
 * How long past its deadline a program may keep the worker before the worker is
 * killed. QuickJS checks the deadline between bytecodes, so only a single long
 * native call (a huge sort, JSON.stringify of a big value) can overrun it.
 */
const HARD_STOP_GRACE_MS = 500;
/** Freeing a session is quick; a worker that takes longer is stuck and is killed. */
const CLOSE_TIMEOUT_MS = 5000;
const SESSION_RESET_NOTE =
  "Note: this session was restarted (a program was stopped hard or ran out of memory); earlier definitions are gone.\n";

export interface RunOptions {
  /** Overrides the interpreter's limits for this call. */
  limits?: Partial<CallLimits>;
  signal?: AbortSignal;
}

/**
 * Runs JavaScript in QuickJS (WebAssembly) on a worker thread: programs never
 * block the host's event loop, and one that outruns its deadline inside a
 * native call is stopped by killing the worker, which is then started afresh.
 * So is a worker whose program exhausted its memory: QuickJS does not recover
 * from every failed allocation cleanly. Programs run one at a time, each in a
 * new context unless run in a session.
 */
export class CodeInterpreter {
  private readonly limits: CodeLimits;
  /** Its generation tells sessions whether the worker that held them is gone. */
  private readonly worker: WorkerSlot;
  private nextId = 1;

  constructor(limits: Partial<CodeLimits> = {}) {
    this.limits = CodeLimitsSchema.parse(limits);
    const workerData: WorkerData = { memoryBytes: this.limits.memoryBytes };
    const options = { workerData, resourceLimits: { stackSizeMb: WORKER_STACK_MB } };
    this.worker = new WorkerSlot(() => startWorker(new URL("./worker.ts", import.meta.url), options, "code interpreter"));
  }

  /** Runs a program in a fresh context. */
  async run(code: string, options: RunOptions = {}): Promise<CodeResult> {
    return (await this.submit(code, options)).result;
  }

  /** A context kept across calls, for programs that build on earlier ones. Dispose it when done. */
  session(): CodeSession {
    const id = this.nextId++;
    return new CodeSession(
      (code, options) => this.submit(code, options, id),
      () => this.closeSession(id),
    );
  }

  /** Stops the worker; a later call starts a new one. */
  close(): Promise<void> {
    return this.worker.close();
  }

  /** Calls are queued: the worker runs one program at a time. */
  private submit(code: string, options: RunOptions, session?: number): Promise<Execution> {
    options.signal?.throwIfAborted();
    const limits = CodeLimitsSchema.parse({ ...this.limits, ...options.limits });
    return this.worker.enqueue(async () => {
      const worker = await this.worker.start();
      const generation = this.worker.generation;
      // A program may overrun its deadline inside one native call; past the grace period the worker is killed.
      const request: WorkerRequest = { type: "run", id: this.nextId++, code, limits, session };
      const reply = await exchange<WorkerReply>(worker, request, limits.timeoutMs + HARD_STOP_GRACE_MS);
      if (reply.type !== "result" || reply.retire) this.worker.discard(worker);
      return { result: runResult(reply, limits.timeoutMs), generation };
    });
  }

  /** Frees a session's context, if the worker that holds it still runs. */
  private closeSession(session: number): void {
    void this.worker.enqueue(async () => {
      const worker = await this.worker.running();
      if (!worker) return;
      const request: WorkerRequest = { type: "close-session", id: this.nextId++, session };
      const reply = await exchange<WorkerReply>(worker, request, CLOSE_TIMEOUT_MS);
      if (reply.type !== "closed" || reply.retire) this.worker.discard(worker);
    });
  }
}

interface Execution {
  result: CodeResult;
  /** Which worker ran it: a session run in a newer one than before has lost its state. */
  generation: number;
}

/** A context that keeps its globals from one program to the next. */
export class CodeSession {
  private generation: number | undefined;
  private disposed = false;

  constructor(
    private readonly submit: (code: string, options: RunOptions) => Promise<Execution>,
    private readonly close: () => void,
  ) {}

  async run(code: string, options: RunOptions = {}): Promise<CodeResult> {
    if (this.disposed) throw new Error("CodeSession.run called after dispose()");
    const { result, generation } = await this.submit(code, options);
    const reset = this.generation !== undefined && generation !== this.generation;
    this.generation = generation;
    return reset ? { ...result, output: SESSION_RESET_NOTE + result.output } : result;
  }

  /** Frees the session's context in the worker. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.close();
  }
}

let shared: CodeInterpreter | undefined;

/** One interpreter for the whole process, started on first use; while idle it never keeps the process alive. */
export function sharedInterpreter(): CodeInterpreter {
  shared ??= new CodeInterpreter();
  return shared;
}
