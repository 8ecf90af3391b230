// Serving: the embedded planner behind OpenAI's chat-completions API.
export { servePlanner, type PlannerServer, type ServeOptions } from "./server.ts";
export { ChatRequest, promptText, type ErrorBody, type Message } from "./schema.ts";
