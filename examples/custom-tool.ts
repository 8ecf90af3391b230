// An agent with a tool of your own: LangChain's Calculator, added to the wiki
// environment next to Search and Lookup; the prompt lists it with its description.
//
//   npx tsx examples/custom-tool.ts
//
// The policy here is scripted, so the example runs offline and shows the
// plumbing; put `new OpenAIPolicy({ model: "gpt-4o-mini" })` in its place for a real one.
// In a project of your own, install @langchain/community as docs/package.md says.
import { Calculator } from "@langchain/community/tools/calculator";
import { Docstore, fromLangChainTool, loadPrompt, runEpisode, ScriptedPolicy, WikiEnvironment, withToolList, type QaTask } from "react-rl";

// A two-page wiki: any [title, sentences] paragraphs will do (a dataset's contexts, your own documents).
const docstore = new Docstore([
  ["Buddy's Pizza", ["Buddy's Pizza is a pizza restaurant chain based in Detroit, Michigan.", " It was founded in 1946."]],
  ["Pizza Studio", ["Pizza Studio is a pizza franchise based in Los Angeles.", " It was founded in 2013."]],
]);
const task: QaTask = {
  id: "pizza-years",
  question: "How many years after Buddy's Pizza was Pizza Studio founded?",
  answer: "67",
  type: "arithmetic",
  supportingFacts: [],
  context: [],
};

// The tool keeps its LangChain behaviour; the agent calls it as `Calculator[expression]`.
const calculator = fromLangChainTool(new Calculator(), { name: "Calculator" });
const environment = new WikiEnvironment(docstore, [calculator]);

// The default prompt lists the episode's tools from their definitions: the agent reads Calculator's description.
console.log(withToolList(await loadPrompt("hotpotqa"), environment.tools).instruction);

const policy = new ScriptedPolicy<QaTask>([
  " I need the year Buddy's Pizza was founded.\nAction 1: Search[Buddy's Pizza]",
  " Buddy's Pizza was founded in 1946. Now Pizza Studio.\nAction 2: Search[Pizza Studio]",
  " Pizza Studio was founded in 2013. I subtract the years.\nAction 3: Calculator[2013 - 1946]",
  " The difference is 67 years.\nAction 4: Finish[67]",
]);

const trajectory = await runEpisode(policy, environment, { task });
for (const [i, step] of trajectory.steps.entries()) {
  console.log(`${i + 1}. ${step.action} -> ${step.observation}`);
}
console.log(`answer: ${trajectory.answer}, reward: ${trajectory.reward}`);
