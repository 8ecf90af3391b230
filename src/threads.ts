// Threads: how many CPU work spreads over, and the worker threads that do it (the planner's decoders,
// a training step's shares, the code interpreters' sandboxes).
import { availableParallelism } from "node:os";
import { Worker, type WorkerOptions } from "node:worker_threads";
import { UserError } from "./errors.ts";

/**
 * How many threads CPU work spreads over (the planner's decoding workers, the shares of a
 * training step): one per core, or `REACT_RL_THREADS` where set, for a container whose CPU
 * quota Node does not see, or to leave cores to other work.
 */
export function cpuThreads(): number {
  const asked = process.env.REACT_RL_THREADS;
  if (asked === undefined || asked === "") return availableParallelism();
  const threads = Number(asked);
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`REACT_RL_THREADS must be a whole number of at least 1, not '${asked}'`);
  return threads;
}

/** A worker's reply, or what happened instead of one. */
export type Exchanged<Reply> = Reply | { type: "timeout" } | { type: "crashed"; message: string };

/**
 * One worker thread, started on first use and replaced after it is discarded
 * or dies, that runs the work given to it one piece at a time. While idle it
 * never keeps the process alive.
 */
export class WorkerSlot {
  private worker: Promise<Worker> | undefined;
  private starts = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly launch: () => Promise<Worker>) {}

  /** Which worker this is, counted from 1: state kept in an earlier one is gone. */
  get generation(): number {
    return this.starts;
  }

  /** Runs `work` after the work queued before it has finished. */
  enqueue<T>(work: () => Promise<T>): Promise<T> {
    const done = this.queue.then(work);
    this.queue = done.catch(() => undefined);
    return done;
  }

  /** The worker, started if none runs. */
  start(): Promise<Worker> {
    if (!this.worker) {
      this.starts += 1;
      const starting = this.launch();
      // A worker that failed to start, or died while idle, is replaced at the next call.
      const forget = () => {
        if (this.worker === starting) this.worker = undefined;
      };
      starting.then((worker) => worker.once("exit", forget), forget);
      this.worker = starting;
    }
    return this.worker;
  }

  /** The running worker, if there is one; never starts one. */
  async running(): Promise<Worker | undefined> {
    return this.worker?.catch(() => undefined);
  }

  /** Kills a worker that must not run anything more; the next call starts a new one. */
  discard(worker: Worker): void {
    this.worker = undefined;
    void worker.terminate();
  }

  /** Stops the worker; a later call starts a new one. */
  async close(): Promise<void> {
    const worker = this.running();
    this.worker = undefined;
    await (await worker)?.terminate();
  }
}

/** Whether this code runs from its TypeScript sources (under tsx or vitest) rather than compiled into dist/. */
const fromSources = import.meta.url.endsWith(".ts");

/**
 * Starts the worker whose TypeScript module is `module` (`./worker.ts`) and waits for
 * its `{ type: "ready" }` message, which it hands to `onReady`. `name` says whose
 * worker it is in the error when it dies first. Compiled, the worker runs the module's
 * .js; from the sources, its .mjs twin, which registers tsx first (a worker thread does
 * not inherit its parent's loader).
 */
export function startWorker<Ready extends { type: string }>(
  module: URL,
  options: WorkerOptions,
  name: string,
  onReady: (reply: Ready) => void = () => {},
): Promise<Worker> {
  const worker = new Worker(new URL(module.href.replace(/\.ts$/, fromSources ? ".mjs" : ".js")), options);
  // A worker that dies reports through "exit"; without a listener its "error" would crash the host.
  let failure = "";
  worker.on("error", (error) => (failure = `: ${error.message}`));
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the ${name}'s worker exited with code ${code} while starting${failure}`));
    worker.once("exit", onExit);
    worker.once("message", (reply: Ready) => {
      worker.off("exit", onExit);
      worker.unref();
      if (reply.type === "ready") {
        onReady(reply);
        resolve(worker);
      } else reject(new Error(`the ${name}'s worker sent ${reply.type} before ready`));
    });
  });
}

/** Sends one request and waits for its reply, the worker's exit, or the time limit, whichever comes first. */
export function exchange<Reply>(worker: Worker, request: { id: number }, timeoutMs: number): Promise<Exchanged<Reply>> {
  return new Promise((resolve) => {
    const finish = (reply: Exchanged<Reply>) => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      worker.unref();
      resolve(reply);
    };
    const onMessage = (reply: Reply & object) => {
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
