import { z } from "zod";
import { callWithText } from "../../tools/tool.ts";
import { Docstore, WikiEnvironment } from "../../tools/wiki/index.ts";
import { loadDataset } from "../bench/datasets.ts";
import { HOTPOTQA_SAMPLE } from "../bench/sample.ts";
import { UserError } from "../errors.ts";
import { defineCommand } from "./command.ts";

export const toolCommand = defineCommand({
  name: "tool",
  summary: "call one tool and print its observation",
  usage: `react-rl tool NAME ARGUMENT [options]

  NAME          search | lookup (case-insensitive)
  --file PATH   the dataset whose paragraphs form the wiki (default: the bundled HotpotQA sample)
  --page TITLE  for lookup: the page to search first, as an agent would

Examples:
  react-rl tool search "Kiss and Tell (1945 film)"
  react-rl tool lookup "born" --page "Shirley Temple"`,
  options: { file: { type: "string" }, page: { type: "string" } },
  flags: z.object({ file: z.string().optional(), page: z.string().optional() }),
  async run(flags, positionals) {
    const [name, argument, ...rest] = positionals;
    if (!name || argument === undefined || rest.length > 0) throw new UserError("usage: react-rl tool NAME ARGUMENT");
    const environment = new WikiEnvironment(Docstore.fromTasks(await loadDataset(flags.file ?? HOTPOTQA_SAMPLE)));
    const tool = environment.tools.find((t) => t.name.toLowerCase() === name.toLowerCase());
    if (!tool) {
      throw new UserError(`unknown tool ${name}; tools: ${environment.tools.map((t) => t.name).join(", ")}`);
    }
    if (flags.page !== undefined) await environment.step({ name: "Search", argument: flags.page });
    console.log(await callWithText(tool, argument));
    return 0;
  },
});
