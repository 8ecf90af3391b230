import { packagePath } from "../package-files.ts";

/** The bundled HotpotQA dev sample (300 questions, CC BY-SA 4.0; see data/README.md). */
export const HOTPOTQA_SAMPLE = packagePath("data/hotpotqa-dev-300.jsonl");
