import { z } from "zod";
import { serveViewer } from "../report/viewer.ts";
import { defineCommand, numberFlag } from "./command.ts";
import { shutdownSignal } from "./interrupt.ts";

export const viewCommand = defineCommand({
  name: "view",
  summary: "browse a run's episodes step by step in a local web page; compare before and after",
  usage: `react-rl view RUN_DIR [--port N]

Serves a page on 127.0.0.1 listing the trajectory logs under RUN_DIR (bench's, the
trainers' rollouts, the demo's before/ and after/): filter episodes by outcome, family
or text, read them step by step, and compare two logs on the same question (the demo's
before and after are compared by default). To compare two runs, view a folder holding both.

  --port N             port (default 8765; 0 picks a free one)

Ctrl-C stops it.`,
  args: ["RUN_DIR"],
  flags: z.object({ port: numberFlag(z.number().int().min(0).max(65535)).default(8765) }),
  async run(flags, positionals) {
    const viewer = await serveViewer(positionals[0]!, flags.port);
    console.log(`viewing ${positionals[0]} at ${viewer.url} (Ctrl-C stops it)`);
    if (viewer.logsFound === 0) console.error(`note: ${positionals[0]} holds no trajectory log yet; the page lists logs as they appear`);
    await shutdownSignal();
    await viewer.close();
    return 0;
  },
});
