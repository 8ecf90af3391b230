import { z } from "zod";
import { backendFlag, backendUsage } from "./backend.ts";
import { BASE_PLANNER, ensureBackend, loadPlanner } from "../planner/index.ts";
import { servePlanner } from "../serve/index.ts";
import { defineCommand, numberFlag } from "./command.ts";
import { shutdownSignal } from "./interrupt.ts";
import { isLoopback } from "../loopback.ts";

export const serveCommand = defineCommand({
  name: "serve",
  summary: "serve the embedded planner over OpenAI's chat-completions API",
  usage: `react-rl serve [options]

  --model DIR          checkpoint folder (default: the committed base planner)
  --served-model-name NAME   the model id requests must name (default: the folder's name, or
                       the run's for a trainer's RUN/checkpoint: runs/rl/checkpoint is "rl")
  --port N             port (default 8000; 0 picks a free one)
  --host ADDR          address to listen on (default 127.0.0.1; the server has no
                       authentication, so only name another address on purpose)
${backendUsage}
                       (requests decode on the WebAssembly SIMD kernels on a CPU backend,
                       on tfjs on a GPU one, as --policy local does)
  --max-batch N        most sequences decoded together (default 64)
  --free-decoding      decode without the ReAct turn grammar (by default a prompt ending in an
                       open "Thought k:" gets a thought and one well-formed action, as with
                       --policy local; a request's "turn_grammar": true|false overrides this)

Answers POST /v1/chat/completions, GET /v1/models and GET /v1/models/ID under http://HOST:PORT/v1;
point any OpenAI client there, e.g. react-rl bench --policy openai --base-url URL --model ID.
Ctrl-C (or SIGTERM) stops it once the requests in progress are answered.`,
  flags: z.object({
    model: z.string().default(BASE_PLANNER),
    "served-model-name": z.string().min(1).optional(),
    port: numberFlag(z.number().int().min(0).max(65535)).default(8000),
    host: z.string().min(1).default("127.0.0.1"),
    backend: backendFlag,
    "max-batch": numberFlag(z.number().int().min(1).max(4096)).default(64),
    "free-decoding": z.boolean().default(false),
  }),
  async run(flags) {
    const backend = await ensureBackend(flags.backend);
    const planner = await loadPlanner(flags.model, flags.backend);
    const server = await servePlanner(planner, {
      host: flags.host,
      port: flags.port,
      maxBatch: flags["max-batch"],
      grammar: !flags["free-decoding"],
      model: flags["served-model-name"],
    });
    if (!isLoopback(flags.host)) console.error(`warning: listening on ${flags.host}: anyone who can reach it can use this server`);
    const engine = server.engine === "kernels" ? "WebAssembly SIMD kernels" : `tfjs ${backend.name}`;
    console.log(`serving ${server.model} (decoding on ${engine}) at ${server.baseURL}`);
    await shutdownSignal();
    console.error("stopping: answering the requests in progress");
    await server.close();
    return 0;
  },
});
