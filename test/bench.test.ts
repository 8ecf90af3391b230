import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Policy } from "../src/agent/policy.ts";
import { runBenchmark } from "../src/agent/index.ts";
import { PolicyError, UserError } from "../src/errors.ts";
import type { Environment, Task } from "../tools/environment.ts";
import type { Tool } from "../tools/tool.ts";
import { Docstore, WikiEnvironment, type QaTask } from "../tools/wiki/index.ts";
import { readTrajectories } from "../trajectories/index.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";

// Questions as makeTrajectory words them, so that its episodes are these tasks'
const tasks: Task[] = Array.from({ length: 12 }, (_, i) => ({ id: `q${i}`, question: `question q${i}?`, answer: String(i) }));

/** Answers every question at once; even ids right, odd ids wrong. */
function answeringPolicy(options: { delayMs?: number; failOn?: string; onCall?: (inFlight: number) => void } = {}): Policy {
  let inFlight = 0;
  return {
    name: "answering",
    async act({ task }) {
      inFlight += 1;
      options.onCall?.(inFlight);
      await new Promise((r) => setTimeout(r, options.delayMs ?? 0));
      inFlight -= 1;
      if (task.id === options.failOn) throw new Error("server exploded");
      const n = Number(task.id.slice(1));
      return { text: ` I know it.\nAction 1: Finish[${n % 2 === 0 ? n : "wrong"}]` };
    },
  };
}

function finishEnvironment(): Environment {
  let gold = "";
  return {
    tools: [],
    async reset(task) {
      gold = task.answer ?? "";
      return task.question;
    },
    async step(action) {
      const em = action.argument === gold ? 1 : 0;
      return {
        observation: "Episode finished.",
        done: true,
        reward: em,
        info: { valid: true, answer: action.argument, scores: { em, f1: em, fuzzy: em } },
      };
    },
  };
}

const tempDir = () => mkdtemp(join(tmpdir(), "react-rl-bench-"));

describe("runBenchmark", () => {
  it("runs every task, logs each trajectory and writes a summary", async () => {
    const out = await tempDir();
    const result = await runBenchmark({ tasks, policy: answeringPolicy(), environment: finishEnvironment, out, concurrency: 3 });
    expect(result.summary).toMatchObject({ n: 12, em: 0.5, f1: 0.5, avgSteps: 1 });
    expect(result.interrupted).toBe(false);
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ n: 12, em: 0.5, f1: 0.5 });
    const { trajectories } = await readTrajectories(join(out, "trajectories.jsonl"));
    expect(trajectories.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
  });

  it("leaves the log it reports, empty, when it has no episode to run (an empty shard), for merge and stats to read", async () => {
    const out = await tempDir();
    const result = await runBenchmark({ tasks: [], policy: answeringPolicy(), environment: finishEnvironment, out });
    expect(result.summary.n).toBe(0);
    expect(await readFile(join(out, "trajectories.jsonl"), "utf8")).toBe("");
  });

  it("keeps at most `concurrency` episodes in flight", async () => {
    let peak = 0;
    const policy = answeringPolicy({ delayMs: 5, onCall: (n) => (peak = Math.max(peak, n)) });
    await runBenchmark({ tasks, policy, environment: finishEnvironment, out: await tempDir(), concurrency: 4 });
    expect(peak).toBe(4);
  });

  it("resumes: finished ids are skipped, a torn line is dropped, nothing is duplicated", async () => {
    const out = await tempDir();
    const log = join(out, "trajectories.jsonl");
    const done = [makeTrajectory("q0", 1), makeTrajectory("q1", 0)].map((t) => ({ ...t, meta: { ...t.meta, policy: "answering" } }));
    await writeFile(log, done.map((t) => `${JSON.stringify(t)}\n`).join("") + '{"version":1,"id":"q2"');
    const asked: string[] = [];
    const inner = answeringPolicy();
    const policy: Policy = { name: "answering", act: (r) => (asked.push(r.task.id), inner.act(r)) };
    const result = await runBenchmark({ tasks, policy, environment: finishEnvironment, out });
    expect(result.resumed).toBe(2);
    expect(asked).not.toContain("q0");
    expect(asked).toContain("q2");
    const ids = (await readTrajectories(log)).trajectories.map((t) => t.id);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
  });

  it("refuses a folder another live process is writing into, takes over one a dead process left, and leaves no claim behind", async () => {
    const out = await tempDir();
    const lock = join(out, ".react-rl.lock");
    const run = () => runBenchmark({ tasks: tasks.slice(0, 2), policy: answeringPolicy(), environment: finishEnvironment, out });
    await writeFile(lock, `${process.ppid}\n`); // alive: the test runner's own parent
    await expect(run()).rejects.toThrow(new UserError(`${out} is in use by another react-rl process (pid ${process.ppid}): wait for it to end, or stop it`));
    await expect(readdir(out)).resolves.toEqual([".react-rl.lock"]);
    await writeFile(lock, `${spawnSync("true").pid}\n`); // ended
    await expect(run()).resolves.toMatchObject({ summary: { n: 2 } });
    expect((await readdir(out)).sort()).toEqual(["summary.json", "trajectories.jsonl"]);
  });

  it("takes a policy of any task with a suite's own tasks and environment, no type argument needed", async () => {
    const questions: QaTask[] = tasks.slice(0, 2).map((task) => ({ ...task, answer: task.answer!, type: "bridge", supportingFacts: [], context: [] }));
    const suiteEnvironment = (_task: QaTask, tools?: readonly Tool[]) => new WikiEnvironment(new Docstore([]), tools);
    const out = join(await tempDir(), "suite");
    // The policy acts on any Task: the tasks, not the policy, say which tasks these are
    const { summary } = await runBenchmark({ tasks: questions, policy: answeringPolicy(), environment: (task) => suiteEnvironment(task), out });
    expect(summary).toMatchObject({ n: 2, em: 0.5 });
  });

  it("refuses a size a script got wrong in one line, before writing anything", async () => {
    const out = join(await tempDir(), "never");
    const run = (sizes: object) => runBenchmark({ tasks: tasks.slice(0, 1), policy: answeringPolicy(), environment: finishEnvironment, out, ...sizes });
    await expect(run({ concurrency: Number.NaN })).rejects.toThrow(new UserError("runBenchmark: concurrency: expected a whole number of at least 1"));
    await expect(run({ samples: 0 })).rejects.toThrow("runBenchmark: samples: expected a whole number of at least 1");
    await expect(run({ maxSteps: "3" })).rejects.toThrow("runBenchmark: maxSteps: expected a whole number of at least 1");
    await expect(run({ concurency: 4 })).rejects.toThrow(new UserError("runBenchmark: unknown option concurency (did you mean concurrency?)"));
    // Inputs whose slip would fail late, after the run's folder was made
    await expect(run({ template: "hotpotqa" })).rejects.toThrow("runBenchmark: template: expected a PromptTemplate ({ instruction, exemplars }), as loadPrompt(name) gives");
    await expect(run({ environment: finishEnvironment() })).rejects.toThrow("runBenchmark: environment: expected a function from a task to its environment, not an environment");
    await expect(run({ policy: { name: "mine" } })).rejects.toThrow("runBenchmark: policy: expected a Policy: an object with act(request)");
    // Episodes are keyed by id: the second q0 was run and logged under the first's key
    await expect(run({ tasks: [tasks[0], tasks[1], tasks[0]] })).rejects.toThrow(new UserError("runBenchmark: tasks: two tasks have id q0: give each task its own id"));
    await expect(readdir(out)).rejects.toThrow("ENOENT");
    // A file where the folder belongs: in the file system's words (it was Node's raw EEXIST)
    const file = join(await tempDir(), "a-file");
    await writeFile(file, "");
    await expect(runBenchmark({ tasks: tasks.slice(0, 1), policy: answeringPolicy(), environment: finishEnvironment, out: file })).rejects.toThrow(new UserError(`cannot mkdir ${file}: file already exists`));
  });

  it("refuses to resume a log made with another policy, step limit, prompt, recall or questions, naming the first change", async () => {
    const out = await tempDir();
    const template = { instruction: "Answer the question.", exemplars: ["Question: 1 + 1?"] };
    await runBenchmark({ tasks: tasks.slice(0, 2), policy: answeringPolicy(), environment: finishEnvironment, out, maxSteps: 5, dataset: "hopworld", template });
    const other: Policy = { ...answeringPolicy(), name: "oracle", temperature: 1 };
    const rerun = (policy: Policy, maxSteps: number, dataset = "hopworld", prompt = template) =>
      runBenchmark({ tasks: tasks.slice(0, 2), policy, environment: finishEnvironment, out, maxSteps, dataset, template: prompt });
    await expect(rerun(other, 5)).rejects.toThrow(
      new UserError(`${out} holds episodes made with other settings (policy: "answering" -> "oracle"): choose another output folder, or rerun with their settings to resume them`),
    );
    await expect(rerun(answeringPolicy(), 7)).rejects.toThrow("(maxSteps: 5 -> 7)");
    await expect(rerun(answeringPolicy(), 5, "hotpotqa")).rejects.toThrow('(dataset: "hopworld" -> "hotpotqa")');
    // A prompt file edited between the runs
    await expect(rerun(answeringPolicy(), 5, "hopworld", { ...template, exemplars: ["Question: 2 + 2?"] })).rejects.toThrow(/\(prompt: "sha256 [0-9a-f]{12}" -> "sha256 [0-9a-f]{12}"\)/);
    // Exemplars recalled from a memory, which the first run had none of
    await expect(runBenchmark({ tasks: tasks.slice(0, 2), policy: answeringPolicy(), environment: finishEnvironment, out, maxSteps: 5, dataset: "hopworld", template, recall: 3 })).rejects.toThrow("(recall: 0 -> 3)");
    // The same ids asking other questions (another world's, or seed's) are not this run's episodes
    const renumbered = tasks.slice(0, 2).map((task) => ({ ...task, question: `${task.question} In another world.` }));
    await expect(runBenchmark({ tasks: renumbered, policy: answeringPolicy(), environment: finishEnvironment, out, maxSteps: 5, dataset: "hopworld", template })).rejects.toThrow(
      new UserError(`${out} holds an episode of id q0 asking another question ("question q0?"): another world, seed or file? choose another output folder`),
    );
    expect((await readTrajectories(join(out, "trajectories.jsonl"))).trajectories).toHaveLength(2);
    await expect(rerun(answeringPolicy(), 5)).resolves.toMatchObject({ resumed: 2, summary: { n: 2 } });
    // Each task's own prompt and no template: no one prompt to record, rather than a default never used
    const perTask = await tempDir();
    await runBenchmark({ tasks: tasks.slice(0, 1), policy: answeringPolicy(), environment: finishEnvironment, out: perTask, prompt: () => template });
    expect((await readTrajectories(join(perTask, "trajectories.jsonl"))).trajectories[0]!.meta.prompt).toBeUndefined();
  });

  it("resumes a log older than recorded step limits, datasets and prompts, still checking the policy", async () => {
    const out = await tempDir();
    await writeFile(join(out, "trajectories.jsonl"), `${JSON.stringify({ ...makeTrajectory("q0", 1), meta: { ...makeTrajectory("q0", 1).meta, policy: "answering" } })}\n`);
    const template = { instruction: "Answer the question.", exemplars: [] };
    await expect(runBenchmark({ tasks: tasks.slice(0, 2), policy: answeringPolicy(), environment: finishEnvironment, out, maxSteps: 3, dataset: "x", template })).resolves.toMatchObject({ resumed: 1 });
    // The embedded planner's model, recorded by older logs as the checkpoint folder's last name
    const local = (model: string): Policy => ({ ...answeringPolicy(), name: "local", model });
    const older = await tempDir();
    await writeFile(join(older, "trajectories.jsonl"), `${JSON.stringify({ ...makeTrajectory("q0", 1), meta: { ...makeTrajectory("q0", 1).meta, policy: "local", model: "hopworld-base" } })}\n`);
    await expect(runBenchmark({ tasks: tasks.slice(0, 1), policy: local("runs/rl/checkpoint"), environment: finishEnvironment, out: older })).rejects.toThrow('(model: "hopworld-base" -> "runs/rl/checkpoint")');
    await expect(runBenchmark({ tasks: tasks.slice(0, 1), policy: local("/x/models/hopworld-base"), environment: finishEnvironment, out: older })).resolves.toMatchObject({ resumed: 1 });
    // A checkpoint retrained in place: the same path, other weights
    const retrained = (weightsDigest: string): Policy => ({ ...local("runs/rl/checkpoint"), weightsDigest });
    const inPlace = await tempDir();
    await runBenchmark({ tasks: tasks.slice(0, 1), policy: retrained("sha256 aaaaaaaaaaaa"), environment: finishEnvironment, out: inPlace });
    await expect(runBenchmark({ tasks: tasks.slice(0, 1), policy: retrained("sha256 bbbbbbbbbbbb"), environment: finishEnvironment, out: inPlace })).rejects.toThrow(
      '(weightsDigest: "sha256 aaaaaaaaaaaa" -> "sha256 bbbbbbbbbbbb")',
    );
    // The same weights moved (a run folder renamed with its checkpoint): the same episodes, resumed
    const moved: Policy = { ...local("runs/rl-moved/checkpoint"), weightsDigest: "sha256 aaaaaaaaaaaa" };
    await expect(runBenchmark({ tasks: tasks.slice(0, 2), policy: moved, environment: finishEnvironment, out: inPlace })).resolves.toMatchObject({ resumed: 1 });
    const seeded: Policy = { ...answeringPolicy(), seed: 4 };
    await expect(runBenchmark({ tasks: tasks.slice(0, 2), policy: seeded, environment: finishEnvironment, out })).rejects.toThrow("(seed: undefined -> 4)");
  });

  it("stops on a failure without losing finished episodes, then resumes", async () => {
    const out = await tempDir();
    const failing = runBenchmark({ tasks, policy: answeringPolicy({ failOn: "q5" }), environment: finishEnvironment, out });
    await expect(failing).rejects.toThrow("server exploded");
    const kept = (await readTrajectories(join(out, "trajectories.jsonl"))).trajectories;
    expect(kept.map((t) => t.id)).toEqual(["q0", "q1", "q2", "q3", "q4"]);
    const result = await runBenchmark({ tasks, policy: answeringPolicy(), environment: finishEnvironment, out });
    expect(result.resumed).toBe(5);
    expect(result.summary.n).toBe(12);
  });

  it("records an episode whose policy failed as failed, runs the rest, and retries it on resume", async () => {
    const out = await tempDir();
    const inner = answeringPolicy();
    const flaky: Policy = {
      name: "answering",
      act: async (r) => (r.task.id === "q5" ? Promise.reject(new PolicyError("The server at x answered 500.")) : inner.act(r)),
    };
    const result = await runBenchmark({ tasks, policy: flaky, environment: finishEnvironment, out, concurrency: 3 });
    expect(result.failed).toEqual([{ id: "q5", sample: 0, error: "The server at x answered 500." }]);
    expect(result.interrupted).toBe(false);
    expect(result.summary.n).toBe(11);
    expect(JSON.parse(await readFile(join(out, "summary.json"), "utf8"))).toMatchObject({ n: 11, failed: result.failed });
    expect((await readTrajectories(join(out, "trajectories.jsonl"))).trajectories.map((t) => t.id)).not.toContain("q5");

    const resumed = await runBenchmark({ tasks, policy: answeringPolicy(), environment: finishEnvironment, out });
    expect(resumed).toMatchObject({ resumed: 11, failed: [], summary: { n: 12 } });
    expect(JSON.parse(await readFile(join(out, "summary.json"), "utf8"))).not.toHaveProperty("failed");
  });

  it("stops with a UserError when episodes keep failing, keeping the finished ones", async () => {
    const out = await tempDir();
    const inner = answeringPolicy();
    let calls = 0;
    const dying: Policy = {
      name: "answering",
      act: async (r) => (++calls > 4 ? Promise.reject(new PolicyError("The server at x answered 500.")) : inner.act(r)),
    };
    const failing = runBenchmark({ tasks, policy: dying, environment: finishEnvironment, out });
    await expect(failing).rejects.toThrow(new UserError("3 episodes in a row failed, so the run stopped (rerun to resume): The server at x answered 500."));
    expect((await readTrajectories(join(out, "trajectories.jsonl"))).trajectories.map((t) => t.id)).toEqual(["q0", "q1", "q2", "q3"]);
    expect(calls).toBe(7);
  });

  it("stops early on abort and says so", async () => {
    const controller = new AbortController();
    const out = await tempDir();
    const policy = answeringPolicy({ onCall: () => controller.abort() });
    const result = await runBenchmark({ tasks, policy, environment: finishEnvironment, out, signal: controller.signal });
    expect(result.interrupted).toBe(true);
    expect(result.summary.n).toBeLessThan(12);
  });

  it("runs several samples per task, each logged once, and resumes them", async () => {
    const out = await tempDir();
    const controller = new AbortController();
    let calls = 0;
    const inner = answeringPolicy();
    const stopping: Policy = { name: "answering", act: (r) => (++calls === 10 && controller.abort(), inner.act(r)) };
    const first = await runBenchmark({ tasks, policy: stopping, environment: finishEnvironment, out, samples: 3, signal: controller.signal });
    expect(first.interrupted).toBe(true);
    const result = await runBenchmark({ tasks, policy: answeringPolicy(), environment: finishEnvironment, out, samples: 3, concurrency: 4 });
    expect(result.summary.n).toBe(36);
    const log = (await readTrajectories(join(out, "trajectories.jsonl"))).trajectories;
    expect(new Set(log.map((t) => `${t.id}#${t.sample}`)).size).toBe(36);
    expect(log.filter((t) => t.id === "q3").map((t) => t.sample).sort()).toEqual([0, 1, 2]);
  });
});
