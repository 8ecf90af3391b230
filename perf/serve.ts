/**
 * Concurrency scaling of the OpenAI-compatible policy against `react-rl serve`:
 * episodes per second with 1, 4, 16 and 64 episodes in flight, over the same N
 * hopworld test questions each time (greedy, at most 7 steps), through the real
 * `openai` SDK and HTTP on 127.0.0.1, with the server decoding on each of
 * --engines in turn (the WebAssembly SIMD kernels, tfjs on --backend), and the
 * ratio of the first engine's speed to the second's at each level. For reference,
 * the same episodes with the local policy in process (no HTTP) at the highest level.
 *
 * The planner is --model (default: the committed base planner); where that does
 * not exist, a randomly initialised model of the default config stands in and the
 * output says so (it never writes Finish, so every episode runs to the step limit).
 *
 *   npm run bench:serve [-- --model DIR --questions 64 --levels 1,4,16,64 --engines kernels,tfjs --backend wasm]
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { loadPrompt } from "../prompts/index.ts";
import { WikiEnvironment, type QaTask } from "../tools/wiki/index.ts";
import type { Policy } from "../src/agent/policy.ts";
import { runBenchmark } from "../src/agent/index.ts";
import { ProgressBar } from "../src/cli/progress.ts";
import { BACKENDS, createModel, DEFAULT_MODEL_CONFIG, parameterCount, trainTokenizer } from "../src/lm/index.ts";
import { BASE_PLANNER, ENGINES, ensureBackend, loadPlanner, LocalPolicy, type EngineName, type Planner } from "../src/planner/index.ts";
import { OpenAIPolicy } from "../src/policies/index.ts";
import { servePlanner, type PlannerServer } from "../src/serve/index.ts";
import { generateWorld, HOPWORLD_PROMPT, loadWorld, worldCorpus, worldDocstore, worldTasks, type World } from "../src/world/index.ts";

const Args = z.object({
  model: z.string().default(BASE_PLANNER),
  world: z.string().optional(),
  questions: z.coerce.number().int().positive().default(64),
  levels: z.string().default("1,4,16,64").transform((s) => s.split(",").map(Number)).pipe(z.array(z.number().int().positive())),
  engines: z.string().default(ENGINES.join(",")).transform((s) => s.split(",")).pipe(z.array(z.enum(ENGINES)).min(1)),
  "max-steps": z.coerce.number().int().positive().default(7),
  backend: z.enum(BACKENDS).optional(),
});
const { values } = parseArgs({
  options: Object.fromEntries(Object.keys(Args.shape).map((name) => [name, { type: "string" as const }])),
});
const args = Args.parse(values);

const backend = await ensureBackend(args.backend);
const world: World = args.world ? await loadWorld(args.world) : generateWorld({ seed: 1, sizes: { train: 200, dev: 10, test: args.questions } });
const tasks = worldTasks(world, "test").slice(0, args.questions);
const docstore = worldDocstore(world);
const template = await loadPrompt(HOPWORLD_PROMPT);
const { planner, note } = await plannerOrRandom(args.model);

/** The checkpoint at `dir`, or an untrained stand-in of the default config when there is none. */
async function plannerOrRandom(dir: string): Promise<{ planner: Planner; note: string }> {
  const present = await stat(join(dir, "manifest.json")).then(() => true, () => false);
  if (present) return { planner: await loadPlanner(dir), note: `checkpoint ${dir}` };
  const tokenizer = trainTokenizer(worldCorpus(world), { vocabSize: DEFAULT_MODEL_CONFIG.vocabSize });
  const model = createModel({ ...DEFAULT_MODEL_CONFIG, vocabSize: tokenizer.vocabSize });
  const note = `NO CHECKPOINT at ${dir}: a randomly initialised model of the default config stands in (untrained: episodes run to the step limit)`;
  return { planner: { model, tokenizer, source: "random-init", meta: {} }, note };
}

interface Level {
  policy: string;
  /** What the server decoded on (in process: the kernels). */
  engine: EngineName;
  inFlight: number;
  episodes: number;
  steps: number;
  wallS: number;
  episodesPerS: number;
  stepsPerS: number;
  em: number;
  /** Sequences per forward pass on the server (undefined in process). */
  meanBatch?: number;
}

async function measure(policy: Policy<QaTask>, engine: EngineName, inFlight: number, server?: PlannerServer): Promise<Level> {
  const out = await mkdtemp(join(tmpdir(), "react-rl-bench-serve-"));
  const before = server?.stats();
  const bar = new ProgressBar(`${policy.name} ${engine} x${inFlight}`);
  const { summary } = await runBenchmark<QaTask>({
    tasks,
    policy,
    environment: () => new WikiEnvironment(docstore),
    out,
    concurrency: inFlight,
    maxSteps: args["max-steps"],
    prompt: () => template,
    dataset: "hopworld",
    onProgress: (p) => bar.update(p.done, p.total),
  });
  bar.finish();
  await rm(out, { recursive: true, force: true });
  const after = server?.stats();
  const wallS = summary.wallMs / 1000;
  const steps = Math.round(summary.avgSteps * summary.n);
  const meanBatch = before && after && (after.generatedTokens - before.generatedTokens) / (after.passes - before.passes);
  return { policy: policy.name, engine, inFlight, episodes: summary.n, steps, wallS, episodesPerS: summary.n / wallS, stepsPerS: steps / wallS, em: summary.em, meanBatch };
}

const levels: Level[] = [];
for (const engine of args.engines) {
  const server = await servePlanner(planner, { port: 0, maxBatch: Math.max(...args.levels), engine, log: () => {} });
  const openai = new OpenAIPolicy({ model: server.model, baseURL: server.baseURL, temperature: 0, maxRetries: 0 });
  for (const inFlight of args.levels) levels.push(await measure(openai, engine, inFlight, server));
  await server.close();
}
const top = Math.max(...args.levels);
levels.push(await measure(new LocalPolicy(planner, { temperature: 0, maxBatch: top }), "kernels", top));

console.log(`\n${note}`);
console.log(`backend ${backend.name}; ${parameterCount(planner.model)} parameters; ${tasks.length} hopworld test questions, at most ${args["max-steps"]} steps, greedy`);
console.log("policy   engine   in flight   episodes/s   steps/s   speedup   mean batch   EM     wall s");
const base = levels[0]!.episodesPerS;
for (const l of levels) {
  const batch = l.meanBatch === undefined ? "-" : l.meanBatch.toFixed(1);
  console.log(
    `${l.policy.padEnd(7)}  ${l.engine.padEnd(7)}  ${String(l.inFlight).padStart(9)}  ${l.episodesPerS.toFixed(2).padStart(11)}  ${l.stepsPerS.toFixed(1).padStart(8)}  ${(l.episodesPerS / base).toFixed(1).padStart(7)}x  ${batch.padStart(10)}  ${l.em.toFixed(3)}  ${l.wallS.toFixed(1).padStart(6)}`,
  );
}
const [first, second] = args.engines;
if (first && second) {
  const speed = (engine: EngineName, inFlight: number) => levels.find((l) => l.policy === "openai" && l.engine === engine && l.inFlight === inFlight)!.episodesPerS;
  console.log(`${first} over ${second} through serve: ${args.levels.map((n) => `x${n} ${(speed(first, n) / speed(second, n)).toFixed(2)}`).join(", ")}`);
}
console.log(JSON.stringify({ bench: "serve", backend: backend.name, planner: note, questions: tasks.length, maxSteps: args["max-steps"], levels }));
