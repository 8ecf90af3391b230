import { appendFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  pairedGain,
  readTrajectories,
  summarize,
  TrajectoryFileError,
  TrajectoryWriter,
} from "../trajectories/index.ts";
import { makeTrajectory } from "./helpers/trajectory.ts";

const tempLog = async () => join(await mkdtemp(join(tmpdir(), "react-rl-")), "trajectories.jsonl");

describe("trajectory log", () => {
  it("round-trips appended trajectories", async () => {
    const path = await tempLog();
    const writer = await TrajectoryWriter.open(path);
    await Promise.all([writer.append(makeTrajectory("a", 1)), writer.append(makeTrajectory("b", 0))]);
    const { trajectories, tornTail } = await readTrajectories(path);
    expect(trajectories.map((t) => t.id)).toEqual(["a", "b"]);
    expect(trajectories[0]).toEqual(makeTrajectory("a", 1));
    expect(tornTail).toBe(false);
  });

  it("ignores a torn last line on read, and cuts it off before appending", async () => {
    const path = await tempLog();
    const whole = `${JSON.stringify(makeTrajectory("a", 1))}\n`;
    await writeFile(path, whole + JSON.stringify(makeTrajectory("b", 1)).slice(0, 40));
    const read = await readTrajectories(path);
    expect(read.trajectories.map((t) => t.id)).toEqual(["a"]);
    expect(read.tornTail).toBe(true);

    const writer = await TrajectoryWriter.open(path);
    await writer.append(makeTrajectory("c", 0));
    expect((await readTrajectories(path)).trajectories.map((t) => t.id)).toEqual(["a", "c"]);
    expect((await readFile(path, "utf8")).split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("keeps a complete last line that only lacks its newline", async () => {
    const path = await tempLog();
    await writeFile(path, JSON.stringify(makeTrajectory("a", 1)));
    const writer = await TrajectoryWriter.open(path);
    await writer.append(makeTrajectory("b", 1));
    expect((await readTrajectories(path)).trajectories.map((t) => t.id)).toEqual(["a", "b"]);
  });

  it("names the file and line of a bad record in the middle", async () => {
    const path = await tempLog();
    await writeFile(path, `${JSON.stringify(makeTrajectory("a", 1))}\n{"oops": 1}\n${JSON.stringify(makeTrajectory("b", 1))}\n`);
    await expect(readTrajectories(path)).rejects.toThrow(TrajectoryFileError);
    await expect(readTrajectories(path)).rejects.toThrow(`${path}:2:`);
  });

  it("says a dataset file is not a log", async () => {
    const path = await tempLog();
    await writeFile(path, `${JSON.stringify({ _id: "q1", question: "Who?", answer: "Me", context: [] })}\n`);
    await expect(readTrajectories(path)).rejects.toThrow(
      new TrajectoryFileError(`${path}:1: not a trajectory: the record has no version (a dataset file? logs are what bench and collect write)`),
    );
  });

  it("rejects a version it does not know", async () => {
    const path = await tempLog();
    await appendFile(path, `${JSON.stringify({ ...makeTrajectory("a", 1), version: 99 })}\n\n`);
    await appendFile(path, `${JSON.stringify(makeTrajectory("b", 1))}\n`);
    await expect(readTrajectories(path)).rejects.toThrow(/version 99/);
  });

  it("reports a missing file clearly", async () => {
    await expect(readTrajectories("/nonexistent/t.jsonl")).rejects.toThrow("file not found: /nonexistent/t.jsonl");
    const folder = tmpdir();
    await expect(readTrajectories(folder)).rejects.toThrow(`${folder} is a folder, not a file`);
  });

  it("refuses to write an invalid trajectory, in one line naming the log and the field", async () => {
    const path = await tempLog();
    const writer = await TrajectoryWriter.open(path);
    const bad = { ...makeTrajectory("a", 1), metrics: { ...makeTrajectory("a", 1).metrics, em: 2 } };
    await expect(writer.append(bad)).rejects.toThrow(new RegExp(`^not a trajectory, so not appended to ${path}: metrics\\.em: `));
    expect(await readFile(path, "utf8")).toBe("");
  });
});

describe("summarize", () => {
  it("averages outcomes and counts steps, invalid actions and tokens", () => {
    const a = makeTrajectory("a", 1, 2);
    const b = makeTrajectory("b", 0, 4);
    b.metrics.invalid = 2;
    b.metrics.halted = true;
    const s = summarize([a, b]);
    expect(s).toMatchObject({ n: 2, em: 0.5, f1: 0.5, avgSteps: 3, haltedRate: 0.5, invalidRate: 2 / 6 });
    expect(s.promptTokens).toBe(60);
    expect(s.completionTokens).toBe(18);
  });

  it("is all zeros for no trajectories", () => {
    expect(summarize([])).toMatchObject({ n: 0, em: 0, f1: 0, avgSteps: 0, invalidRate: 0 });
  });
});

describe("pairedGain", () => {
  const run = (ems: (0 | 1)[]) => ems.map((em, i) => makeTrajectory(`q${i}`, em));

  it("is the mean per-question EM difference, with the standard error of those differences", () => {
    // differences 0, +1, 0, +1: mean 0.5, sample variance 1/3, standard error sqrt(1/3 / 4)
    const gain = pairedGain(run([1, 0, 0, 0]), run([1, 1, 0, 1]));
    expect(gain.em).toBeCloseTo(0.5, 12);
    expect(gain.standardError).toBeCloseTo(Math.sqrt(1 / 12), 12);
  });

  it("pairs by question id: a swap of which questions are right is no gain, but not a certain one", () => {
    const gain = pairedGain(run([1, 0, 1, 0]), [...run([0, 1, 0, 1]).reverse(), makeTrajectory("unpaired", 1)]);
    expect(gain.em).toBe(0);
    expect(gain.standardError).toBeCloseTo(Math.sqrt(4 / 3 / 4), 12);
    expect(pairedGain(run([1, 1]), run([1, 1]))).toEqual({ em: 0, standardError: 0 });
  });
});
