import type OpenAI from "openai";
import { z } from "zod";
import {
  checkTrainingFile,
  FINE_TUNE_METHODS,
  followFineTune,
  startFineTune,
  type FineTuningJob,
  type FineTuningJobEvent,
} from "../finetune/index.ts";
import { createOpenAIClient } from "../policies/openai.ts";
import { defineCommand, numberFlag, UsageError } from "./command.ts";
import { untilInterrupted } from "./interrupt.ts";

const PROVIDERS = ["openai"] as const;

export const finetuneCommand = defineCommand({
  name: "finetune",
  summary: "fine-tune a hosted model on an export (OpenAI or any compatible fine-tuning API)",
  usage: `react-rl finetune --file FILE --model M [options]
       react-rl finetune --job ID [--base-url U]      follow a job started earlier

  --provider NAME      openai (default): OpenAI, or any server with OpenAI's fine-tuning API
  --file FILE          training data from react-rl export (openai-sft or openai-dpo), checked
                       line by line before it is uploaded
  --model M            the base model to fine-tune, e.g. gpt-4.1-mini-2025-04-14
  --method sft|dpo     supervised or preference (DPO) training (default: read from the file)
  --suffix S           added to the fine-tuned model's name
  --base-url URL       the API's base URL (else OPENAI_BASE_URL, else api.openai.com); the key
                       is OPENAI_API_KEY
  --no-wait            start the job and return; follow it later with --job ID
  --poll-seconds S     time between status checks while following (default 15)

Prints the job's status changes and events; the last line is {"job": ..., "status": ..., "model": ...}.
Exits 0 when the job succeeds (or is started, with --no-wait), 1 when it fails or is cancelled.`,
  flags: z.object({
    provider: z.enum(PROVIDERS).default("openai"),
    file: z.string().optional(),
    model: z.string().min(1).optional(),
    method: z.enum(FINE_TUNE_METHODS).optional(),
    suffix: z.string().max(64).optional(),
    "base-url": z.url().optional(),
    "no-wait": z.boolean().default(false),
    "poll-seconds": numberFlag(z.number().positive()).default(15),
    job: z.string().min(1).optional(),
  }),
  async run(flags) {
    if (flags.job === undefined && (flags.file === undefined || flags.model === undefined)) {
      throw new UsageError("--file and --model are required to start a job (or --job ID to follow one)");
    }
    if (flags.job !== undefined && (flags.file !== undefined || flags.model !== undefined)) throw new UsageError("--job follows a job started earlier: it takes no --file or --model");
    // The file is checked before the API key is looked for.
    const training = flags.job === undefined ? await checkTrainingFile(flags.file!, flags.method) : undefined;
    const client = createOpenAIClient({ baseURL: flags["base-url"] });
    const pollMs = flags["poll-seconds"] * 1000;
    if (!training) return follow(client, flags.job!, pollMs);
    console.log(`${training.path}: ${training.examples} ${training.method} examples, checked`);
    const job = await startFineTune(client, training, { model: flags.model!, suffix: flags.suffix });
    console.log(`started job ${job.id}: ${training.method} on ${job.model}, training file ${job.training_file}`);
    if (!flags["no-wait"]) return follow(client, job.id, pollMs);
    console.log(`follow it with: react-rl finetune --job ${job.id}`);
    console.log(JSON.stringify({ job: job.id, status: job.status, model: job.fine_tuned_model }));
    return 0;
  },
});

async function follow(client: OpenAI, jobId: string, pollMs: number): Promise<number> {
  const job = await untilInterrupted((signal) =>
    followFineTune(client, jobId, { pollMs, signal, onEvent: printEvent, onStatus: printStatus }).catch((error: unknown) => {
      if (signal.aborted) return undefined;
      throw error;
    }),
  );
  if (job === undefined) {
    console.error(`stopped following; the job goes on. Follow it again with: react-rl finetune --job ${jobId}`);
    return 130;
  }
  if (job.status === "succeeded") console.log(`fine-tuned model: ${job.fine_tuned_model}`);
  else if (job.error) console.error(`job ${job.status}: ${job.error.message} (${job.error.code})`);
  console.log(JSON.stringify({ job: job.id, status: job.status, model: job.fine_tuned_model }));
  return job.status === "succeeded" ? 0 : 1;
}

const clock = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString().slice(11, 19);

function printEvent(event: FineTuningJobEvent): void {
  console.log(`${clock(event.created_at)}  ${event.level === "info" ? "" : `${event.level}: `}${event.message}`);
}

function printStatus(job: FineTuningJob): void {
  console.log(`${clock(Date.now() / 1000)}  status: ${job.status}`);
}
