import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { loadPrompt } from "../prompts/index.ts";
import { renderPrompt } from "../src/agent/prompt.ts";
import { main } from "../src/cli/main.ts";
import { saveCheckpoint, selectBackend } from "../src/lm/index.ts";
import { BASE_PLANNER, loadPlanner, transcriptTokens } from "../src/planner/index.ts";
import { arithmeticSuite, demonstratedTasks, hopworldSuite } from "../src/suites/index.ts";
import { generateWorld, HOPWORLD_PROMPT, worldTasks } from "../src/world/index.ts";
import { readTrajectories } from "../trajectories/index.ts";
import { toyPlanner } from "./helpers/toy-task.ts";

const run = promisify(execFile);
const bin = new URL("../bin/react-rl.mjs", import.meta.url).pathname;

describe("react-rl demo", () => {
  it("runs the whole loop at a tiny size and writes the summary, metrics, curves and report", async () => {
    const out = await mkdtemp(join(tmpdir(), "react-rl-demo-"));
    const args = ["demo", "--out", out, "--eval", "4", "--rs-rounds", "1", "--rs-questions", "2", "--pg-updates", "1", "--pg-questions", "2"];
    const { stdout } = await run(process.execPath, [bin, ...args], { maxBuffer: 1 << 24 });

    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    for (const stage of [summary.before, summary.after]) {
      expect(stage.n).toBe(4);
      expect(stage.em).toBeGreaterThanOrEqual(0);
      expect(stage.em).toBeLessThanOrEqual(1);
    }
    expect(summary.klToBase).toBeGreaterThanOrEqual(0);
    // Both evaluations answer the same 4 questions, so the paired gain is the change in EM.
    expect(summary.gain).toBeCloseTo(summary.after.em - summary.before.em, 12);
    expect(summary.gainStandardError).toBeGreaterThanOrEqual(0);
    const metrics = (await readFile(join(out, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.method)).toEqual(["rs", "rl"]);
    expect(await readFile(join(out, "curves.svg"), "utf8")).toMatch(/^<svg[\s\S]*<path d="M/);
    expect(await readFile(join(out, "report.md"), "utf8")).toContain("![Learning curves](curves.svg)");
    const page = await readFile(join(out, "report.html"), "utf8");
    expect(page).toContain("<td>EM gain ± standard error (paired)</td>");
    for (const title of ["Before, during and after training", "Rejection sampling: rollouts", "Policy gradient: reward and KL to the starting planner"]) expect(page).toContain(`>${title}</text>`);

    // Evaluated with the prompt the planner was trained on, and trained on questions it was never shown
    const planner = await loadPlanner(BASE_PLANNER);
    const template = await loadPrompt(HOPWORLD_PROMPT);
    const { trajectories: evaluated } = await readTrajectories(join(out, "before", "trajectories.jsonl"));
    for (const episode of evaluated) {
      const prompt = transcriptTokens(renderPrompt(template, episode.question, [], 1), planner.tokenizer);
      expect(episode.steps[0]!.usage?.promptTokens).toBe(prompt.ids.length);
    }
    // The episodes after training name the trained checkpoint, not the base
    const { trajectories: trainedEpisodes } = await readTrajectories(join(out, "after", "trajectories.jsonl"));
    expect(new Set(evaluated.map((t) => t.meta.model))).toEqual(new Set([BASE_PLANNER]));
    expect(new Set(trainedEpisodes.map((t) => t.meta.model))).toEqual(new Set([join(out, "pg", "checkpoint")]));
    expect(trainedEpisodes[0]!.meta.weightsDigest).not.toBe(evaluated[0]!.meta.weightsDigest);
    // The base was fine-tuned on all of world 1's training questions; trial and error samples world 2's.
    expect(demonstratedTasks(planner.meta, hopworldSuite(generateWorld({ seed: 1 })))).toBe(worldTasks(generateWorld({ seed: 1 }), "train").length);
    expect(demonstratedTasks(planner.meta, hopworldSuite(generateWorld({ seed: 2 })))).toBe(0);
    const train = worldTasks(generateWorld({ seed: 2 }), "train");
    const { trajectories: sampled } = await readTrajectories(join(out, "rs", "rollouts", "0001", "trajectories.jsonl"));
    expect(new Set(sampled.map((t) => t.question))).toEqual(new Set(train.slice(0, 2).map((t) => t.question)));
    expect(new Set(sampled.map((t) => t.meta.dataset))).toEqual(new Set(["hopworld-train"]));
    // Each stage's episodes, and pg's config, name the weights that made them: pg starts from rs's last round
    const rsCheckpoint = await loadPlanner(join(out, "rs", "checkpoint"));
    const labels = async (log: string) => new Set((await readTrajectories(join(out, log, "trajectories.jsonl"))).trajectories.map((t) => `${t.meta.model} ${t.meta.weightsDigest}`));
    expect(await labels("rs/rollouts/0001")).toEqual(new Set([`${BASE_PLANNER} ${planner.weightsDigest}`]));
    expect(await labels("pg/rollouts/0001")).toEqual(new Set([`${join(out, "rs", "checkpoint")} ${rsCheckpoint.weightsDigest}`]));
    expect(JSON.parse(await readFile(join(out, "pg", "config.json"), "utf8"))).toMatchObject({ model: join(out, "rs", "checkpoint"), weightsDigest: rsCheckpoint.weightsDigest });

    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toMatchObject({ before: { em: summary.before.em }, after: { em: summary.after.em }, gain: summary.gain });
    expect(stdout).toContain("EM gain ± standard error (paired)");

    // More rounds on the finished demo: rs goes on, so pg starts over from its new weights, and after/ is evaluated again
    const more = await run(process.execPath, [bin, ...args.map((arg, i) => (args[i - 1] === "--rs-rounds" ? "2" : arg))], { maxBuffer: 1 << 24 });
    expect(more.stderr).toContain(`${join(out, "pg")} did not start from rejection sampling's last weights, as its config.json records them (rs went on, or an older react-rl recorded the base): training it again`);
    expect(more.stderr).toContain(`${join(out, "after")} holds an evaluation of other weights: evaluating the trained planner again`);
    const extended = await loadPlanner(join(out, "rs", "checkpoint"));
    expect(extended.meta.completed).toBe(2);
    expect(await labels("pg/rollouts/0001")).toEqual(new Set([`${join(out, "rs", "checkpoint")} ${extended.weightsDigest}`]));
    const { trajectories: retrained } = await readTrajectories(join(out, "after", "trajectories.jsonl"));
    expect(retrained).toHaveLength(4);
    expect(new Set(retrained.map((t) => t.meta.weightsDigest))).toEqual(new Set([(await loadPlanner(join(out, "pg", "checkpoint"))).weightsDigest]));
    expect(retrained[0]!.meta.weightsDigest).not.toBe(trainedEpisodes[0]!.meta.weightsDigest);
  }, 300_000);

  it("stopped by Ctrl-C during policy gradient, says how to resume, and the rerun finishes", async () => {
    const out = await mkdtemp(join(tmpdir(), "react-rl-demo-stop-"));
    const args = [bin, "demo", "--out", out, "--eval", "2", "--rs-rounds", "1", "--rs-questions", "2", "--pg-updates", "2", "--pg-questions", "1"];
    const child = spawn(process.execPath, args);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes("policy gradient update 1") && child.signalCode === null && !child.killed) child.kill("SIGINT"); // once: a second Ctrl-C is Node's own
    });
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code).toBe(130);
    expect(stderr.trim().split("\n").at(-1)).toBe("interrupted: rerun the same command to resume"); // not a missing evaluation log
    const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 24 });
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!).before.em).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it("says in one line when the training world has no question left to try", async () => {
    const failed = await run(process.execPath, [bin, "demo", "--out", join(tmpdir(), "react-rl-demo-none"), "--train-world", "1"]).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringMatching(/^react-rl demo: world 1 has no training question left after the 3000 the planner was fine-tuned on: pick another world\n$/) });
    // A file's questions have no test split to measure on: the demo takes no --file
    const said = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await main(["demo", "--file", "questions.json"])).toBe(2);
    expect(said.mock.calls.flat().join("\n")).toMatch(/^react-rl demo: unknown option --file/);
    said.mockRestore();
  }, 60_000);
});

describe("react-rl demo on another suite", () => {
  it("runs arithmetic through the same loop: its test split evaluated, its training split sampled", async () => {
    await selectBackend();
    const dir = await mkdtemp(join(tmpdir(), "react-rl-demo-arithmetic-"));
    const model = join(dir, "tiny");
    const { model: weights, tokenizer } = await toyPlanner(); // fine-tuned on no suite: sampling starts at the first training question
    await saveCheckpoint(model, { model: weights, tokenizer });
    const out = join(dir, "demo");
    const args = ["demo", "--dataset", "arithmetic", "--data-seed", "3", "--model", model, "--out", out, "--eval", "2", "--rs-rounds", "1", "--rs-questions", "2", "--pg-updates", "1", "--pg-questions", "1"];
    expect(await main(args)).toBe(0);

    const suite = arithmeticSuite(3);
    const questions = async (log: string) => (await readTrajectories(join(out, log, "trajectories.jsonl"))).trajectories.map((t) => `${t.id} ${t.question}`).sort();
    const { trajectories: evaluated } = await readTrajectories(join(out, "before", "trajectories.jsonl"));
    expect(evaluated.map((t) => t.id).sort()).toEqual(suite.tasks("test", 2).map((t) => t.id).sort());
    expect(new Set(evaluated.map((t) => t.meta.dataset))).toEqual(new Set(["arithmetic-test"]));
    const train = suite.tasks("train", 3).map((t) => `${t.id} ${t.question}`);
    expect(new Set(await questions("rs/rollouts/0001"))).toEqual(new Set(train.slice(0, 2)));
    expect(new Set(await questions("pg/rollouts/0001"))).toEqual(new Set(train.slice(2, 3)));
    expect(JSON.parse(await readFile(join(out, "summary.json"), "utf8")).before.n).toBe(2);
    expect(await readFile(join(out, "report.md"), "utf8")).toContain("| arithmetic test | before (base) | after |");
  }, 120_000);

  it("says in one line that a file's questions have no test split, and which flags are hopworld's", async () => {
    const said = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const out = join(tmpdir(), "react-rl-demo-refused");
      expect(await main(["demo", "--dataset", "hotpotqa", "--out", out])).toBe(1);
      expect(await main(["demo", "--dataset", "arithmetic", "--train-world", "3", "--out", out])).toBe(1);
      expect(await main(["demo", "--dataset", "arithmetic", "--out", out])).toBe(1); // the base was fine-tuned on hopworld
      expect(said.mock.calls.map((call) => String(call[0])).filter((line) => line.startsWith("react-rl demo:"))).toEqual([
        "react-rl demo: hotpotqa has no test split (a file's questions are the same whatever the split): the demo takes hopworld or arithmetic",
        "react-rl demo: --train-world and --test-world are for --dataset hopworld",
        `react-rl demo: the planner ${BASE_PLANNER} was fine-tuned on hopworld, not arithmetic: pass --model with one from react-rl train sft --dataset arithmetic`,
      ]);
    } finally {
      said.mockRestore();
    }
  }, 60_000);
});
