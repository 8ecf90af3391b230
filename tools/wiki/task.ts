import { z } from "zod";

/** A paragraph as HotpotQA stores it: a title and its sentences. */
export const ParagraphSchema = z.tuple([z.string(), z.array(z.string())]);

/** A multi-hop QA question with its context paragraphs (HotpotQA and friends, normalised). */
export const QaTaskSchema = z.object({
  id: z.string().min(1),
  question: z.string().min(1),
  answer: z.string(),
  type: z.string().default("unknown"),
  supportingFacts: z.array(z.tuple([z.string(), z.number().int().nonnegative()])).default([]),
  context: z.array(ParagraphSchema),
  /** For questions that need a computation: a program whose value is the answer, for `Code[...]` (the oracle runs it). */
  program: z.string().min(1).optional(),
});

export type Paragraph = z.infer<typeof ParagraphSchema>;
export type QaTask = z.infer<typeof QaTaskSchema>;
