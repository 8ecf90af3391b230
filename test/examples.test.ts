import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { OpenAISftRecordSchema, TokenRecordSchema } from "../trajectories/index.ts";
import { startFakeOpenAIServer } from "./helpers/fake-openai-server.ts";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;

/**
 * Runs an example as its header says (`npx tsx examples/NAME.ts`), from the package root, with no API key;
 * its `import ... from "react-rl"` finds the TypeScript sources (the package's react-rl-source condition), not dist/.
 */
async function example(name: string, args: string[] = [], env: Record<string, string> = {}) {
  const environment = { ...process.env, OPENAI_API_KEY: "", OPENAI_BASE_URL: "", ...env };
  const { stdout } = await run(process.execPath, ["--conditions=react-rl-source", "--import", "tsx", `examples/${name}.ts`, ...args], { cwd: root, env: environment });
  return stdout;
}

const jsonl = (text: string) => text.trim().split("\n").map((line) => JSON.parse(line) as unknown);

describe("examples", () => {
  it("custom-tool: the prompt lists LangChain's Calculator, and the agent calls it from the wiki environment", async () => {
    const stdout = await example("custom-tool");
    expect(stdout).toMatch(/^\(3\) Calculator\[input\]: Useful for getting the result of a math expression\./m);
    expect(stdout).toContain("3. Calculator[2013 - 1946] -> 67");
    expect(stdout).toContain("answer: 67, reward: 1");
  });

  it("hotpotqa-openai: says what it needs without a key, and runs against any OpenAI-compatible server", async () => {
    expect(await example("hotpotqa-openai")).toMatch(/^This example needs a model: set OPENAI_API_KEY/);

    const server = await startFakeOpenAIServer({ reply: () => " I will guess.\nAction 1: Finish[yes]" });
    try {
      const out = join(await mkdtemp(join(tmpdir(), "react-rl-example-")), "run");
      const stdout = await example("hotpotqa-openai", ["3", out], { OPENAI_BASE_URL: server.baseURL, OPENAI_MODEL: "fake" });
      expect(stdout).toMatch(/^episodes\s+3$/m);
      expect(server.requests).toHaveLength(3);
      expect(server.requests[0]).toMatchObject({ model: "fake", temperature: 0 });
    } finally {
      await server.close();
    }
  });

  it("collect-and-export: collects episodes and writes valid SFT, DPO and token files", async () => {
    const out = await mkdtemp(join(tmpdir(), "react-rl-example-"));
    const stdout = await example("collect-and-export", [out]);
    expect(stdout).toMatch(/^baseline: 40 episodes, EM /m);
    expect(stdout).toMatch(/^oracle: 40 episodes, EM 1\.000$/m);
    const sft = jsonl(await readFile(join(out, "sft.jsonl"), "utf8"));
    for (const record of sft) OpenAISftRecordSchema.parse(record);
    expect(stdout).toContain(`sft.jsonl: ${sft.length} conversations`);
    expect(jsonl(await readFile(join(out, "dpo.jsonl"), "utf8")).length).toBeGreaterThan(0);
    const tokens = jsonl(await readFile(join(out, "tokens.jsonl"), "utf8"));
    expect(tokens).toHaveLength(40);
    TokenRecordSchema.parse(tokens[0]);
  });

  it("train-planner: trains a tiny planner from scratch and evaluates it through the runtime", async () => {
    const stdout = await example("train-planner");
    expect(stdout).toMatch(/^tfjs backend: \w+/m);
    const losses = [...stdout.matchAll(/^pretrain step \d+: loss ([\d.]+)$/gm)].map((m) => Number(m[1]));
    expect(losses.at(-1)).toBeLessThan(losses[0]!);
    // With the copy head the planner can learn to copy the question's names: without it this loss stayed near 2.5.
    const sft = [...stdout.matchAll(/^sft step \d+: loss ([\d.]+)$/gm)].map((m) => Number(m[1]));
    expect(sft.at(-1)).toBeLessThan(1);
    expect(stdout).toMatch(/^test EM [\d.]+ over 20 questions/m);
  }, 240_000);
});
