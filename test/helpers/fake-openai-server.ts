import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The part of a chat-completions request body the fake server reads; the rest is kept as sent. */
export interface ChatRequestBody {
  model: string;
  messages: { role: string; content: string }[];
  stop?: string | string[];
  n?: number;
  logprobs?: boolean;
  [key: string]: unknown;
}

/** Writes the text of one choice; `choice` counts from 0 when the request asks for `n` of them. */
export type ReplyFn = (body: ChatRequestBody, choice: number) => string;

/**
 * What the server does instead of answering: an HTTP status (sent with
 * `retry-after-ms: 10`, so retries stay fast), a 429 asking to wait N seconds,
 * a 200 whose body is not a chat completion, or no answer at all.
 */
export type Fault = number | `retry-after-${number}` | "truncated-json" | "html" | "empty-object" | "no-choices" | "hang";

export interface FakeOpenAIServerOptions {
  reply: ReplyFn;
  /** Faults for the first requests (e.g. `[429, 500]`) before replies succeed. */
  failures?: Fault[];
  /** The fault for chat request `index` (from 0, failed ones counted), once `failures` are spent; none: a reply. */
  fault?: (index: number) => Fault | undefined;
  /** When set, requests without `Authorization: Bearer <apiKey>` get a 401. */
  apiKey?: string;
  /**
   * Holds the first replies until this many requests wait at once, then sends them all:
   * proof that the client keeps that many in flight (one that does not hangs until its test times out).
   */
  holdUntil?: number;
}

export interface FakeOpenAIServer {
  /** Base URL to give the SDK, ending in `/v1`. */
  baseURL: string;
  /** Every request body received, failed attempts included. */
  requests: ChatRequestBody[];
  /** The most requests that were in the server at once. */
  readonly peakInFlight: number;
  close(): Promise<void>;
}

/** The log-probability the fake reports for every token: any fixed negative number would do. */
export const FAKE_TOKEN_LOGPROB = -0.25;

/** Whitespace-kept word pieces: the fake server's notion of tokens. */
function fakeTokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** Cuts the text before the first stop sequence, as a real server does. */
function cutAtStop(text: string, stop: string | string[] | undefined): string {
  const stops = stop === undefined ? [] : [stop].flat();
  const cuts = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
  return cuts.length === 0 ? text : text.slice(0, Math.min(...cuts));
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<ChatRequestBody> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatRequestBody;
}

function completionBody(body: ChatRequestBody, reply: ReplyFn) {
  const texts = Array.from({ length: body.n ?? 1 }, (_, i) => cutAtStop(reply(body, i), body.stop));
  const promptTokens = body.messages.reduce((sum, m) => sum + fakeTokens(m.content).length, 0);
  const completionTokens = texts.reduce((sum, t) => sum + fakeTokens(t).length, 0);
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: 0,
    model: body.model,
    choices: texts.map((text, index) => ({
      index,
      message: { role: "assistant", content: text, refusal: null },
      finish_reason: "stop",
      logprobs: body.logprobs
        ? { content: fakeTokens(text).map((token) => ({ token, logprob: FAKE_TOKEN_LOGPROB, bytes: null, top_logprobs: [] })) }
        : null,
    })),
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** Sends the fault, or for "hang" nothing: the request stays open until the client gives up or the server closes. */
function sendFault(res: ServerResponse, fault: Fault, completion: () => object): void {
  if (typeof fault === "number") {
    return sendJson(res, fault, { error: { message: `fake failure ${fault}`, type: "server_error" } }, { "retry-after-ms": "10" });
  }
  if (fault.startsWith("retry-after-")) {
    return sendJson(res, 429, { error: { message: "slow down", type: "rate_limit" } }, { "retry-after": fault.slice("retry-after-".length) });
  }
  const json = (text: string) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(text);
  };
  switch (fault) {
    case "truncated-json":
      return json(JSON.stringify(completion()).slice(0, 40));
    case "html":
      res.writeHead(200, { "content-type": "text/html" });
      return void res.end("<html><body><h1>Welcome to nginx!</h1></body></html>");
    case "empty-object":
      return json("{}");
    case "no-choices":
      return json(JSON.stringify({ ...completion(), choices: [] }));
    case "hang":
      return;
  }
}

/**
 * A local server speaking enough of OpenAI's `/v1/chat/completions` for tests:
 * texts come from `reply`, cut at the request's stop sequences; failures are
 * injected as `failures` and `fault` say.
 */
export async function startFakeOpenAIServer(options: FakeOpenAIServerOptions): Promise<FakeOpenAIServer> {
  const requests: ChatRequestBody[] = [];
  const failures = [...(options.failures ?? [])];
  const held: (() => void)[] = [];
  let holding = options.holdUntil !== undefined;
  let chatRequests = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const server = createServer((req, res) => {
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    res.on("finish", () => (inFlight -= 1));
    readBody(req).then(
      (body) => {
        requests.push(body);
        if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
          return sendJson(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: "not_found" } });
        }
        if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
          return sendJson(res, 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error" } });
        }
        const index = chatRequests++;
        const failure = failures.shift() ?? options.fault?.(index);
        if (failure !== undefined) return sendFault(res, failure, () => completionBody(body, options.reply));
        const reply = () => sendJson(res, 200, completionBody(body, options.reply));
        if (!holding) return reply();
        held.push(reply);
        if (held.length >= options.holdUntil!) {
          holding = false;
          for (const send of held.splice(0)) send();
        }
      },
      (error: unknown) => sendJson(res, 400, { error: { message: String(error), type: "invalid_request_error" } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    get peakInFlight() {
      return peakInFlight;
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
