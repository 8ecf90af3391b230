// Training the embedded planner from scratch, end to end, in one script: a world,
// a tokenizer and a tiny model, pretraining on pages, fine-tuning on expert
// episodes, then an evaluation through the runtime. Small sizes so it runs in
// about a minute; `npm run train:base` does the same at full size.
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
  expertTrajectories,
  generateWorld,
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
const experts = await expertTrajectories(world, "train", { limit: 32 });

// The tokenizer learns the world's own text; the model is much smaller than the default.
const tokenizer = trainTokenizer([...worldCorpus(world), ...experts.map((t) => episodeText(t, template))], { vocabSize: 512 });
const model = createModel({ vocabSize: tokenizer.vocabSize, contextLength: 384, dModel: 64, nLayers: 2, nHeads: 4 }, 0);
const planner: Planner = { model, tokenizer, source: "example", meta: {} };

const log = (stage: string) => (m: { step: number; loss: number }) => m.step % 20 === 0 && console.log(`${stage} step ${m.step}: loss ${m.loss.toFixed(3)}`);
await trainSupervised(planner, corpusRows(worldCorpus(world), tokenizer, 128), { steps: 60, batchSize: 8, learningRate: 3e-3, warmupSteps: 5, onStep: log("pretrain") });
const episodes = experts.map((t) => episodeTokens(t, template, tokenizer));
await trainSupervised(planner, episodes, { steps: 60, batchSize: 8, learningRate: 2e-3, warmupSteps: 5, onStep: log("sft") });

const docstore = worldDocstore(world);
const result = await runBenchmark({
  tasks: worldTasks(world, "test"),
  policy: new LocalPolicy(planner, { temperature: 0 }),
  environment: () => new WikiEnvironment(docstore),
  prompt: () => template,
  concurrency: 32,
  out: join(tmpdir(), `react-rl-example-${process.pid}`),
});
console.log(`test EM ${result.summary.em.toFixed(3)} over ${result.summary.n} questions, ${result.summary.avgSteps.toFixed(1)} steps on average`);
