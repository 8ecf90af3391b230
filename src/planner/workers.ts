/**
 * The worker threads that decode for LocalPolicy, shared by every policy of the
 * process and started on first use: tfjs's WASM backend runs on one thread, so a
 * worker per core is how generation uses them all. A worker that is not busy never
 * keeps the process alive.
 */
import type { Worker } from "node:worker_threads";
import { startWorker } from "../threads.ts";
import type { BackendName, Generation, GenerationStats } from "../lm/index.ts";
import type { TurnRequest } from "./decoder.ts";
import type { DecoderWorkerReply, DecoderWorkerRequest } from "./decoder-worker.ts";
import type { PlannerSnapshot } from "./planner.ts";
import type { Sampling } from "./local-policy.ts";

type Pending = { resolve: (reply: DecoderWorkerReply) => void; reject: (error: Error) => void };
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** One worker and the requests it has yet to answer. */
export class DecoderLane {
  private readonly worker: Promise<Worker>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Prompts sent and not yet answered: how busy the lane is. */
  load = 0;

  constructor(backend: BackendName) {
    this.worker = startWorker(new URL("./decoder-worker.ts", import.meta.url), { workerData: { backend } }, "decoder");
    this.worker.then((worker) => {
      worker.on("message", (reply: DecoderWorkerReply) => this.settle(reply));
      worker.on("exit", (code) => {
        // A lane whose worker died is replaced at the next call
        lanes.splice(lanes.indexOf(this), 1);
        this.failAll(new Error(`a decoder worker exited with code ${code}`));
      });
      // A "message" listener refs the worker's port: a lane never used would keep the process alive.
      worker.unref();
    }, () => undefined);
  }

  /** Decodes a batch with the session's weights, loading them first when the worker lacks them. */
  async decode(session: number, load: () => Promise<{ snapshot: PlannerSnapshot; sampling: Sampling }>, requests: TurnRequest[]): Promise<{ generations: Generation[]; stats: GenerationStats }> {
    this.load += requests.length;
    try {
      let reply = await this.send({ type: "decode", session, requests });
      if (reply.type === "missing") {
        await this.send({ type: "load", session, ...(await load()) });
        reply = await this.send({ type: "decode", session, requests });
      }
      if (reply.type !== "decoded") throw new Error(reply.type === "failed" ? reply.message : `a decoder worker answered ${reply.type}`);
      return reply;
    } finally {
      this.load -= requests.length;
    }
  }

  async close(session: number): Promise<void> {
    await this.send({ type: "close", session });
  }

  private async send(request: WithoutId<DecoderWorkerRequest>): Promise<DecoderWorkerReply> {
    const worker = await this.worker;
    const id = this.nextId++;
    const reply = new Promise<DecoderWorkerReply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // Busy, the worker keeps the process alive until its replies are back; idle, it never does.
    if (this.pending.size === 1) worker.ref();
    worker.postMessage({ ...request, id } as DecoderWorkerRequest);
    return reply;
  }

  private settle(reply: DecoderWorkerReply): void {
    if (!("id" in reply)) return;
    this.pending.get(reply.id)?.resolve(reply);
    this.pending.delete(reply.id);
    if (this.pending.size === 0) void this.worker.then((w) => w.unref());
  }

  private failAll(error: Error): void {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

const lanes: DecoderLane[] = [];

/** `count` lanes of the shared pool, started as needed. */
export function decoderLanes(count: number, backend: BackendName): DecoderLane[] {
  while (lanes.length < count) lanes.push(new DecoderLane(backend));
  return lanes.slice(0, count);
}
