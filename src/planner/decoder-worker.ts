/**
 * A worker thread that decodes turns (TurnDecoder) with its own copy of a
 * planner's weights, so that every core decodes. It holds the decoders of the
 * few policies used last, each loaded from a snapshot of the weights.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Generation, GenerationStats } from "../lm/index.ts";
import { TurnDecoder, type TurnRequest } from "./decoder.ts";
import { ensureBackend, plannerFromSnapshot, type PlannerSnapshot } from "./planner.ts";
import type { Sampling } from "./local-policy.ts";

export type DecoderWorkerRequest =
  | { type: "load"; id: number; session: number; snapshot: PlannerSnapshot; sampling: Sampling }
  | { type: "decode"; id: number; session: number; requests: TurnRequest[] }
  | { type: "close"; id: number; session: number };

export type DecoderWorkerReply =
  | { type: "ready" }
  | { type: "done"; id: number }
  | { type: "decoded"; id: number; generations: Generation[]; stats: GenerationStats }
  /** The session is not loaded here (never, or evicted): load it and ask again. */
  | { type: "missing"; id: number }
  | { type: "failed"; id: number; message: string };

/** Policies whose weights a worker keeps; the least recently loaded goes first. */
const SESSIONS = 4;

const port = parentPort;
if (!port) throw new Error("src/planner/decoder-worker.ts runs inside a worker thread (see LocalPolicy's workers)");
await ensureBackend((workerData as { backend: Parameters<typeof ensureBackend>[0] }).backend);
const decoders = new Map<number, { decoder: TurnDecoder; dispose: () => void }>();

port.on("message", async (request: DecoderWorkerRequest) => {
  port.postMessage(await answer(request));
});
port.postMessage({ type: "ready" } satisfies DecoderWorkerReply);

async function answer(request: DecoderWorkerRequest): Promise<DecoderWorkerReply> {
  const { id, session } = request;
  try {
    if (request.type === "load") {
      const planner = plannerFromSnapshot(request.snapshot);
      decoders.set(session, { decoder: new TurnDecoder(planner, request.sampling), dispose: planner.dispose });
      for (const old of [...decoders.keys()].slice(0, -SESSIONS)) close(old);
      return { type: "done", id };
    }
    if (request.type === "close") {
      close(session);
      return { type: "done", id };
    }
    const loaded = decoders.get(session);
    if (!loaded) return { type: "missing", id };
    const generations = await loaded.decoder.decode(request.requests);
    return { type: "decoded", id, generations, stats: loaded.decoder.stats };
  } catch (error) {
    return { type: "failed", id, message: error instanceof Error ? error.message : String(error) };
  }
}

function close(session: number): void {
  const loaded = decoders.get(session);
  loaded?.decoder.clear();
  loaded?.dispose();
  decoders.delete(session);
}
