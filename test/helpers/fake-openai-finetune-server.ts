import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How a fake job ends. */
export type FakeJobOutcome = "succeeded" | "failed" | "cancelled";

export interface FakeFineTuneServerOptions {
  outcome?: FakeJobOutcome;
  /** When set, requests without `Authorization: Bearer <apiKey>` get a 401. */
  apiKey?: string;
}

export interface FakeUpload {
  purpose: string;
  filename: string;
  text: string;
}

export interface FakeFineTuneServer {
  /** Base URL to give the SDK, ending in `/v1`. */
  baseURL: string;
  uploads: FakeUpload[];
  /** Bodies of job-creation requests. */
  created: Record<string, unknown>[];
  /** Every request as `METHOD /path`. */
  requests: string[];
  close(): Promise<void>;
}

interface FakeJob {
  id: string;
  body: Record<string, unknown>;
  /** Index into the job's status sequence; each retrieve moves it one on. */
  stage: number;
  events: { id: string; created_at: number; level: string; message: string; object: string; type: string }[];
}

const STAGES = ["validating_files", "queued", "running"] as const;
const STAGE_MESSAGES: Record<string, string> = {
  validating_files: "Validating training file",
  queued: "Fine-tuning job queued",
  running: "Fine-tuning job started",
  succeeded: "The job has successfully completed",
  failed: "The job failed",
  cancelled: "The job was cancelled",
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Multipart parsing by the platform's own `Request`, as a real server's framework would do it. */
async function readUpload(req: IncomingMessage, body: Buffer): Promise<FakeUpload> {
  const headers = new Headers({ "content-type": req.headers["content-type"] ?? "" });
  const form = await new Request("http://fake/", { method: "POST", headers, body: new Uint8Array(body) }).formData();
  const file = form.get("file");
  if (!(file instanceof File)) throw new Error("no file part");
  return { purpose: String(form.get("purpose")), filename: file.name, text: await file.text() };
}

function jobObject(job: FakeJob, outcome: FakeJobOutcome) {
  const status = STAGES[job.stage] ?? outcome;
  const finished = job.stage >= STAGES.length;
  return {
    id: job.id,
    object: "fine_tuning.job",
    created_at: 1_700_000_000,
    model: job.body.model,
    training_file: job.body.training_file,
    validation_file: null,
    method: job.body.method,
    status,
    fine_tuned_model: finished && outcome === "succeeded" ? `ft:${String(job.body.model)}:fake:${String(job.body.suffix ?? "run")}:1` : null,
    finished_at: finished ? 1_700_000_100 : null,
    error: finished && outcome === "failed" ? { code: "invalid_training_file", message: "Training file has too few examples", param: "training_file" } : null,
    hyperparameters: { n_epochs: "auto" },
    organization_id: "org-fake",
    result_files: [],
    seed: 0,
    trained_tokens: null,
  };
}

function addStageEvent(job: FakeJob, status: string): void {
  const n = job.events.length;
  job.events.push({
    id: `ftevent-${job.id}-${n}`,
    created_at: 1_700_000_000 + n,
    level: status === "failed" ? "error" : "info",
    message: STAGE_MESSAGES[status]!,
    object: "fine_tuning.job.event",
    type: "message",
  });
}

/**
 * A local server speaking enough of OpenAI's fine-tuning API for tests:
 * `POST /v1/files` (multipart), `POST /v1/fine_tuning/jobs`,
 * `GET /v1/fine_tuning/jobs/{id}` (each call moves the job one status on:
 * validating_files, queued, running, then the outcome) and
 * `GET /v1/fine_tuning/jobs/{id}/events` (newest first, as OpenAI lists them).
 */
export async function startFakeFineTuneServer(options: FakeFineTuneServerOptions = {}): Promise<FakeFineTuneServer> {
  const outcome = options.outcome ?? "succeeded";
  const uploads: FakeUpload[] = [];
  const created: Record<string, unknown>[] = [];
  const requests: string[] = [];
  const jobs = new Map<string, FakeJob>();

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const route = `${req.method} ${req.url?.split("?")[0]}`;
    requests.push(route);
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error" } });
    }
    if (route === "POST /v1/files") {
      const upload = await readUpload(req, body);
      uploads.push(upload);
      const id = `file-${uploads.length}`;
      return sendJson(res, 200, { id, object: "file", bytes: Buffer.byteLength(upload.text), created_at: 0, filename: upload.filename, purpose: upload.purpose, status: "processed" });
    }
    if (route === "POST /v1/fine_tuning/jobs") {
      const request = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
      created.push(request);
      const job: FakeJob = { id: `ftjob-${created.length}`, body: request, stage: 0, events: [] };
      addStageEvent(job, STAGES[0]);
      jobs.set(job.id, job);
      return sendJson(res, 200, jobObject(job, outcome));
    }
    const match = /^GET \/v1\/fine_tuning\/jobs\/([^/]+)(\/events)?$/.exec(route);
    const job = match && jobs.get(match[1]!);
    if (!match || !job) return sendJson(res, 404, { error: { message: `no route or job: ${route}`, type: "invalid_request_error" } });
    if (match[2]) return sendJson(res, 200, { object: "list", data: [...job.events].reverse(), has_more: false });
    if (job.stage < STAGES.length) {
      job.stage += 1;
      addStageEvent(job, STAGES[job.stage] ?? outcome);
    }
    return sendJson(res, 200, jobObject(job, outcome));
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => handle(req, res, body))
      .catch((error: unknown) => sendJson(res, 400, { error: { message: String(error), type: "invalid_request_error" } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    uploads,
    created,
    requests,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
