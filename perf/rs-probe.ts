/**
 * Rejection sampling as `npm run demo` runs it (world 2's training questions, 64 a
 * round x 4 samples at temperature 0.7), with the planner probed after every round
 * on one FIXED set of world-2 training questions that no round samples: the same
 * number from each family, sampled at the rollouts' temperature with one seed.
 * The rollouts' own success mixes a changing planner with changing questions (each
 * round samples new ones, in a new family mix); the probe holds the questions still.
 *
 *   npm run bench:rs-probe [-- --rounds 4 --epochs 2 --learning-rate 1e-4 --out DIR]
 *
 * Prints two markdown tables: the probe per family after each round, and each
 * round's own rollouts per family (success, and episodes kept for fine-tuning).
 * The run folder resumes: rerun the same command to go on where it stopped.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { loadPrompt } from "../prompts/index.ts";
import type { QaTask } from "../tools/wiki/index.ts";
import { byQuestion, mean, readTrajectories, type Trajectory } from "../trajectories/index.ts";
import { trainingProgressBars, untriedTasks } from "../src/cli/train-methods.ts";
import { hopworldSuite } from "../src/suites/index.ts";
import { BASE_PLANNER, ensureBackend, loadPlanner, type Planner } from "../src/planner/index.ts";
import { markdownTable } from "../src/report/table.ts";
import { distinctRewarded, questionsFor, rejectionSampling, sampleRollouts, type MetricsRecord } from "../src/train/index.ts";
import { generateWorld, HOPWORLD_PROMPT, QUESTION_TYPES, worldEnvironments } from "../src/world/index.ts";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: "runs/rs-probe" },
    model: { type: "string", default: BASE_PLANNER },
    rounds: { type: "string", default: "4" },
    questions: { type: "string", default: "64" },
    epochs: { type: "string", default: "2" },
    "learning-rate": { type: "string", default: "1e-4" },
    "probe-per-family": { type: "string", default: "32" },
    "probe-skip": { type: "string", default: "1024" },
    "probe-samples": { type: "string", default: "2" },
  },
});
const flags = z
  .object({
    out: z.string(),
    model: z.string(),
    rounds: z.coerce.number().int().positive(),
    questions: z.coerce.number().int().positive(),
    epochs: z.coerce.number().int().positive(),
    "learning-rate": z.coerce.number().positive(),
    "probe-per-family": z.coerce.number().int().positive(),
    "probe-skip": z.coerce.number().int().min(0),
    "probe-samples": z.coerce.number().int().positive(),
  })
  .parse(values);

/** The demo's rollout temperature (src/cli/demo.ts), for the rounds and the probe alike. */
const TEMPERATURE = 0.7;
const WORLD_SEED = 2;
const PROBE_SEED = 7;

type FamilyRates = Record<string, number> & { all: number };

console.error(`tfjs backend: ${(await ensureBackend()).name}`);
const planner = await loadPlanner(flags.model);
const template = await loadPrompt(HOPWORLD_PROMPT);
const world = generateWorld({ seed: WORLD_SEED });
const tasks = untriedTasks(hopworldSuite(world), planner);
const environment = worldEnvironments(world);
const FAMILIES = QUESTION_TYPES.filter((family) => tasks.some((task) => task.type === family));
const probe = probeSet(tasks);
const typeOf = new Map(tasks.map((task) => [task.id, task.type]));

/** probes[r]: the probe's episodes after round r (0: the starting planner). */
const probes: Trajectory[][] = [await probeEpisodes(0)];
let metrics: MetricsRecord[] = [];
for (let round = 1; round <= flags.rounds; round++) {
  const bars = trainingProgressBars("round");
  ({ metrics } = await rejectionSampling<QaTask>({
    planner, tasks, environment, template, out: join(flags.out, "rs"),
    rounds: round, questions: flags.questions, samples: 4, temperature: TEMPERATURE,
    epochs: flags.epochs, learningRate: flags["learning-rate"], onProgress: bars.update,
  }));
  bars.finish();
  probes.push(await probeEpisodes(round));
}

console.log(`\nProbe: ${probe.length} world-${WORLD_SEED} training questions (${flags["probe-per-family"]} per family, after the first ${flags["probe-skip"]}), ${flags["probe-samples"]} samples each at temperature ${TEMPERATURE}: success rate\n`);
console.log(markdownTable(["planner", ...FAMILIES, "all (families equal)", "change ± s.e. (paired)"], probes.map(probeRow)));
console.log(`\nEach round's own rollouts (${flags.questions} new questions x 4 samples, by the planner of the round before): success (questions, episodes kept); "expected": that planner's probe rates weighed by the round's family mix; "start planner": the untrained planner on the same questions (${flags["probe-samples"]} samples each)\n`);
const start = await loadPlanner(flags.model);
const rounds: string[][] = [];
for (const m of metrics) rounds.push(await roundRow(m));
console.log(markdownTable(["round", ...FAMILIES, "all", "expected", "start planner", "kept", "loss (mean)"], rounds));

/** The first `probe-per-family` training questions of each family after `probe-skip`, none of which a round samples. */
function probeSet(all: readonly QaTask[]): QaTask[] {
  const sampled = flags.rounds * flags.questions;
  if (flags["probe-skip"] < sampled) throw new Error(`--probe-skip ${flags["probe-skip"]} would overlap the ${sampled} questions the rounds sample`);
  const rest = all.slice(flags["probe-skip"]);
  return FAMILIES.flatMap((family) => rest.filter((task) => task.type === family).slice(0, flags["probe-per-family"]));
}

/** The planner as it is now on the probe (logged under OUT/probe/NNNN, resumable). */
function probeEpisodes(round: number): Promise<Trajectory[]> {
  return sampled(planner, probe, join(flags.out, "probe", String(round).padStart(4, "0")));
}

/** `probe-samples` episodes of each task by `by`, at the rollouts' temperature with the probe's seed (logged in `out`, resumable). */
async function sampled(by: Planner, questions: readonly QaTask[], out: string): Promise<Trajectory[]> {
  const { groups } = await sampleRollouts({
    planner: by, tasks: questions, samples: flags["probe-samples"], temperature: TEMPERATURE, topP: 1, seed: PROBE_SEED,
    environment, template, out, concurrency: 64, maxSteps: 7, freeDecoding: false,
  });
  return groups.flat().filter((episode) => (episode.sample ?? 0) < flags["probe-samples"]);
}

function successByFamily(episodes: readonly Trajectory[]): FamilyRates {
  const rates: Record<string, number> = {};
  for (const family of FAMILIES) rates[family] = mean(episodes.filter((e) => typeOf.get(e.id) === family).map((e) => e.metrics.em));
  return { ...rates, all: mean(FAMILIES.map((family) => rates[family]!)) };
}

/** Probe `round`'s success per family, and its change from the start's, paired by question. */
function probeRow(episodes: Trajectory[], round: number): string[] {
  const rates = successByFamily(episodes);
  const change = pairedChange(probes[0]!, episodes);
  const changed = round === 0 ? "" : `${change.mean >= 0 ? "+" : ""}${change.mean.toFixed(3)} ± ${change.standardError.toFixed(3)}`;
  return [round === 0 ? "start" : `after round ${round}`, ...FAMILIES.map((family) => rates[family]!.toFixed(3)), rates.all.toFixed(3), changed];
}

/** The mean change of each question's success rate (over its samples), with its standard error. */
function pairedChange(before: readonly Trajectory[], after: readonly Trajectory[]): { mean: number; standardError: number } {
  const rate = (episodes: readonly Trajectory[]) => new Map([...byQuestion(episodes)].map(([id, group]) => [id, mean(group.map((e) => e.metrics.em))]));
  const was = rate(before);
  const differences = [...rate(after)].map(([id, now]) => now - (was.get(id) ?? 0));
  const m = mean(differences);
  const variance = mean(differences.map((d) => (d - m) ** 2)) * (differences.length / Math.max(1, differences.length - 1));
  return { mean: m, standardError: Math.sqrt(variance / Math.max(1, differences.length)) };
}

/** Round `m.round`'s rollouts per family, read back from the run's log, with its kept count and training loss. */
async function roundRow(m: MetricsRecord): Promise<string[]> {
  const round = Number(m.round);
  const log = join(flags.out, "rs", "rollouts", String(round).padStart(4, "0"), "trajectories.jsonl");
  const groups = [...byQuestion((await readTrajectories(log)).trajectories).values()];
  const rates = successByFamily(probes[round - 1]!);
  const expected = mean(groups.map((group) => rates[typeOf.get(group[0]!.id)!]!));
  const questions = questionsFor(tasks, round, flags.questions);
  const byStart = mean((await sampled(start, questions, join(flags.out, "start", String(round).padStart(4, "0")))).map((e) => e.metrics.em));
  const cells = FAMILIES.map((family) => familyCell(groups, family));
  return [String(round), ...cells, Number(m.success).toFixed(3), expected.toFixed(3), byStart.toFixed(3), String(m.kept), Number(m.loss).toFixed(3)];
}

function familyCell(groups: readonly Trajectory[][], family: string): string {
  const own = groups.filter((group) => typeOf.get(group[0]!.id) === family);
  const kept = own.flatMap((group) => distinctRewarded(group)).length;
  return `${mean(own.flat().map((e) => e.metrics.em)).toFixed(3)} (${own.length}, ${kept})`;
}
