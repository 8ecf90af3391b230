/**
 * A worker thread that computes its share of a training step (`data-parallel.ts`) on
 * its own copy of the model, set to the weights each request brings: the gradient of a
 * share of the batch, or the log-probabilities of some rows.
 */
import * as tf from "@tensorflow/tfjs";
import { parentPort, workerData } from "node:worker_threads";
import { UserError } from "../errors.ts";
import { createModel, disposeModel, lossGradients, outOfMemoryAsUserError, parameters, tokenLogprobs, type BackendName, type LanguageModel, type ModelConfig } from "../lm/index.ts";
import { ensureBackend } from "../planner/index.ts";
import { objectiveLoss, shareResult, type Objective, type ShareResult } from "./objectives.ts";

export type ShareWork = { type: "gradients"; objective: Objective } | { type: "logprobs"; rows: number[][] };

export interface ShareRequest {
  id: number;
  config: ModelConfig;
  /** The model's weights, in `parameters` order. */
  weights: Float32Array[];
  work: ShareWork;
}

export type ShareReply =
  | { type: "ready" }
  /** The gradient, in `parameters` order, of the share's loss, a mean over its `weight`. */
  | ({ type: "gradients"; id: number; grads: Float32Array[] } & ShareResult)
  /** log p of each row's tokens 1..n-1, packed row after row. */
  | { type: "logprobs"; id: number; values: Float32Array }
  /** `mistake`: the user's to fix (out of memory), where the rest is a bug. */
  | { type: "failed"; id: number; message: string; mistake: boolean };

const port = parentPort;
if (!port) throw new Error("src/train/training-worker.ts runs inside a worker thread (see data-parallel.ts)");
await ensureBackend((workerData as { backend: BackendName }).backend);
let copy: { model: LanguageModel; config: string } | undefined;

port.on("message", async (request: ShareRequest) => port.postMessage(await answer(request)));
port.postMessage({ type: "ready" } satisfies ShareReply);

async function answer({ id, config, weights, work }: ShareRequest): Promise<ShareReply> {
  try {
    const model = modelWith(config, weights);
    if (work.type === "logprobs") return { type: "logprobs", id, values: await read(tf.tidy(() => tokenLogprobs(model, work.rows))) };
    const { batch } = work.objective;
    const variables = parameters(model).map(([, v]) => v);
    const computed = outOfMemoryAsUserError(batch, () => lossGradients(model, variables, batch, objectiveLoss(work.objective)));
    const [share, grads] = await Promise.all([shareResult(work.objective, computed), Promise.all(variables.map((v) => read(computed.grads[v.name]!)))]);
    tf.dispose([computed.value, ...Object.values(computed.outputs)]);
    return { type: "gradients", id, grads, ...share };
  } catch (error) {
    return { type: "failed", id, message: error instanceof Error ? error.message : String(error), mistake: error instanceof UserError };
  }
}

/** A tensor's values; the tensor is disposed. */
async function read(tensor: tf.Tensor): Promise<Float32Array> {
  const values = (await tensor.data()) as Float32Array;
  tensor.dispose();
  return values;
}

/** The worker's copy of the model, made anew only when the shape changes, holding `weights`. */
function modelWith(config: ModelConfig, weights: Float32Array[]): LanguageModel {
  const key = JSON.stringify(config);
  if (copy?.config !== key) {
    if (copy) disposeModel(copy.model);
    copy = { model: createModel(config), config: key };
  }
  parameters(copy.model).forEach(([, variable], i) => tf.tidy(() => variable.assign(tf.tensor(weights[i]!, variable.shape))));
  return copy.model;
}
