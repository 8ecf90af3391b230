// Training the embedded planner from scratch, end to end, in one script: a world,
// a tokenizer and a tiny model, pretraining on pages, fine-tuning on expert
// episodes, then an evaluation through the runtime. Small sizes so it runs in
// a minute or two; `npm run train:base` does the same at full size (about 50 min).
//
//   npx tsx examples/train-planner.ts
import { join } from "node:path";
import { tmpdir } from "node:os";
import {
  corpusRows,
  createModel,
  ensureBackend,
  episodeText,
  episodeTokens,
  expertEpisodes,
  generateWorld,
  hopworldSuite,
  loadPrompt,
  LocalPolicy,
  runBenchmark,
  trainSupervised,
  trainTokenizer,
  WikiEnvironment,
  worldCorpus,
  worldDocstore,
  worldTasks,
  type Planner,
} from "react-rl";

const backend = await ensureBackend();
console.log(`tfjs backend: ${backend.name}`);

const world = generateWorld({ seed: 7, sizes: { train: 200, dev: 20, test: 20 } });
const template = await loadPrompt("hopworld");
const experts = await expertEpisodes(hopworldSuite(world), "train", 64);

// The tokenizer learns the world's own text; the model is much smaller than the default, but
// keeps its copy head: test questions name entities never seen in training, and without a way
// to copy them from the question the planner searches for names it made up (EM 0).
const tokenizer = trainTokenizer([...worldCorpus(world), ...experts.map((t) => episodeText(t, template))], { vocabSize: 512 });
const model = createModel({ vocabSize: tokenizer.vocabSize, contextLength: 512, dModel: 64, nLayers: 2, nHeads: 4, copyHead: true }, 0);
const planner: Planner = { model, tokenizer, source: "example", meta: {} };

const log = (stage: string) => (m: { step: number; loss: number }) => m.step % 20 === 0 && console.log(`${stage} step ${m.step}: loss ${m.loss.toFixed(3)}`);
await trainSupervised(planner, corpusRows(worldCorpus(world), tokenizer, 128), { steps: 60, batchSize: 8, learningRate: 3e-3, warmupSteps: 5, onStep: log("pretrain") });
const episodes = experts.map((t) => episodeTokens(t, template, tokenizer));
await trainSupervised(planner, episodes, { steps: 150, batchSize: 8, learningRate: 2e-3, warmupSteps: 5, onStep: log("sft") });

const docstore = worldDocstore(world);
const result = await runBenchmark({
  tasks: worldTasks(world, "test"),
  policy: new LocalPolicy(planner, { temperature: 0 }),
  environment: () => new WikiEnvironment(docstore),
  template,
  concurrency: 32,
  out: join(tmpdir(), `react-rl-example-${process.pid}`),
});
const { em, n, avgSteps, haltedRate } = result.summary;
console.log(`test EM ${em.toFixed(3)} over ${n} questions, ${avgSteps.toFixed(1)} steps on average, ${(haltedRate * 100).toFixed(0)}% halted`);
console.log(
  `Each question is ${(100 / n).toFixed(0)} EM points here, so this shows the format learnt and a first few answers, not a result.\n` +
    "The committed base planner (npm run train:base: a 4-layer model, 3,000 expert episodes, 1,200 steps) scores 0.433 on\n" +
    "300 test questions, and npm run demo improves it by trial and error (BENCHMARKS.md).",
);
