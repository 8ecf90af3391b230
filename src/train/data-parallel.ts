/**
 * Training on every core. tfjs's WASM backend computes on one thread, so on a CPU a
 * training step splits its batch by rows into one share per thread: this thread
 * computes the first share while worker threads compute the others on copies of the
 * model, set to the step's weights. Each share's loss is a mean over its policy tokens,
 * so their gradients, weighted by those tokens, are the whole batch's (up to rounding),
 * and the optimizer takes one step with them, here. Log-probabilities under a frozen
 * reference are shared out the same way.
 */
import { setImmediate } from "node:timers/promises";
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../errors.ts";
import { cpuThreads, exchange, startWorker, WorkerSlot } from "../threads.ts";
import {
  applyGradients,
  lossGradients,
  outOfMemoryAsUserError,
  parameters,
  stepMetrics,
  tokenLogprobs,
  trainStep,
  type AdamW,
  type BackendName,
  type LanguageModel,
  type StepMetrics,
} from "../lm/index.ts";
import { combineShares, joined, objectiveLoss, objectivePieces, objectiveShare, shareResult, splitRows, type Objective } from "./objectives.ts";
import type { ShareReply, ShareRequest, ShareWork } from "./training-worker.ts";

/** Threads training computes on: one per core (`cpuThreads`) on the one-threaded CPU backends, one where the backend has threads of its own or is a GPU. */
export function trainingThreads(): number {
  return CPU_BACKENDS.includes(tf.getBackend()) ? cpuThreads() : 1;
}

/** The backends that compute on one thread, where a step's shares go to worker threads. */
const CPU_BACKENDS = ["wasm", "cpu"];

/** One optimizer step on `objective`, its batch shared among `threads` threads. */
export async function objectiveStep(
  model: LanguageModel,
  optimizer: AdamW,
  objective: Objective,
  learningRate: number,
  clipNorm: number,
  threads = trainingThreads(),
): Promise<StepMetrics & { outputs: Record<string, Float32Array> }> {
  const shares = sharePieces(objectivePieces(objective), threads).map(([from, to]) => objectiveShare(objective, from, to));
  if (shares.length === 1) return trainStep(model, optimizer, objective.batch, learningRate, clipNorm, objectiveLoss(objective));
  const start = performance.now();
  const [here, ...rest] = shares as [Objective, ...Objective[]];
  const elsewhere = await onWorkers(model, rest.map((share) => ({ type: "gradients", objective: share })));
  const local = outOfMemoryAsUserError(here.batch, () => lossGradients(model, optimizer.variables, here.batch, objectiveLoss(here)));
  try {
    const mine = await shareResult(here, local);
    const others = (await elsewhere.replies).map((reply) => expected(reply, "gradients"));
    const norm = outOfMemoryAsUserError(objective.batch, () => tf.tidy(() => applyGradients(optimizer, wholeGradient(optimizer.variables, { ...mine, grads: local.grads }, others), learningRate, clipNorm)));
    const gradNorm = (await norm.data())[0]!;
    norm.dispose();
    const whole = combineShares([mine, ...others]);
    return { ...stepMetrics(optimizer, objective.batch, whole.loss, learningRate, gradNorm, start), outputs: whole.outputs };
  } finally {
    tf.dispose([local.value, ...Object.values(local.grads), ...Object.values<tf.Tensor>(local.outputs)]);
  }
}

/**
 * The batch's gradient from its shares': each weighted by its share of what the loss
 * averages over. This thread's share holds tensors by variable name, the others arrays
 * in `variables` order, summed here first, so that the sum holds one tensor a variable
 * whatever the number of shares.
 */
function wholeGradient(variables: tf.Variable[], mine: { weight: number; grads: tf.NamedTensorMap }, others: readonly { weight: number; grads: Float32Array[] }[]): tf.NamedTensorMap {
  const total = Math.max(1, mine.weight + others.reduce((n, s) => n + s.weight, 0));
  const sum = (v: tf.Variable, p: number) => {
    const elsewhere = new Float32Array(v.size);
    for (const { weight, grads } of others) {
      const [values, scale] = [grads[p]!, weight / total];
      for (let i = 0; i < values.length; i++) elsewhere[i]! += scale * values[i]!;
    }
    return tf.add(tf.mul(mine.grads[v.name]!, mine.weight / total), tf.tensor(elsewhere, v.shape));
  };
  return Object.fromEntries(variables.map((v, p) => [v.name, sum(v, p)]));
}

/** log p of each row's tokens 1..n-1 under `model`, one array per row, without a gradient; the rows shared among `threads` threads. */
export async function rowLogprobs(model: LanguageModel, rows: number[][], threads = trainingThreads()): Promise<Float32Array[]> {
  const [here, ...rest] = sharePieces(rows.map((row) => row.length), threads).map(([from, to]) => rows.slice(from, to)) as [number[][], ...number[][][]];
  const elsewhere = rest.length === 0 ? { replies: Promise.resolve([]) } : await onWorkers(model, rest.map((share) => ({ type: "logprobs", rows: share })));
  const packed = tf.tidy(() => tokenLogprobs(model, here));
  const mine = (await packed.data()) as Float32Array;
  packed.dispose();
  return splitRows(joined([mine, ...(await elsewhere.replies).map((reply) => expected(reply, "logprobs").values)]), rows);
}

/** `rowLogprobs` of many rows, `chunk` rows at a time: a reference's or a reward model's reading, its memory bounded whatever the number of rows. */
export async function rowLogprobsInChunks(model: LanguageModel, rows: number[][], chunk = 16): Promise<Float32Array[]> {
  const logprobs: Float32Array[] = [];
  for (let at = 0; at < rows.length; at += chunk) logprobs.push(...(await rowLogprobs(model, rows.slice(at, at + chunk))));
  return logprobs;
}

/**
 * Up to `count` runs of consecutive pieces (rows, or pairs), [from, to), with about as
 * many tokens each (a share never empty), from each piece's tokens: consecutive, so
 * the shares' per-token outputs join in order.
 */
export function sharePieces(lengths: readonly number[], count: number): [number, number][] {
  const n = Math.max(1, Math.min(count, lengths.length));
  const before = [0];
  for (const length of lengths) before.push(before.at(-1)! + length);
  const cuts = [0];
  for (let k = 1; k < n; k++) {
    const goal = (before[lengths.length]! * k) / n;
    let best = cuts[k - 1]! + 1;
    for (let c = best; c <= lengths.length - (n - k); c++) if (Math.abs(before[c]! - goal) < Math.abs(before[best]! - goal)) best = c;
    cuts.push(best);
  }
  cuts.push(lengths.length);
  return cuts.slice(1).map((to, k) => [cuts[k]!, to]);
}

/**
 * Sends each piece of work to a worker of its own, with the model's weights as they are
 * now, and returns once the requests are on their way (they are posted from promise
 * callbacks, which must run before this thread computes its own share), with the replies to come.
 */
async function onWorkers(model: LanguageModel, work: ShareWork[]): Promise<{ replies: Promise<ShareReply[]> }> {
  const backend = tf.getBackend();
  if (!CPU_BACKENDS.includes(backend)) throw new Error(`shares of a training step run on worker threads on the ${CPU_BACKENDS.join(" and ")} backends, not ${backend}`);
  const workers = trainingWorkers(work.length, backend as BackendName);
  // Started first: a worker starting while this thread computes would wait for it to finish.
  await Promise.all(workers.map((worker) => worker.start()));
  const weights = await Promise.all(parameters(model).map(([, v]) => v.data() as Promise<Float32Array>));
  const replies = Promise.all(work.map((w, i) => workers[i]!.run({ config: model.config, weights, work: w })));
  replies.catch(() => undefined); // the caller awaits it after computing its own share
  await setImmediate();
  return { replies }; // wrapped: an async function returning a promise would wait for it
}

/** The reply of the type asked for; a failure as the error it was. */
function expected<T extends "gradients" | "logprobs">(reply: ShareReply, type: T): Extract<ShareReply, { type: T }> {
  if (reply.type === type) return reply as Extract<ShareReply, { type: T }>;
  if (reply.type === "failed") throw reply.mistake ? new UserError(reply.message) : new Error(`a training worker failed: ${reply.message}`);
  throw new Error(`a training worker answered ${reply.type}`);
}

/** A worker thread that computes shares, one at a time. */
class TrainingWorker {
  private readonly slot: WorkerSlot;
  private nextId = 1;

  constructor(backend: BackendName) {
    this.slot = new WorkerSlot(() => startWorker(new URL("./training-worker.ts", import.meta.url), { workerData: { backend } }, "training"));
  }

  start(): Promise<unknown> {
    return this.slot.start();
  }

  run(request: Omit<ShareRequest, "id">): Promise<ShareReply> {
    return this.slot.enqueue(async () => {
      const worker = await this.slot.start();
      const reply = await exchange<ShareReply>(worker, { ...request, id: this.nextId++ }, NO_TIME_LIMIT);
      if (reply.type === "timeout" || reply.type === "crashed") throw new Error(`a training worker answered nothing (${reply.type === "crashed" ? reply.message : "timeout"})`);
      // A WASM engine that ran out of memory may be left broken: the next share gets a fresh worker.
      if (reply.type === "failed" && reply.mistake) this.slot.discard(worker);
      return reply;
    });
  }
}

/** A share takes as long as it takes: the longest delay a timer takes (about 24 days). */
const NO_TIME_LIMIT = 2 ** 31 - 1;

const pool: TrainingWorker[] = [];

/** `count` workers of the process's pool, started on first use. */
function trainingWorkers(count: number, backend: BackendName): TrainingWorker[] {
  while (pool.length < count) pool.push(new TrainingWorker(backend));
  return pool.slice(0, count);
}
