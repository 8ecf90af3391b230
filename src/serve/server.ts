/**
 * The embedded planner behind OpenAI's HTTP API: `POST /v1/chat/completions`
 * and `GET /v1/models`, on node:http. Concurrent requests are decoded together
 * (see PlannerDecoder), so many episodes in flight make full batches.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, resolve } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { isLoopback, namesLoopback } from "../loopback.ts";
import { functionOption, otherOptions, parseOptions } from "../options.ts";
import { defaultDecoding, ENGINES, promptTokens, turnConstraint, type EngineName, type Planner } from "../planner/index.ts";
import { PlannerDecoder, type DecoderStats } from "./decoder.ts";
import { chatCompletion, chatCompletionChunks, errorBody, modelList, type Reply } from "./responses.ts";
import { ChatRequest, promptText, type ErrorBody } from "./schema.ts";
import { requestedTurn } from "./turn.ts";

/** What `servePlanner` is given besides the planner, checked where a script can pass anything. */
const ServeSettings = z.object({
  /** Default 127.0.0.1: the server has no authentication, so reaching it from elsewhere must be asked for. */
  host: z.string().min(1).optional(),
  /** Default 8000; 0 picks a free port. */
  port: z.number().int().min(0).max(65535).optional(),
  /** Most sequences decoded in one batch (default 64). */
  maxBatch: z.number().int().min(1).optional(),
  /** What requests decode on; default: as rollouts do on the tfjs backend (`decodingOn`: the kernels on a CPU, tfjs on a GPU). */
  engine: z.enum(ENGINES).optional(),
  /**
   * Decode a prompt that ends in an open `Thought k:` under the ReAct turn grammar, as
   * LocalPolicy does (default true); a request's `turn_grammar` field overrides it.
   */
  grammar: z.boolean().optional(),
  /** The id requests must name; default `servedModelName(planner.source)`. */
  model: z.string().min(1).optional(),
});

export interface ServeOptions extends z.input<typeof ServeSettings> {
  /** Receives one line per request; default: stderr. */
  log?: (line: string) => void;
}

export interface PlannerServer {
  /** The base URL to give an OpenAI client, ending in `/v1`. */
  baseURL: string;
  /** The served model's id, which requests must name. */
  model: string;
  /** What requests decode on. */
  engine: EngineName;
  /** Generation's work so far: mean batch is generatedTokens / passes. */
  stats(): DecoderStats;
  /** Stops accepting connections and resolves once the requests in progress are answered. */
  close(): Promise<void>;
}

/** A ReAct turn (a thought and an action) fits easily; the local policy allows as many. */
const DEFAULT_MAX_TOKENS = 64;

/** Requests larger than this are refused: a prompt is a few kilobytes. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * A body over MAX_BODY_BYTES is still read to its end (and dropped) if it is no larger
 * than this, so that its connection can carry the client's next request; a larger one is
 * refused as soon as it is seen, and its connection closed.
 */
const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

/** A request the server refuses, with the status and OpenAI-style body to refuse it with. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    /** The connection cannot carry another request (its body was left unread). */
    readonly closesConnection = false,
  ) {
    super(body.error.message);
  }
}

export async function servePlanner(planner: Planner, options: ServeOptions = {}): Promise<PlannerServer> {
  parseOptions("servePlanner", ServeSettings, options, otherOptions<Pick<ServeOptions, "log">>({ log: functionOption("a function").optional() }));
  const engine = options.engine ?? (await defaultDecoding()).engine;
  const decoder = new PlannerDecoder(planner, { maxBatch: options.maxBatch ?? 64, engine });
  const model = options.model ?? servedModelName(planner.source);
  const created = Math.floor(Date.now() / 1000);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const host = options.host ?? "127.0.0.1";
  // On a loopback address, no other site's page may use it (DNS rebinding); another address was asked for
  const served: Served = { planner, decoder, model, created, grammar: options.grammar ?? true, loopbackOnly: isLoopback(host) };
  const server = createServer((req, res) => {
    afterAnswer(req, res, server, log);
    route(req, res, served).catch((error: unknown) => refuse(res, error));
  });
  await listen(server, host, options.port ?? 8000);
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    model,
    engine,
    stats: () => decoder.stats(),
    close: () => close(server),
  };
}

/** Set on an answer to a prompt longer than the context: the tokens of its end that were read. */
const PROMPT_CUT_HEADER = "x-prompt-tokens-kept";

/** Logs the request once its answer has gone (or its client left). */
function afterAnswer(req: IncomingMessage, res: ServerResponse, server: Server, log: (line: string) => void): void {
  const started = performance.now();
  res.on("close", () => {
    const kept = res.getHeader(PROMPT_CUT_HEADER);
    const cut = kept === undefined ? "" : ` (prompt cut to its last ${String(kept)} tokens)`;
    log(`${req.method} ${req.url} ${res.statusCode} ${Math.round(performance.now() - started)}ms${cut}`);
    // Once closing, a connection whose last answer has gone would otherwise idle until its keep-alive timeout.
    if (!server.listening) server.closeIdleConnections();
  });
}

/**
 * A checkpoint's model id: its folder's name, or its run's for the `NAME/checkpoint` every
 * trainer writes (`runs/rl/checkpoint` is `rl`), so that two runs' checkpoints are not both `checkpoint`.
 */
export function servedModelName(dir: string): string {
  const path = resolve(dir); // `./checkpoint` is named after the folder it is in, not "."
  const name = basename(path);
  return name === "checkpoint" ? basename(dirname(path)) : name;
}

interface Served {
  planner: Planner;
  decoder: PlannerDecoder;
  model: string;
  created: number;
  grammar: boolean;
  /** Answer only requests that name this machine as their Host. */
  loopbackOnly: boolean;
}

async function route(req: IncomingMessage, res: ServerResponse, served: Served): Promise<void> {
  if (served.loopbackOnly && !namesLoopback(req.headers.host)) {
    throw new RequestError(403, errorBody("This server answers only requests to 127.0.0.1 (listen on another address with --host to serve others).", null, "forbidden_host"));
  }
  const path = requestPath(req.url ?? "/");
  const trimmed = path.replace(/\/+$/, "");
  if (req.method === "GET" && trimmed === "/v1/models") return sendJson(res, 200, modelList(served.model, served.created));
  if (req.method === "GET" && trimmed.startsWith("/v1/models/")) return sendJson(res, 200, servedModel(trimmed.slice("/v1/models/".length), served));
  if (req.method === "POST" && trimmed === "/v1/chat/completions") return completeChat(req, res, served);
  throw new RequestError(404, errorBody(`Unknown request URL: ${req.method} ${path}`, null, "unknown_url"));
}

/** `GET /v1/models/{id}`: the served model, or OpenAI's 404 for another. */
function servedModel(escapedId: string, served: Served) {
  const id = decodedOrAsIs(escapedId);
  if (id !== served.model) throw unknownModel(id, served);
  return modelList(served.model, served.created).data[0];
}

/** A path segment's text; a malformed escape (`%`) is kept as it is, and names no model. */
function decodedOrAsIs(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function unknownModel(id: string, served: Served): RequestError {
  return new RequestError(404, errorBody(`The model '${id}' does not exist: this server serves '${served.model}'.`, "model", "model_not_found"));
}

/** The path a request names, without its query; its target is usually just that (`/v1/models?x`), or else a whole URL. */
function requestPath(target: string): string {
  if (target.startsWith("/")) return target.replace(/[?#][\s\S]*$/, "");
  if (URL.canParse(target)) return new URL(target).pathname;
  throw new RequestError(400, errorBody(`The request target is not a path: ${target}`, null, "invalid_url"));
}

async function completeChat(req: IncomingMessage, res: ServerResponse, served: Served): Promise<void> {
  const request = ChatRequest.parse(await readJson(req)); // a failed check is answered with 400 (see refuse)
  if (request.model !== served.model) throw unknownModel(request.model, served);
  const maxNewTokens = request.max_completion_tokens ?? request.max_tokens ?? DEFAULT_MAX_TOKENS;
  const { contextLength } = served.planner.model.config;
  if (maxNewTokens >= contextLength) {
    const param = request.max_completion_tokens ? "max_completion_tokens" : "max_tokens";
    throw new RequestError(400, errorBody(`${param} must be less than the model's context length (${contextLength}).`, param, "invalid_value"));
  }
  // What the model has room for, as the generator would cut it: a prompt of megabytes is read no further
  const text = promptText(request.messages);
  const prompt = promptTokens(text, served.planner.tokenizer, contextLength - maxNewTokens);
  // OpenAI refuses a prompt past the context; this server reads its end, as the library does, and says so
  if (prompt.cut) res.setHeader(PROMPT_CUT_HEADER, String(prompt.ids.length));
  const turn = (request.turn_grammar ?? served.grammar) ? requestedTurn(text) : undefined;
  const grammar = turn && (() => turnConstraint(prompt, served.planner.tokenizer, turn.step, turn.actions));
  const sampling = {
    temperature: request.temperature,
    topP: request.top_p,
    maxNewTokens,
    stop: [request.stop ?? []].flat(),
    seed: request.seed ?? undefined,
  };
  const generations = await served.decoder.decode(prompt.ids, request.n, sampling, grammar);
  const reply: Reply = { model: served.model, generations, tokenizer: served.planner.tokenizer, logprobs: request.logprobs === true };
  if (!request.stream) return sendJson(res, 200, chatCompletion(reply));
  sendEvents(res, chatCompletionChunks(reply, request.stream_options?.include_usage === true));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new RequestError(400, errorBody(`The body is not valid JSON: ${(error as Error).message}`, null, "invalid_json"));
  }
}

/**
 * The whole body. One too large is refused once it has been read to its end, so that the
 * connection stays usable, unless it is larger than MAX_DRAINED_BYTES (see there).
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = (closesConnection: boolean) =>
    new RequestError(413, errorBody(`The request body is larger than ${MAX_BODY_BYTES} bytes.`, null, "body_too_large"), closesConnection);
  if (Number(req.headers["content-length"]) > MAX_DRAINED_BYTES) return Promise.reject(tooLarge(true));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_DRAINED_BYTES) {
        req.pause();
        reject(tooLarge(true));
      }
    });
    req.on("end", () => (size > MAX_BODY_BYTES ? reject(tooLarge(false)) : resolve(Buffer.concat(chunks))));
    // The client left: nobody hears the answer, but the request's handling ends (after "end", this does nothing)
    const left = () => reject(new RequestError(400, errorBody("The client left before its request body ended.", null, "incomplete_body")));
    req.on("error", left);
    req.on("close", left);
  });
}

/**
 * Answers a failure. A refused request gets its own error, and a failed schema check 400
 * wherever it ran: here zod only ever checks what a request sent. Anything else is the
 * server's fault: 500, with the stack on stderr unless it is a UserError (a setup mistake,
 * such as a checkpoint whose parts do not belong together).
 */
function refuse(res: ServerResponse, error: unknown): void {
  if (error instanceof RequestError) return sendJson(res, error.status, error.body, error.closesConnection);
  if (error instanceof z.ZodError) return sendJson(res, 400, invalidRequest(error));
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof UserError)) process.stderr.write(`${error instanceof Error ? error.stack : message}\n`);
  sendJson(res, 500, errorBody(message, null, null, "server_error"));
}

/** The first failed check, with the request field it is about as OpenAI's `param`. */
function invalidRequest(error: z.ZodError): ErrorBody {
  const issue = error.issues[0]!;
  const param = issue.path.join(".") || null;
  return errorBody(`Invalid request${param ? ` (${param})` : ""}: ${issue.message}`, param, issue.code);
}

function sendJson(res: ServerResponse, status: number, body: unknown, closeConnection = false): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", ...(closeConnection ? { connection: "close" } : {}) });
  res.end(JSON.stringify(body));
}

/** Server-sent events: one `data:` line per chunk, then `data: [DONE]`. */
function sendEvents(res: ServerResponse, chunks: unknown[]): void {
  if (res.destroyed) return;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const chunk of chunks) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  res.end("data: [DONE]\n\n");
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") reject(new UserError(`port ${port} on ${host} is already in use: pick another port (--port)`));
      else if (error.code === "EACCES") reject(new UserError(`not allowed to listen on ${host}:${port}: pick a port above 1023`));
      else if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") reject(new UserError(`cannot listen on ${host}: no such local address`));
      else reject(error);
    });
    server.listen(port, host, resolve);
  });
}

/** Lets requests in progress finish; idle keep-alive connections would hold `close` open, so they go now. */
function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
