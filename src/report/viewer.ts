/**
 * `react-rl view`: a web page on 127.0.0.1 to browse a run folder's trajectory logs
 * episode by episode and step by step, and to compare two logs on the same questions
 * (the demo's before/ and after/, or two runs under one folder).
 *
 * What it serves: the page itself, and JSON read from the trajectory logs found under
 * the folder (`*.jsonl` other than metrics logs, symbolic links not followed). A log is
 * named by its path relative to the folder and looked up among those found, so no
 * request reaches a file outside it, nor a file there that is not a log.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readdir, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { z } from "zod";
import { byQuestion, mean, readTrajectories, succeeded, successRate, type Trajectory } from "../../trajectories/index.ts";
import { UserError } from "../errors.ts";
import { VIEWER_PAGE } from "./viewer-page.ts";
import { namesLoopback } from "../loopback.ts";

export interface Viewer {
  url: string;
  /** The trajectory logs under the folder when the viewer started (the page lists later ones as they appear). */
  logsFound: number;
  close(): Promise<void>;
}

/** Serves the viewer of the run folder `root` on 127.0.0.1:`port` (0 picks a free port). */
export async function serveViewer(root: string, port: number): Promise<Viewer> {
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new UserError(`${root} is not a folder: name a run folder (the --out of bench, train or demo)`);
  const folder = new RunFolder(root);
  const server = createServer((request, response) => {
    handle(folder, request, response).catch((error: unknown) => send(response, 500, { error: (error as Error).message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new UserError(`port ${port} is in use: pick another with --port N (0 picks a free one)`) : error),
    );
    server.listen(port, "127.0.0.1", resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    logsFound: (await findLogs(root)).length,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A trajectory log of the run folder, as read when its file last changed; or why it could not be read. */
interface Log {
  /** Relative to the run folder, with `/` between names: how requests name it. */
  path: string;
  version: string;
  episodes: Trajectory[];
  error?: string;
}

class RunFolder {
  private readonly cache = new Map<string, Log>();

  constructor(private readonly root: string) {}

  /** The folder's logs as they are now: each file read again only when its size or time changed. */
  async logs(): Promise<Log[]> {
    const logs: Log[] = [];
    for (const path of await findLogs(this.root)) {
      const file = join(this.root, path);
      const info = await stat(file).catch(() => undefined);
      if (!info) continue; // removed meanwhile
      const version = `${info.size}:${info.mtimeMs}`;
      let log = this.cache.get(path);
      if (log?.version !== version) {
        log = await readLog(file, path, version);
        this.cache.set(path, log);
      }
      logs.push(log);
    }
    return logs;
  }

  async log(path: string): Promise<Log | undefined> {
    return (await this.logs()).find((log) => log.path === path && log.error === undefined);
  }
}

async function readLog(file: string, path: string, version: string): Promise<Log> {
  try {
    return { path, version, episodes: (await readTrajectories(file)).trajectories };
  } catch (error) {
    return { path, version, episodes: [], error: (error as Error).message.replace(file, path) };
  }
}

/** `*.jsonl` files under `root` except metrics logs, sorted; hidden names and symbolic links are passed over. */
async function findLogs(root: string, under = ""): Promise<string[]> {
  const entries = await readdir(join(root, under), { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = under === "" ? entry.name : `${under}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await findLogs(root, path)));
    else if (entry.isFile() && entry.name.endsWith(".jsonl") && entry.name !== "metrics.jsonl") found.push(path);
  }
  return found.sort();
}

const LogPath = z.string().min(1).max(1000);
const Text = z.string().max(1000);

const EpisodesQuery = z
  .object({
    file: LogPath,
    /** Another log: each episode is paired with its question's outcome there. */
    compare: LogPath.optional(),
    outcome: z.enum(["all", "success", "failure"]).default("all"),
    type: Text.optional(),
    /** With compare: questions the other log does better on (fixed), worse (broken) or as well. */
    change: z.enum(["all", "fixed", "broken", "same"]).default("all"),
    search: Text.optional(),
  })
  .strict()
  .refine((q) => q.change === "all" || q.compare !== undefined, { message: "change needs compare", path: ["change"] });

const EpisodeQuery = z.object({ file: LogPath, index: z.string().regex(/^\d{1,9}$/, "expected a whole number").transform(Number) }).strict();
const QuestionQuery = z.object({ file: LogPath, id: Text.min(1) }).strict();

async function handle(folder: RunFolder, request: IncomingMessage, response: ServerResponse): Promise<void> {
  // No other site's page may read the viewer (DNS rebinding)
  if (!namesLoopback(request.headers.host)) return send(response, 403, { error: "the viewer answers only on 127.0.0.1" });
  if (request.method !== "GET" && request.method !== "HEAD") return send(response, 405, { error: "only GET" });
  const url = new URL(request.url ?? "/", "http://127.0.0.1");
  const query = Object.fromEntries(url.searchParams);
  switch (url.pathname) {
    case "/":
      return sendPage(response);
    case "/api/logs":
      return send(response, 200, { logs: (await folder.logs()).map(logSummary) });
    case "/api/episodes": {
      const q = parse(EpisodesQuery, query, response);
      if (!q) return;
      const log = await folder.log(q.file);
      const other = q.compare === undefined ? undefined : await folder.log(q.compare);
      if (!log || (q.compare !== undefined && !other)) return send(response, 404, { error: `no trajectory log ${q.compare !== undefined && log ? q.compare : q.file}` });
      return send(response, 200, { episodes: listEpisodes(log, other, q) });
    }
    case "/api/episode": {
      const q = parse(EpisodeQuery, query, response);
      if (!q) return;
      const episode = (await folder.log(q.file))?.episodes[q.index];
      if (!episode) return send(response, 404, { error: `no episode ${q.index} in ${q.file}` });
      return send(response, 200, { episode: episodeDetail(episode, q.index) });
    }
    case "/api/question": {
      const q = parse(QuestionQuery, query, response);
      if (!q) return;
      const log = await folder.log(q.file);
      if (!log) return send(response, 404, { error: `no trajectory log ${q.file}` });
      const episodes = log.episodes.flatMap((episode, index) => (episode.id === q.id ? [episodeDetail(episode, index)] : []));
      return send(response, 200, { episodes });
    }
    default:
      return send(response, 404, { error: `nothing at ${url.pathname}` });
  }
}

function parse<S extends z.ZodType>(schema: S, query: Record<string, string>, response: ServerResponse): z.infer<S> | undefined {
  const result = schema.safeParse(query);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : String(issue.path[0] ?? "query");
  send(response, 400, { error: `bad query parameter ${name}: ${issue.message}` });
  return undefined;
}

function logSummary(log: Log) {
  const types = [...new Set(log.episodes.flatMap((e) => (e.type === undefined ? [] : [e.type])))].sort();
  return { path: log.path, episodes: log.episodes.length, success: successRate(log.episodes), types, ...(log.error !== undefined && { error: log.error }) };
}

function listEpisodes(log: Log, other: Log | undefined, q: z.infer<typeof EpisodesQuery>) {
  const otherShare = other && successShareById(other.episodes);
  const search = q.search?.toLowerCase();
  return log.episodes.flatMap((episode, index) => {
    const success = Number(succeeded(episode));
    const share = otherShare?.get(episode.id);
    if (q.outcome !== "all" && success !== (q.outcome === "success" ? 1 : 0)) return [];
    if (q.type !== undefined && q.type !== "" && episode.type !== q.type) return [];
    if (search && !`${episode.id} ${episode.question}`.toLowerCase().includes(search)) return [];
    if (q.change !== "all") {
      if (share === undefined) return [];
      const change = share > success ? "fixed" : share < success ? "broken" : "same";
      if (change !== q.change) return [];
    }
    return [{ ...episodeSummary(episode, index), ...(otherShare && { other: share ?? null }) }];
  });
}

/** For each question, the share of its episodes that succeeded (logs of several samples per question have several). */
function successShareById(episodes: readonly Trajectory[]): Map<string, number> {
  return new Map([...byQuestion(episodes)].map(([id, group]) => [id, successRate(group)]));
}

function episodeSummary(episode: Trajectory, index: number) {
  return {
    index,
    id: episode.id,
    sample: episode.sample ?? 0,
    question: episode.question,
    type: episode.type ?? null,
    success: succeeded(episode),
  };
}

/** An episode for the page: everything but the steps' token ids and logprobs, of which the mean is kept. */
function episodeDetail(episode: Trajectory, index: number) {
  return {
    ...episodeSummary(episode, index),
    gold: episode.gold ?? null,
    answer: episode.answer,
    reward: episode.reward,
    metrics: episode.metrics,
    meta: episode.meta,
    steps: episode.steps.map(({ tokens: _tokens, logprobs, ...step }) => ({ ...step, ...(logprobs && { meanLogprob: mean(logprobs) }) })),
  };
}

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  // Nothing but the page's own script, style and requests: it loads nothing from elsewhere.
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'",
};

function sendPage(response: ServerResponse): void {
  response.writeHead(200, { ...PAGE_HEADERS, "cache-control": "no-store", "x-content-type-options": "nosniff" });
  response.end(VIEWER_PAGE);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
  response.end(JSON.stringify(body));
}
