import { z } from "zod";
import { parseOptions } from "../options.ts";
import type { PromptTemplate } from "../../prompts/index.ts";
import type { Completion, Policy, PolicyRequest } from "../agent/policy.ts";
import { addStats, emptyGenerationStats, GPU_BACKENDS, type BackendName, type Generation, type GenerationStats } from "../lm/index.ts";
import { hashString } from "../random.ts";
import { cpuThreads } from "../threads.ts";
import { MicroBatcher } from "./batcher.ts";
import { TurnDecoder, type TurnRequest } from "./decoder.ts";
import { ENGINES } from "./engine.ts";
import { checkpointName, ensureBackend, snapshotPlanner, trainedPrompt, type Planner } from "./planner.ts";
import { decoderLanes } from "./workers.ts";

export const SamplingSchema = z.object({
  /** 0 decodes greedily. */
  temperature: z.number().min(0).max(2).default(0),
  topP: z.number().gt(0).max(1).default(1),
  seed: z.number().int().default(0),
  /** A turn is a short thought and one action. */
  maxNewTokens: z.number().int().positive().default(64),
  /** Episodes whose steps are decoded together in one batch. */
  maxBatch: z.number().int().positive().default(64),
  /** Decode under the ReAct turn grammar (grammar.ts): every turn a thought and one well-formed action. */
  grammar: z.boolean().default(true),
  /**
   * Keep each episode's keys and values between its turns (prefix caching), so a
   * turn reads only its new tokens. The policy assumes the planner's weights do
   * not change while it is in use: trainers make a new policy after each update.
   */
  prefixCache: z.boolean().default(true),
  /** Finished turns leave the batch, so its other sequences decode without them (tfjs; the kernels never compute them). */
  compactBatch: z.boolean().default(true),
  /**
   * What generation runs on: the WebAssembly SIMD kernels (lm/inference.ts, CPU),
   * or tfjs on its selected backend (the one a GPU would use).
   */
  engine: z.enum(ENGINES).default("kernels"),
  /** Worker threads that decode (each with a copy of the weights); 0 decodes on this thread. The runners use one per core. */
  workers: z.number().int().min(0).default(0),
});
export type Sampling = z.infer<typeof SamplingSchema>;
export type SamplingInput = z.input<typeof SamplingSchema>;

/**
 * What long runs decode on, on `backend`: on a CPU, the kernels with a worker per core (`cpuThreads`); on a
 * GPU, tfjs on this thread, where the GPU backend was started.
 */
export function decodingOn(backend: BackendName): Pick<Sampling, "engine" | "workers"> {
  return GPU_BACKENDS.includes(backend) ? { engine: "tfjs", workers: 0 } : { engine: "kernels", workers: cpuThreads() };
}

/** `decodingOn` the backend in use (the fastest present, once selected). */
export async function defaultDecoding(): Promise<Pick<Sampling, "engine" | "workers">> {
  return decodingOn((await ensureBackend()).name);
}

/**
 * The embedded planner as a Policy. Concurrent episodes' requests are decoded
 * together in one batch, so running many episodes at once (bench --concurrency)
 * is what makes it fast. With `workers`, each worker thread decodes its own batches
 * from a snapshot of the weights taken when the policy is made; all the episodes
 * of one question go to the same worker, where their prompt prefix is cached.
 */
export class LocalPolicy implements Policy {
  readonly name = "local";
  readonly model: string;
  readonly weightsDigest?: string;
  readonly temperature: number;
  readonly seed: number;
  readonly defaultPrompt?: PromptTemplate;
  private readonly sampling: Sampling;
  /** How often each prompt (by hash) has been asked for: the n-th asking draws from stream n. */
  private readonly asked = new Map<number, number>();
  private readonly lanes: Lane[];
  /** Which lane each question's episodes go to. */
  private readonly laneOf = new Map<string, Lane>();

  constructor(planner: Planner, sampling: SamplingInput = {}) {
    this.sampling = parseOptions("LocalPolicy", SamplingSchema, sampling);
    this.model = checkpointName(planner.source);
    this.weightsDigest = planner.weightsDigest;
    this.temperature = this.sampling.temperature;
    this.seed = this.sampling.seed;
    this.defaultPrompt = trainedPrompt(planner);
    this.lanes = this.sampling.workers === 0 ? [localLane(planner, this.sampling)] : workerLanes(planner, this.sampling);
  }

  /** Generation's work and time so far, over every lane. */
  get stats(): GenerationStats {
    const total = emptyGenerationStats();
    for (const lane of this.lanes) addStats(total, lane.stats());
    return total;
  }

  /** Frees what the policy holds (prefix caches, the workers' copies of its weights); it stays usable. */
  async close(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.close()));
  }

  async act(request: PolicyRequest): Promise<Completion> {
    const generation = await this.lane(request.task.id).submit({ prompt: request.prompt, step: request.step, streamKey: this.streamKey(request.prompt) });
    return {
      text: generation.text,
      tokens: generation.tokens,
      logprobs: generation.logprobs,
      usage: { promptTokens: generation.promptTokens, completionTokens: generation.tokens.length },
    };
  }

  /**
   * A stream per (prompt, how often it was asked before): samples do not depend on
   * which requests happened to share a batch, and the k samples of one prompt still differ.
   */
  private streamKey(prompt: string): string {
    const key = hashString(prompt);
    const n = this.asked.get(key) ?? 0;
    this.asked.set(key, n + 1);
    return `${key}:${n}`;
  }

  /** The lane of a question: the one its episodes went to, or the least busy. */
  private lane(question: string): Lane {
    let lane = this.laneOf.get(question);
    if (!lane) {
      lane = this.lanes.reduce((best, l) => (l.load() < best.load() ? l : best));
      this.laneOf.set(question, lane);
    }
    return lane;
  }
}

/** Where a policy's batches are decoded: this thread, or one worker. */
interface Lane {
  submit(request: TurnRequest): Promise<Generation>;
  /** Requests submitted and not yet answered. */
  load(): number;
  stats(): GenerationStats;
  close(): Promise<void>;
}

/**
 * A lane that gathers the requests arriving while a batch runs into the next one.
 * On the kernels a call could join the running batch at once, but on 2 cores that
 * measured slower (rollouts 21-23 s against 27-30 s): a worker stepping a few
 * sequences takes the CPU the episodes' own work needs.
 */
function lane(decode: (requests: TurnRequest[]) => Promise<Generation[]>, sampling: Sampling, rest: Pick<Lane, "stats" | "close">): Lane {
  const batcher = new MicroBatcher(decode, sampling.maxBatch);
  let load = 0;
  const submit = (request: TurnRequest) => {
    load++;
    return batcher.submit(request).finally(() => load--);
  };
  return { submit, load: () => load, ...rest };
}

function localLane(planner: Planner, sampling: Sampling): Lane {
  const decoder = new TurnDecoder(planner, sampling);
  return lane((requests) => decoder.decode(requests), sampling, { stats: () => decoder.stats, close: async () => decoder.clear() });
}

let sessions = 0;

function workerLanes(planner: Planner, sampling: Sampling): Lane[] {
  const session = ++sessions;
  // Read now: the trainer may change the weights while this policy is still in use.
  const snapshot = snapshotPlanner(planner);
  const load = async () => ({ snapshot: await snapshot, sampling });
  const workers = ensureBackend().then((backend) => decoderLanes(sampling.workers, backend.name));
  return Array.from({ length: sampling.workers }, (_, w) => {
    let stats = emptyGenerationStats();
    let used = false;
    const worker = async () => (await workers)[w];
    const decode = async (requests: TurnRequest[]) => {
      used = true;
      const decoded = await (await worker()).decode(session, load, requests);
      stats = decoded.stats;
      return decoded.generations;
    };
    return lane(decode, sampling, { stats: () => stats, close: async () => (used ? (await worker()).close(session) : undefined) });
  });
}
