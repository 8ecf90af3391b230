import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, realpath } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { formatPromptFile, loadPrompt, parsePromptFile, type PromptTemplate } from "../prompts/index.ts";
import type { Policy, PolicyRequest } from "../src/agent/policy.ts";
import { loadDataset } from "../src/suites/datasets.ts";
import { HOTPOTQA_SAMPLE } from "../src/suites/bundled.ts";
import { PolicyError, UserError } from "../src/errors.ts";
import { ScriptedPolicy } from "../src/policies/scripted.ts";
import { bootstrapFewShot } from "../src/train/index.ts";
import { Docstore, WikiEnvironment, type QaTask } from "../tools/wiki/index.ts";
import { readTrajectories } from "../trajectories/index.ts";
import { startFakeOpenAIServer } from "./helpers/fake-openai-server.ts";

const task = (id: string, question: string, answer: string): QaTask => ({ id, question, answer, type: "test", supportingFacts: [], context: [] });
const train = Array.from({ length: 6 }, (_, i) => task(`t${i}`, `train question ${i}?`, `answer ${i}`));
const dev = Array.from({ length: 4 }, (_, i) => task(`d${i}`, `dev question ${i}?`, `dev answer ${i}`));
const base: PromptTemplate = { instruction: "Answer with Finish[answer].", exemplars: ["Question: base?\nThought 1: Easy.\nAction 1: Finish[base]"] };

/** Whether the prompt shows the exemplar made from training question `i`. */
const shows = (request: PolicyRequest<QaTask>, i: number) => request.prompt.includes(`Question: train question ${i}?\n`);

/**
 * A policy that solves the even training questions (so t0, t2, t4 become exemplars), and
 * solves dev questions only when its prompt shows t4's episode and not t0's: the best sets
 * are exactly those with t4 and without t0.
 */
const policy = () =>
  new ScriptedPolicy<QaTask>((request) => {
    const { task: current } = request;
    const solves = current.id.startsWith("t") ? Number(current.id.slice(1)) % 2 === 0 : shows(request, 4) && !shows(request, 0);
    return ` I know this.\nAction 1: Finish[${solves ? current.answer : "no idea"}]`;
  });

const environment = () => new WikiEnvironment(new Docstore([]));
const bootstrap = async (seed: number) =>
  bootstrapFewShot({ policy: policy(), environment, train, dev, base, k: 2, candidates: 3, seed, out: await mkdtemp(join(tmpdir(), "react-rl-bootstrap-")) });

describe("bootstrapFewShot", () => {
  it("scores every candidate on dev and keeps the set that makes the policy succeed", async () => {
    const out = await mkdtemp(join(tmpdir(), "react-rl-bootstrap-"));
    const result = await bootstrapFewShot({ policy: policy(), environment, train, dev, base, k: 2, candidates: 10, seed: 7, out });

    expect(result.pool).toBe(3);
    // All three 2-sets of {t0, t2, t4}, after the base prompt's own.
    expect(result.candidates).toHaveLength(4);
    expect(result.candidates[0]).toEqual({ exemplarIds: null, score: 0, em: 0 });
    for (const candidate of result.candidates.slice(1)) {
      const good = candidate.exemplarIds!.includes("t4") && !candidate.exemplarIds!.includes("t0");
      expect(candidate.score).toBe(good ? 1 : 0);
    }
    expect(result.candidates[result.best]!.exemplarIds).toEqual(["t2", "t4"]);
    expect(result.template.instruction).toBe(base.instruction);
    expect(result.template.exemplars).toEqual([
      "Question: train question 2?\nThought 1: I know this.\nAction 1: Finish[answer 2]",
      "Question: train question 4?\nThought 1: I know this.\nAction 1: Finish[answer 4]",
    ]);
    expect(JSON.parse(await readFile(join(out, "bootstrap.json"), "utf8"))).toMatchObject({ best: result.best, pool: 3, k: 2 });
  });

  it("keeps the base prompt when nothing beats it", async () => {
    const out = await mkdtemp(join(tmpdir(), "react-rl-bootstrap-"));
    const failing = new ScriptedPolicy<QaTask>(() => " Hmm.\nAction 1: Finish[no idea]");
    const result = await bootstrapFewShot({ policy: failing, environment, train, dev, base, out });
    expect(result).toMatchObject({ pool: 0, best: 0, template: base, interrupted: false });
  });

  it("stops on its signal with nothing scored, and a rerun resumes to the same result", async () => {
    const out = await mkdtemp(join(tmpdir(), "react-rl-bootstrap-"));
    const options = { policy: policy(), environment, train, dev, base, k: 2, candidates: 10, seed: 7, out };
    const stopped = await bootstrapFewShot({ ...options, signal: AbortSignal.abort() });
    expect(stopped).toMatchObject({ interrupted: true, candidates: [] });
    const resumed = await bootstrapFewShot(options);
    expect(resumed).toMatchObject({ interrupted: false, pool: 3 });
    expect(resumed.candidates[resumed.best]!.exemplarIds).toEqual(["t2", "t4"]);
  });

  it("stops when the policy fails an episode, rather than score a candidate on fewer questions, and a rerun retries it", async () => {
    const out = await mkdtemp(join(tmpdir(), "react-rl-bootstrap-"));
    const options = { environment, train, dev, base, k: 2, candidates: 10, seed: 7, out };
    const inner = policy();
    const flaky: Policy<QaTask> = {
      name: "scripted",
      act: async (r) => (r.task.id === "d1" ? Promise.reject(new PolicyError("The server at x answered 500.")) : inner.act(r)),
    };
    await expect(bootstrapFewShot({ ...options, policy: flaky })).rejects.toThrow(
      new UserError("1 of 4 episodes failed, the last because: The server at x answered 500. Rerun the same command to retry them."),
    );
    const resumed = await bootstrapFewShot({ ...options, policy: policy() });
    expect(resumed.candidates).toHaveLength(4);
    expect(resumed.candidates[resumed.best]!.exemplarIds).toEqual(["t2", "t4"]);
  });

  it("draws the same candidate sets for the same seed", async () => {
    const ids = (r: Awaited<ReturnType<typeof bootstrap>>) => r.candidates.map((c) => c.exemplarIds);
    const [a, b] = [await bootstrap(3), await bootstrap(3)];
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a)).toHaveLength(4);
  });

  it("chooses a prompt that survives the prompt file format", async () => {
    const { template } = await bootstrap(1);
    expect(parsePromptFile(formatPromptFile(template))).toEqual(template);
    expect(() => formatPromptFile({ instruction: "x", exemplars: ["a\n---\nb"] })).toThrow(/---/);
  });
});

describe("react-rl fewshot bootstrap", () => {
  it("saves the chosen prompt in the working folder's prompts/, where loadPrompt and bench --prompt find it, and will not overwrite it unasked", async () => {
    const questions = (await loadDataset(HOTPOTQA_SAMPLE)).slice(0, 18);
    const [trainSet, devSet] = [questions.slice(0, 12), questions.slice(12)];
    const key = trainSet[4]!;
    // A stand-in LLM: answers even training questions, and dev questions only when shown the episode of training question 4.
    const reply = (body: { messages: { content: string }[] }) => {
      const prompt = body.messages.at(-1)!.content;
      const current = prompt.slice(prompt.lastIndexOf("\nQuestion: ") + "\nQuestion: ".length).split("\n")[0]!;
      const index = questions.findIndex((q) => q.question.trim() === current);
      const knows = index < 12 ? index % 2 === 0 : prompt.includes(`Question: ${key.question.trim()}\n`);
      return ` I know it.\nAction 1: Finish[${knows ? questions[index]!.answer : "no idea"}]`;
    };
    const server = await startFakeOpenAIServer({ reply });
    const run = promisify(execFile);
    const bin = new URL("../bin/react-rl.mjs", import.meta.url).pathname;
    const name = "mine";
    const out = await mkdtemp(join(tmpdir(), "react-rl-fewshot-"));
    // a user's project, run from: the prompt goes to its prompts/ (made), never the package's
    const project = await realpath(await mkdtemp(join(tmpdir(), "react-rl-project-")));
    const saved = join(project, "prompts", `${name}.txt`);
    const policy = ["--policy", "openai", "--model", "fake", "--base-url", server.baseURL];
    const fewshot = ["fewshot", "bootstrap", "--name", name, "--train", "12", "--dev", "6", "--k", "5", "--candidates", "6", ...policy, "--out", out];
    try {
      const { stdout } = await run(process.execPath, [bin, ...fewshot], { cwd: project });
      expect(stdout).toContain(`saved ${saved}: `);
      expect(existsSync(fileURLToPath(new URL(`../prompts/${name}.txt`, import.meta.url)))).toBe(false);
      const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
      expect(summary).toMatchObject({ name, file: saved, score: 1, baseScore: 0, pool: 6 });
      expect(summary.best).toBeGreaterThan(0);

      const prompt = await loadPrompt(name, { cwd: project });
      expect(prompt).toEqual(await loadPrompt(saved));
      expect(prompt.instruction).toBe((await loadPrompt("hotpotqa")).instruction);
      expect(prompt.exemplars).toHaveLength(5);
      expect(prompt.exemplars).toContain(`Question: ${key.question.trim()}\nThought 1: I know it.\nAction 1: Finish[${key.answer}]`);

      const benchArgs = ["bench", "--prompt", name, "--file", HOTPOTQA_SAMPLE, "--limit", "18", ...policy, "--out", join(out, "bench")];
      const bench = await run(process.execPath, [bin, ...benchArgs], { cwd: project });
      const devIds = new Set(devSet.map((q) => q.id));
      const { trajectories } = await readTrajectories(join(out, "bench", "trajectories.jsonl"));
      expect(trajectories.filter((t) => devIds.has(t.id)).every((t) => t.reward === 1)).toBe(true);
      expect(JSON.parse(bench.stdout.trim().split("\n").at(-1)!)).toMatchObject({ n: 18 });

      const again = await run(process.execPath, [bin, ...fewshot], { cwd: project }).catch((e: { code: number; stderr: string }) => e);
      expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining("--force") });
      // Other candidates in the same working folder: its candidates' logs are refused, not passed off as theirs
      const resumed = await run(process.execPath, [bin, ...fewshot, "--k", "8", "--force"], { cwd: project }).catch((e: { code: number; stderr: string }) => e);
      expect(resumed).toMatchObject({ code: 1, stderr: expect.stringMatching(/candidate-1 holds episodes made with other settings \(prompt: /) });
      // More exemplars asked for than were rewarded: said, not silently fewer
      const larger = await run(process.execPath, [bin, ...fewshot, "--k", "8", "--force", "--out", join(out, "k8")], { cwd: project });
      expect(larger.stderr).toContain("only 6 training episodes were rewarded: each candidate has 6 exemplars, not --k 8");
    } finally {
      await server.close();
    }
  });
});
