import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTrajectories } from "../trajectories/index.ts";
import { startFakeOpenAIServer, type FakeOpenAIServer } from "./helpers/fake-openai-server.ts";

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
