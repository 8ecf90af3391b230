// Serving: the embedded planner behind OpenAI's chat-completions API.
export { servedModelName, servePlanner, type PlannerServer, type ServeOptions } from "./server.ts";
export { ChatRequest, promptText, type ErrorBody, type Message } from "./schema.ts";
