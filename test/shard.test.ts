import { execFile } from "node:child_process";
import { appendFile, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { loadDataset } from "../src/suites/datasets.ts";
import { runBenchmark } from "../src/agent/index.ts";
import { HOTPOTQA_SAMPLE } from "../src/suites/bundled.ts";
import { inShard, mergeLogs, shardTasks, ShardSchema } from "../src/bench/shard.ts";
import { OpenAIPolicy } from "../src/policies/openai.ts";
import { OraclePolicy } from "../src/policies/oracle.ts";
import { Docstore, WikiEnvironment } from "../tools/wiki/index.ts";
import { readTrajectories, trajectoryKey, type Trajectory } from "../trajectories/index.ts";
import { startFakeOpenAIServer } from "./helpers/fake-openai-server.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";

const run = promisify(execFile);
const bin = new URL("../bin/react-rl.mjs", import.meta.url).pathname;
const cli = async (args: string[]) => (await run(process.execPath, [bin, ...args])).stdout;
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);
const tempDir = () => mkdtemp(join(tmpdir(), "react-rl-shard-"));

const tasks = await loadDataset(HOTPOTQA_SAMPLE);
const docstore = Docstore.fromTasks(tasks);
const ids = (items: readonly { id: string }[]) => items.map((item) => item.id).sort();

describe("shards", () => {
  it("reads i/n, 1-based, and refuses anything else", () => {
    expect(ShardSchema.parse("2/4")).toEqual({ index: 2, count: 4 });
    for (const bad of ["0/4", "5/4", "1/0", "a/b", "1-4", "1/4/2"]) expect(ShardSchema.safeParse(bad).success).toBe(false);
  });

  it("puts every task in exactly one shard, by its id alone", () => {
    for (const count of [1, 2, 3, 7]) {
      const shards = Array.from({ length: count }, (_, i) => shardTasks(tasks, { index: i + 1, count }));
      expect(ids(shards.flat())).toEqual(ids(tasks));
      // Each shard has its share, give or take: a hash, not a count.
      for (const shard of shards) expect(shard.length).toBeGreaterThan(tasks.length / count / 2);
    }
    // The same id lands in the same shard whatever the task order.
    const reversed = shardTasks([...tasks].reverse(), { index: 2, count: 3 });
    expect(ids(reversed)).toEqual(ids(shardTasks(tasks, { index: 2, count: 3 })));
    expect(inShard("some-id", { index: 1, count: 1 })).toBe(true);
  });
});

describe("mergeLogs", () => {
  it("keeps one copy per id, the earliest started whatever the log order, and reports differing copies", () => {
    const early = { ...makeTrajectory("a", 0), meta: { ...makeTrajectory("a", 0).meta, startedAt: "2025-01-01T00:00:00.000Z" } };
    const late = { ...makeTrajectory("a", 1), meta: { ...makeTrajectory("a", 1).meta, startedAt: "2025-01-02T00:00:00.000Z" } };
    const b = makeTrajectory("b", 1);
    for (const logs of [[[late, b], [early, b]], [[early, b], [late]]]) {
      const merged = mergeLogs(logs);
      expect(merged.trajectories.map((t) => t.id)).toEqual(["a", "b"]);
      // Never the luckier attempt: the earlier one, though it failed.
      expect(merged.trajectories[0]).toEqual(early);
      expect(merged.conflicts).toEqual(["a#0"]);
    }
    expect(mergeLogs([[early, b], [b]])).toMatchObject({ duplicates: 1, conflicts: [] });
  });

  it("keeps every sample of a question, and reads a log without samples as sample 0", () => {
    const samples = [0, 1, 2].map((sample) => ({ ...makeTrajectory("a", sample === 1 ? 1 : 0), sample }));
    const merged = mergeLogs([samples, [samples[1]!], [makeTrajectory("a", 0)]]);
    expect(merged.trajectories.map(trajectoryKey)).toEqual(["a#0", "a#1", "a#2"]);
    expect(merged.trajectories.slice(1)).toEqual(samples.slice(1));
    // The sampleless copy is a copy of sample 0 that differs in the field
    expect(merged).toMatchObject({ duplicates: 2, conflicts: ["a#0"] });
  });
});

describe("a sharded bench run, merged", () => {
  it("has the same episodes as the unsharded run, none lost or repeated", async () => {
    const limited = tasks.slice(0, 45);
    const whole = await tempDir();
    await runBenchmark({ tasks: limited, policy: new OraclePolicy(), environment: () => new WikiEnvironment(docstore), out: whole });
    const unsharded = (await readTrajectories(join(whole, "trajectories.jsonl"))).trajectories;

    const root = await tempDir();
    const shardDirs = [1, 2, 3].map((i) => join(root, `shard-${i}`));
    const outputs = await Promise.all(
      shardDirs.map((dir, i) => cli(["bench", "--policy", "oracle", "--limit", "45", "--shard", `${i + 1}/3`, "--out", dir])),
    );
    const sizes = outputs.map((stdout) => lastJson(stdout).n as number);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(45);

    // A crash tore the end of one log, and a rerun copied an episode into another.
    const [firstLog, secondLog] = shardDirs.map((dir) => join(dir, "trajectories.jsonl"));
    await appendFile(firstLog!, JSON.stringify(unsharded[0]).slice(0, 50));
    const copied = (await readFile(secondLog!, "utf8")).split("\n")[0];
    await writeFile(join(root, "copy.jsonl"), `${copied}\n`);

    const merged = join(root, "merged");
    const stdout = await cli(["trajectories", "merge", merged, ...shardDirs, join(root, "copy.jsonl")]);
    expect(lastJson(stdout)).toEqual({ episodes: 45, duplicates: 1, conflicts: 0 });
    const result = (await readTrajectories(join(merged, "trajectories.jsonl"))).trajectories;
    expect(ids(result)).toEqual(ids(unsharded));
    const outcome = (t: Trajectory) => [t.id, t.answer, t.reward, t.steps.map((s) => s.action)];
    expect(result.map(outcome).sort()).toEqual(unsharded.map(outcome).sort());

    const summary = lastJson(await cli(["trajectories", "stats", merged]));
    expect(summary).toMatchObject({ n: 45, em: 1 });
  });

  it("joins the shards of collect --samples with every sample of every question", async () => {
    const root = await tempDir();
    const shardDirs = [1, 2].map((i) => join(root, `shard-${i}`));
    await Promise.all(
      shardDirs.map((dir, i) => cli(["collect", "--policy", "oracle", "--limit", "4", "--samples", "3", "--shard", `${i + 1}/2`, "--out", dir])),
    );
    const merged = join(root, "merged.jsonl");
    expect(lastJson(await cli(["trajectories", "merge", merged, ...shardDirs]))).toEqual({ episodes: 12, duplicates: 0, conflicts: 0 });
    const episodes = (await readTrajectories(merged)).trajectories.map((t) => `${t.id}#${t.sample}`).sort();
    expect(episodes).toEqual(tasks.slice(0, 4).flatMap((task) => [0, 1, 2].map((sample) => `${task.id}#${sample}`)).sort());
  }, 60_000);

  it("refuses an OUT that is one of its inputs, leaving the input's log and summary as they were", async () => {
    const dir = await tempDir();
    const [one, two] = [join(dir, "one"), join(dir, "two")];
    await cli(["bench", "--policy", "oracle", "--limit", "1", "--out", one]);
    await cli(["bench", "--policy", "oracle", "--limit", "2", "--out", two]);
    const before = await Promise.all(["trajectories.jsonl", "summary.json"].map((name) => readFile(join(one, name), "utf8")));
    const failed = await run(process.execPath, [bin, "trajectories", "merge", one, one, two]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({
      code: 1,
      stderr: `react-rl trajectories merge: ${join(one, "trajectories.jsonl")} exists: merge into a new OUT (merge never rewrites a log)\n`,
    });
    expect(await Promise.all(["trajectories.jsonl", "summary.json"].map((name) => readFile(join(one, name), "utf8")))).toEqual(before);
  }, 60_000);

  it("refuses in one line an OUT folder that is a file, or runs through one, and makes nothing", async () => {
    const dir = await tempDir();
    const file = join(dir, "afile");
    await writeFile(file, "mine");
    await writeFile(join(dir, "in.jsonl"), `${JSON.stringify(makeTrajectory("a", 1))}\n`);
    for (const [out, line] of [
      [file, `OUT ${file} is a file, not a folder`],
      [join(file, "out.jsonl"), `OUT ${join(file, "out.jsonl")} cannot be a file: part of its path is a file`],
    ]) {
      const failed = await run(process.execPath, [bin, "trajectories", "merge", out!, join(dir, "in.jsonl")]).catch((e: { code: number; stderr: string }) => e);
      expect(failed).toMatchObject({ code: 1, stderr: `react-rl trajectories merge: ${line}\n` });
    }
    expect(await readFile(file, "utf8")).toBe("mine");
    expect((await readdir(dir)).sort()).toEqual(["afile", "in.jsonl"]);
  });

  it("refuses to write over a file that is not among the inputs", async () => {
    const dir = await tempDir();
    const out = join(dir, "out.jsonl");
    await writeFile(out, "precious\n");
    await writeFile(join(dir, "in.jsonl"), `${JSON.stringify(makeTrajectory("a", 1))}\n`);
    const failed = await run(process.execPath, [bin, "trajectories", "merge", out, join(dir, "in.jsonl")]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining("exists") });
    expect(await readFile(out, "utf8")).toBe("precious\n");
  });
});

describe("the OpenAI-compatible policy under load", () => {
  it("keeps 64 episodes in flight through a burst of 429s and loses none", async () => {
    // Searches once, then answers: two requests per episode.
    const reply = (body: { messages: { content: string }[] }) =>
      body.messages.at(-1)!.content.split("\nQuestion:").at(-1)!.includes("Observation 1:")
        ? " Enough.\nAction 2: Finish[yes]"
        : " Search first.\nAction 1: Search[Scott Derrickson]";
    const server = await startFakeOpenAIServer({ reply, failures: Array(24).fill(429), holdUntil: 64 });
    try {
      const out = await tempDir();
      // The fake's 10 ms retry-afters bring retries back while the burst lasts: some need more than the default 2.
      const policy = new OpenAIPolicy({ model: "fake", baseURL: server.baseURL, maxRetries: 4 });
      const batch = tasks.slice(0, 160);
      const result = await runBenchmark({ tasks: batch, policy, environment: () => new WikiEnvironment(docstore), out, concurrency: 64 });

      expect(server.peakInFlight).toBeGreaterThanOrEqual(64);
      expect(result.summary.n).toBe(160);
      const { trajectories } = await readTrajectories(join(out, "trajectories.jsonl"));
      expect(ids(trajectories)).toEqual(ids(batch));
      expect(trajectories.every((t) => t.answer === "yes" && t.steps.length === 2)).toBe(true);
      // Every episode's two requests, plus one retry per 429.
      expect(server.requests).toHaveLength(160 * 2 + 24);
    } finally {
      await server.close();
    }
  });
});
