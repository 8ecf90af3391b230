import { fileURLToPath } from "node:url";

/** The bundled HotpotQA dev sample (300 questions, CC BY-SA 4.0; see data/README.md). */
export const HOTPOTQA_SAMPLE = fileURLToPath(new URL("../../data/hotpotqa-dev-300.jsonl", import.meta.url));
