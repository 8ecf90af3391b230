import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import OpenAI, { APIError, toFile } from "openai";
import type { FineTuningJob, FineTuningJobEvent } from "openai/resources/fine-tuning/jobs/jobs";
import { UserError } from "../errors.ts";
import { clientUserError } from "../policies/openai.ts";
import type { TrainingFile } from "./file.ts";

export type { FineTuningJob, FineTuningJobEvent };

/** Job states after which nothing more will happen. */
const FINISHED_STATUSES: ReadonlySet<FineTuningJob["status"]> = new Set(["succeeded", "failed", "cancelled"]);

export interface FineTuneRequest {
  /** The base model to fine-tune. */
  model: string;
  /** Added to the fine-tuned model's name. */
  suffix?: string;
}

/**
 * Uploads a checked training file (purpose `fine-tune`) and starts a job with
 * the file's method: `supervised` for SFT, `dpo` for preference pairs.
 */
export async function startFineTune(client: OpenAI, file: TrainingFile, request: FineTuneRequest): Promise<FineTuningJob> {
  return withUserErrors(client, async () => {
    const uploaded = await client.files.create({
      file: await toFile(createReadStream(file.path), basename(file.path)),
      purpose: "fine-tune",
    });
    return client.fineTuning.jobs.create({
      model: request.model,
      training_file: uploaded.id,
      suffix: request.suffix,
      method: { type: file.method === "sft" ? "supervised" : "dpo" },
    });
  });
}

export interface FollowOptions {
  /** Time between polls. */
  pollMs: number;
  signal?: AbortSignal;
  /** Each event once, oldest first. */
  onEvent?: (event: FineTuningJobEvent) => void;
  /** The job, each time its status changes. */
  onStatus?: (job: FineTuningJob) => void;
}

/** Polls a job until it succeeds, fails or is cancelled, reporting its events and status changes. */
export async function followFineTune(client: OpenAI, jobId: string, options: FollowOptions): Promise<FineTuningJob> {
  const seen = new Set<string>();
  let status: FineTuningJob["status"] | undefined;
  for (;;) {
    // The job first, then its events: the events then include all that led to the status seen.
    const job = await withUserErrors(client, () => client.fineTuning.jobs.retrieve(jobId));
    const events = await withUserErrors(client, () => client.fineTuning.jobs.listEvents(jobId, { limit: 100 }));
    for (const event of unseenOldestFirst(events.data, seen)) options.onEvent?.(event);
    if (job.status !== status) {
      status = job.status;
      options.onStatus?.(job);
    }
    if (FINISHED_STATUSES.has(job.status)) return job;
    await sleep(options.pollMs, undefined, { signal: options.signal });
  }
}

/** The API lists events newest first; ties in time keep that order reversed. */
function unseenOldestFirst(events: readonly FineTuningJobEvent[], seen: Set<string>): FineTuningJobEvent[] {
  const fresh = events.filter((event) => !seen.has(event.id)).reverse();
  for (const event of fresh) seen.add(event.id);
  return fresh.sort((a, b) => a.created_at - b.created_at);
}

/** What the user can act on (no server, bad key, a request the server refuses) becomes a UserError. */
async function withUserErrors<R>(client: OpenAI, call: () => Promise<R>): Promise<R> {
  try {
    return await call();
  } catch (error) {
    const userError = clientUserError(error, client.baseURL);
    if (userError) throw userError;
    if (error instanceof APIError && error.status !== undefined && error.status >= 400 && error.status < 500) {
      throw new UserError(`The server at ${client.baseURL} refused (${error.status}): ${error.message}`, { cause: error });
    }
    throw error;
  }
}
