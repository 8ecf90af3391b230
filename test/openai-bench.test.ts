import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readTrajectories } from "../trajectories/index.ts";
import { cli, CLI_BIN } from "./helpers/cli.ts";
import { startFakeOpenAIServer, type Fault, type FakeOpenAIServer } from "./helpers/fake-openai-server.ts";

const run = promisify(execFile);
const bin = new URL("../bin/react-rl.mjs", import.meta.url).pathname;

/** A stand-in LLM: searches once, then answers "yes", reading only its prompt. */
function reply(body: { messages: { content: string }[] }): string {
  const episode = body.messages.at(-1)!.content.split("\nQuestion:").at(-1)!;
  return episode.includes("Observation 1:")
    ? " I have read enough.\nAction 2: Finish[yes]"
    : " I should search the first subject.\nAction 1: Search[Scott Derrickson]";
}

describe("bench with the OpenAI policy, through the real SDK, against a server on 127.0.0.1", () => {
  let server: FakeOpenAIServer;
  beforeAll(async () => {
    server = await startFakeOpenAIServer({ reply, apiKey: "sk-test" });
  });
  afterAll(() => server.close());

  it("runs episodes, records usage, and writes the summary", async () => {
    const out = await mkdtemp(join(tmpdir(), "react-rl-openai-"));
    const args = ["bench", "--policy", "openai", "--model", "fake-1", "--base-url", server.baseURL, "--limit", "4", "--concurrency", "2", "--out", out];
    const { stdout } = await run(process.execPath, [bin, ...args], { env: { ...process.env, OPENAI_API_KEY: "sk-test" } });

    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ n: 4, avgSteps: 2, haltedRate: 0, invalidRate: 0 });
    expect(summary.promptTokens).toBeGreaterThan(0);
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!).n).toBe(4);

    const { trajectories } = await readTrajectories(join(out, "trajectories.jsonl"));
    expect(trajectories.every((t) => t.meta.model === "fake-1" && t.answer === "yes")).toBe(true);
    expect(trajectories[0]!.steps[0]!.action).toBe("Search[Scott Derrickson]");
    expect(server.requests.length).toBe(8);
    expect(server.requests.map((r) => r.stop)).toContainEqual(["\nObservation 2:"]);
  });
});

describe("bench with the OpenAI policy, many requests in flight", () => {
  it("keeps them all in flight on the run's one Ctrl-C signal, with no listener-leak warning", async () => {
    const server = await startFakeOpenAIServer({ reply, holdUntil: 16 });
    try {
      const out = await mkdtemp(join(tmpdir(), "react-rl-openai-"));
      const { code, stderr } = await cli(["bench", "--policy", "openai", "--model", "fake-1", "--base-url", server.baseURL, "--limit", "16", "--concurrency", "16", "--out", out], { OPENAI_API_KEY: "sk-test" });
      expect({ code, peak: server.peakInFlight, warned: stderr.includes("Warning") }).toEqual({ code: 0, peak: 16, warned: false });
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe("bench with the OpenAI policy against a faulty server", () => {
  let server: FakeOpenAIServer | undefined;
  afterEach(() => server?.close());

  /** Starts a server whose chat request `index` gets `fault(index)`; returns the bench arguments that use it. */
  async function benchAgainst(fault: (index: number) => Fault | undefined, ...flags: string[]): Promise<string[]> {
    server = await startFakeOpenAIServer({ reply, fault });
    const out = await mkdtemp(join(tmpdir(), "react-rl-openai-"));
    return ["bench", "--policy", "openai", "--model", "fake-1", "--base-url", server.baseURL, "--concurrency", "1", "--out", out, ...flags];
  }
  const outOf = (args: string[]) => args[args.indexOf("--out") + 1]!;
  const loggedIds = async (args: string[]) => (await readTrajectories(join(outOf(args), "trajectories.jsonl"))).trajectories.map((t) => t.id);

  /** The lines of stderr that are not progress bars: what the user is told. */
  const told = (stderr: string) => stderr.trim().split("\n").filter((line) => !line.includes("] "));

  it.each<Fault>([500, "html"])("stops in one line when the server turns broken (%s), keeping the finished episodes", async (fault) => {
    // Two requests per episode: the first two episodes finish, then every request fails.
    const args = await benchAgainst((i) => (i >= 4 ? fault : undefined), "--limit", "6", "--retries", "1");
    const { code, stderr } = await cli(args);
    expect(code).toBe(1);
    expect(told(stderr)).toEqual([expect.stringMatching(/^react-rl bench: 3 episodes in a row failed, so the run stopped \(rerun to resume\): The server at http:\/\/127\.0\.0\.1:\d+\/v1 (answered 500|sent text\/html).* \(2 attempts\)\.$/)]);
    expect(await loggedIds(args)).toHaveLength(2);
  });

  it("records an episode that failed, finishes the run, and retries the episode on rerun", async () => {
    // The second episode's first request fails all three attempts (requests 2, 3 and 4).
    const args = await benchAgainst((i) => (i >= 2 && i <= 4 ? 500 : undefined), "--limit", "4");
    const first = await cli(args);
    expect(first.code).toBe(1);
    expect(told(first.stderr)).toEqual([expect.stringMatching(/^1 of 4 episodes failed, the last because: The server at .* answered 500: fake failure 500 \(3 attempts\)\. Rerun the same command to retry them\.$/)]);
    const summary = JSON.parse(await readFile(join(outOf(args), "summary.json"), "utf8"));
    const ids = await loggedIds(args);
    expect(summary).toMatchObject({ n: 3, failed: [{ id: expect.any(String), sample: 0, error: expect.stringContaining("answered 500") }] });
    expect(ids).not.toContain(summary.failed[0].id);

    const rerun = await cli(args);
    expect(rerun.code).toBe(0);
    expect(await loggedIds(args)).toEqual([...ids, summary.failed[0].id]);
  });

  it("gives up on a server that never answers after --timeout, with --retries retries", async () => {
    const args = await benchAgainst(() => "hang", "--limit", "5", "--timeout", "0.2", "--retries", "0");
    const { code, stderr } = await cli(args);
    expect(code).toBe(1);
    expect(told(stderr)).toEqual([expect.stringMatching(/^react-rl bench: 3 episodes in a row failed, .* did not answer within 0\.2 s \(see --timeout, or timeoutMs from a script\)\.$/)]);
    expect(server!.requests).toHaveLength(3);
  });

  it("stops at once on Ctrl-C while waiting out a retry-after, keeping the finished episode", async () => {
    const args = await benchAgainst((i) => (i >= 2 ? "retry-after-15" : undefined), "--limit", "3");
    const child = spawn(process.execPath, [CLI_BIN, ...args], { env: { ...process.env, OPENAI_API_KEY: "" } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    while (server!.requests.length < 3) await new Promise((r) => setTimeout(r, 20));
    const interrupted = Date.now();
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(Date.now() - interrupted).toBeLessThan(3_000);
    expect(told(stderr)).toEqual(["stopping where a rerun resumes; Ctrl-C again quits at once", "interrupted: rerun the same command to resume"]);
    expect(await loggedIds(args)).toHaveLength(1);
  });
});
