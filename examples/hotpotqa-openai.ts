// HotpotQA questions answered by a model behind any OpenAI-compatible API:
// OpenAI itself, or vLLM, SGLang, llama.cpp, Ollama on your own machine.
//
//   OPENAI_API_KEY=sk-... npx tsx examples/hotpotqa-openai.ts [QUESTIONS] [OUT_DIR]
//   OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_MODEL=my-model npx tsx examples/hotpotqa-openai.ts
import {
  Docstore,
  formatSummary,
  HOTPOTQA_SAMPLE,
  loadDataset,
  OpenAIPolicy,
  runBenchmark,
  WikiEnvironment,
} from "react-rl";

if (!process.env.OPENAI_API_KEY && !process.env.OPENAI_BASE_URL) {
  console.log("This example needs a model: set OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL for a local OpenAI-compatible server.");
  process.exit(0);
}

const questions = Number(process.argv[2] ?? 5);
const model = process.env.OPENAI_MODEL ?? "gpt-4o-mini";
const tasks = await loadDataset(HOTPOTQA_SAMPLE);
const docstore = Docstore.fromTasks(tasks); // every paragraph of the file is a page

const out = process.argv[3] ?? `runs/example-hotpotqa-${model.replace(/[^\w.-]+/g, "_")}`;
const result = await runBenchmark({
  tasks: tasks.slice(0, questions),
  policy: new OpenAIPolicy({ model, temperature: 0 }),
  environment: () => new WikiEnvironment(docstore),
  out, // rerun to resume: finished questions are skipped
  concurrency: 4,
  onProgress: ({ done, total }) => process.stderr.write(`\r${done}/${total} questions`),
});
process.stderr.write("\n");
console.log(formatSummary(result.summary));
console.log(`trajectories: ${out}/trajectories.jsonl`);
// Episodes the server failed (after retries) are not logged: rerun to retry them.
for (const { id, error } of result.failed) console.error(`failed ${id}: ${error}`);
