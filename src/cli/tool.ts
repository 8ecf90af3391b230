import { z } from "zod";
import { EpisodicMemory, recallTool } from "../../memory/index.ts";
import { codeTool, pythonTool } from "../../tools/code/index.ts";
import { callWithText, type Tool } from "../../tools/tool.ts";
import { Docstore, WikiEnvironment } from "../../tools/wiki/index.ts";
import { loadDataset } from "../suites/datasets.ts";
import { HOTPOTQA_SAMPLE } from "../suites/bundled.ts";
import { UserError } from "../errors.ts";
import { pathExists } from "../files.ts";
import { didYouMean } from "../options.ts";
import { checkFolder, defineCommand, givenFlag, UsageError } from "./command.ts";

const toolFlags = z.object({ file: z.string().optional(), page: z.string().optional(), memory: z.string().optional() });
type ToolFlags = z.infer<typeof toolFlags>;

/** The tools this command calls, by lowercase name, with the flags each takes; each is built only when named. */
const TOOLS: Record<string, { flags: readonly (keyof ToolFlags)[]; build: (flags: ToolFlags) => Promise<Tool> }> = {
  search: { flags: ["file"], build: (flags) => wikiTool("Search", flags) },
  lookup: { flags: ["file", "page"], build: (flags) => wikiTool("Lookup", flags) },
  code: { flags: [], build: async () => codeTool() },
  python: { flags: [], build: async () => pythonTool() },
  recall: { flags: ["memory"], build: async (flags) => recallTool(await openMemory(flags.memory)) },
};

export const toolCommand = defineCommand({
  name: "tool",
  summary: "call one tool and print its observation",
  usage: `react-rl tool NAME ARGUMENT [options]

  NAME          ${Object.keys(TOOLS).join(" | ")} (case-insensitive)
  --file PATH   for search and lookup: the dataset whose paragraphs form the wiki
                (default: the bundled HotpotQA sample)
  --page TITLE  for lookup (required): the page to look in, opened as an agent's Search
                would; a title with no page is refused
  --memory DIR  for recall: an episodic memory folder (react-rl bench --memory DIR fills one)

Examples:
  react-rl tool search "Northwestern University"
  react-rl tool lookup "Qatar" --page "Northwestern University"
  react-rl tool code "[1844, 1989].map((year) => 2024 - year)"
  react-rl tool python "[2024 - year for year in (1844, 1989)]"
  react-rl tool recall "Which magazine was started first?" --memory runs/memory`,
  args: ["NAME", "ARGUMENT"],
  flags: toolFlags,
  async run(flags, [name, argument]) {
    const tool = TOOLS[name!.toLowerCase()];
    if (!tool) throw new UsageError(`unknown tool '${name}'${didYouMean(name!, Object.keys(TOOLS))}; the tools: ${Object.keys(TOOLS).join(", ")}`);
    const stray = givenFlag(flags, (Object.keys(flags) as (keyof ToolFlags)[]).filter((flag) => !tool.flags.includes(flag)));
    if (stray) throw new UserError(`--${stray} is not for ${name!.toLowerCase()}, which takes ${tool.flags.length ? tool.flags.map((f) => `--${f}`).join(" and ") : "no flags"}`);
    if (argument!.trim() === "") throw new UsageError(`${name!.toLowerCase()} needs an ARGUMENT that is not blank`);
    console.log(await callWithText(await tool.build(flags), argument!));
    return 0;
  },
});

async function wikiTool(name: "Search" | "Lookup", flags: ToolFlags): Promise<Tool> {
  // An agent's Lookup with no page found says "No more results."; a user who named no page, or a missing one, is told.
  if (name === "Lookup" && flags.page === undefined) throw new UsageError("lookup needs --page TITLE: the page to look in");
  const file = flags.file ?? HOTPOTQA_SAMPLE;
  const docstore = Docstore.fromTasks(await loadDataset(file));
  if (flags.page !== undefined && !docstore.get(flags.page)) {
    const similar = docstore.similar(flags.page);
    throw new UserError(`no page '${flags.page}' in ${file}${similar.length > 0 ? `; similar titles: ${similar.join(", ")}` : ""}`);
  }
  const environment = new WikiEnvironment(docstore);
  if (flags.page !== undefined) await environment.step({ name: "Search", argument: flags.page });
  return environment.tools.find((t) => t.name === name)!;
}

async function openMemory(dir: string | undefined): Promise<EpisodicMemory> {
  if (dir === undefined) throw new UsageError("recall needs --memory DIR");
  await checkFolder("--memory", dir);
  if (!(await pathExists(dir))) throw new UserError(`no memory folder at ${dir}`);
  return EpisodicMemory.open(dir);
}
