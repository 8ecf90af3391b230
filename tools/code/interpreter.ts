import { Worker } from "node:worker_threads";
import { CodeLimitsSchema, WORKER_STACK_MB, type CallLimits, type CodeLimits } from "./limits.ts";
import type { CodeResult } from "./sandbox.ts";
import type { WorkerData, WorkerReply, WorkerRequest } from "./worker.ts";

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
  private worker: Promise<Worker> | undefined;
  /** Bumped at each worker start: sessions made in an earlier one are gone. */
  private generation = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;

  constructor(limits: Partial<CodeLimits> = {}) {
    this.limits = CodeLimitsSchema.parse(limits);
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
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await (await worker?.catch(() => undefined))?.terminate();
  }

  /** Calls are queued: the worker runs one program at a time. */
  private submit(code: string, options: RunOptions, session?: number): Promise<Execution> {
    options.signal?.throwIfAborted();
    const limits = CodeLimitsSchema.parse({ ...this.limits, ...options.limits });
    return this.enqueue(async () => {
      const worker = await this.start();
      const generation = this.generation;
      // A program may overrun its deadline inside one native call; past the grace period the worker is killed.
      const request: WorkerRequest = { type: "run", id: this.nextId++, code, limits, session };
      const reply = await exchange(worker, request, limits.timeoutMs + HARD_STOP_GRACE_MS);
      if (reply.type !== "result" || reply.retire) this.discard(worker);
      return { result: runResult(reply, limits.timeoutMs), generation };
    });
  }

  /** Frees a session's context, if the worker that holds it still runs. */
  private closeSession(session: number): void {
    void this.enqueue(async () => {
      const worker = await this.worker?.catch(() => undefined);
      if (!worker) return;
      const reply = await exchange(worker, { type: "close-session", id: this.nextId++, session }, CLOSE_TIMEOUT_MS);
      if (reply.type !== "closed" || reply.retire) this.discard(worker);
    });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const done = this.queue.then(work);
    this.queue = done.catch(() => undefined);
    return done;
  }

  private start(): Promise<Worker> {
    if (!this.worker) {
      this.generation += 1;
      const starting = startWorker({ memoryBytes: this.limits.memoryBytes });
      // A worker that failed to start, or died while idle, is replaced at the next call.
      const forget = () => {
        if (this.worker === starting) this.worker = undefined;
      };
      starting.then((worker) => worker.once("exit", forget), forget);
      this.worker = starting;
    }
    return this.worker;
  }

  /** Kills a worker that must not run anything more; the next call starts a new one. */
  private discard(worker: Worker): void {
    this.worker = undefined;
    void worker.terminate();
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

/** The result of a run, also when the worker was killed or died instead of answering. */
function runResult(reply: Exchanged, timeoutMs: number): CodeResult {
  switch (reply.type) {
    case "result":
      return reply.result;
    case "timeout":
      return { status: "timeout", output: "", error: `timed out after ${timeoutMs} ms` };
    case "crashed":
      return { status: "error", output: "", error: `the interpreter crashed (${reply.message}) and was restarted` };
    default:
      throw new Error(`the code worker answered a run with "${reply.type}"`);
  }
}

type Exchanged = WorkerReply | { type: "timeout" } | { type: "crashed"; message: string };

/** Sends one request and waits for its reply, the worker's exit, or the time limit, whichever comes first. */
function exchange(worker: Worker, request: WorkerRequest, timeoutMs: number): Promise<Exchanged> {
  return new Promise((resolve) => {
    const finish = (reply: Exchanged) => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      worker.unref();
      resolve(reply);
    };
    const onMessage = (reply: WorkerReply) => {
      if ("id" in reply && reply.id === request.id) finish(reply);
    };
    const onExit = () => finish({ type: "crashed", message: "the worker exited" });
    const timer = setTimeout(() => finish({ type: "timeout" }), timeoutMs);
    worker.on("message", onMessage);
    worker.once("exit", onExit);
    // Busy, the worker keeps the process alive until the reply is back; idle, it never does.
    worker.ref();
    worker.postMessage(request);
  });
}

function startWorker(workerData: WorkerData): Promise<Worker> {
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), {
    workerData,
    resourceLimits: { stackSizeMb: WORKER_STACK_MB },
  });
  // A worker that dies reports through "exit"; without a listener its "error" would crash the host.
  let failure = "";
  worker.on("error", (error) => (failure = `: ${error.message}`));
  return new Promise((resolve, reject) => {
    const onExit = (code: number) =>
      reject(new Error(`the code interpreter's worker exited with code ${code} while starting${failure}`));
    worker.once("exit", onExit);
    worker.once("message", (reply: WorkerReply) => {
      worker.off("exit", onExit);
      worker.unref();
      if (reply.type === "ready") resolve(worker);
      else reject(new Error(`the code interpreter's worker sent ${reply.type} before ready`));
    });
  });
}
