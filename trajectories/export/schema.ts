// The export formats, written from their documentation. Every record is checked
// against its schema before a file is written, so a bad export fails here, not
// hours later at the trainer. Objects are strict: a misspelt key is an error.
import { z } from "zod";

// OpenAI fine-tuning, chat input (supervised method): one `{"messages": [...]}` per line.
// Assistant messages may carry `weight` 0 or 1; 0 keeps the turn as context but does not train on it.
const SystemMessageSchema = z.strictObject({ role: z.literal("system"), content: z.string().min(1) });
const UserMessageSchema = z.strictObject({ role: z.literal("user"), content: z.string().min(1) });
const AssistantMessageSchema = z.strictObject({ role: z.literal("assistant"), content: z.string().min(1) });
const WeightedAssistantMessageSchema = AssistantMessageSchema.extend({ weight: z.union([z.literal(0), z.literal(1)]).optional() });

export const OpenAISftRecordSchema = z
  .strictObject({
    messages: z.array(z.discriminatedUnion("role", [SystemMessageSchema, UserMessageSchema, WeightedAssistantMessageSchema])).min(2),
  })
  .refine((record) => record.messages.some((m) => m.role === "assistant" && m.weight !== 0), {
    message: "needs at least one assistant message that is trained on (weight 1)",
  });

// OpenAI fine-tuning, preference input (DPO method): a one-turn prompt (system, then the user
// message) and one preferred and one non-preferred assistant message as its completions.
export const OpenAIDpoRecordSchema = z
  .strictObject({
    input: z.strictObject({ messages: z.tuple([SystemMessageSchema, UserMessageSchema]) }),
    preferred_output: z.tuple([AssistantMessageSchema]),
    non_preferred_output: z.tuple([AssistantMessageSchema]),
  })
  .refine((record) => record.preferred_output[0].content !== record.non_preferred_output[0].content, {
    message: "preferred and non-preferred outputs must differ",
  });

// Token-level rollouts for open trainers, in the layout of verl's agent loop and SkyRL
// (`prompt_ids`, `response_ids`, a per-token mask over the response, a scalar reward):
// the response holds the policy's tokens and the environment's, and `mask` is 1 exactly
// on the policy's, so losses never train on what the environment wrote.
const TokenIdsSchema = z.array(z.number().int().nonnegative());

export const TokenRecordSchema = z
  .strictObject({
    id: z.string(),
    prompt_ids: TokenIdsSchema.min(1),
    response_ids: TokenIdsSchema.min(1),
    mask: z.array(z.union([z.literal(0), z.literal(1)])),
    reward: z.number(),
  })
  .refine((record) => record.mask.length === record.response_ids.length, { message: "mask and response_ids differ in length" })
  .refine((record) => record.mask.includes(1), { message: "no policy token in the response" });

export type OpenAISftRecord = z.infer<typeof OpenAISftRecordSchema>;
export type OpenAIDpoRecord = z.infer<typeof OpenAIDpoRecordSchema>;
export type TokenRecord = z.infer<typeof TokenRecordSchema>;
export type ChatMessage = OpenAISftRecord["messages"][number];
