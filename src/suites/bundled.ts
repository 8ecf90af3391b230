import { packagePath } from "../package-files.ts";

/** The bundled HotpotQA dev sample (300 questions, CC BY-SA 4.0; see data/README.md). */
export const HOTPOTQA_SAMPLE = packagePath("data/hotpotqa-dev-300.jsonl");

/** The bundled 2WikiMultihopQA dev sample (100 questions, Apache License 2.0; see data/README.md). */
export const TWOWIKI_SAMPLE = packagePath("data/2wikimultihopqa-dev-100.jsonl");
