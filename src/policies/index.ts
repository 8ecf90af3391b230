export { BaselinePolicy } from "./baseline.ts";
export { LangChainPolicy, LangChainPolicyOptionsSchema, type LangChainPolicyOptions } from "./langchain-chat.ts";
export { OpenAIPolicy, OpenAIPolicyOptionsSchema, type OpenAIPolicyOptions } from "./openai.ts";
export { OraclePolicy } from "./oracle.ts";
export { answeredFromMemory, RecallingPolicy, type RecallingOptions } from "./recalling.ts";
export { ScriptedPolicy, type Script, type ScriptedOutput } from "./scripted.ts";
