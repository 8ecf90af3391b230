import type { Tokenizer } from "../lm/index.ts";
import type { TokenSequence } from "../planner/index.ts";

/**
 * Language-modelling rows from a corpus: the texts, each closed by `eos`, run
 * end to end and are cut into rows of `rowTokens` after a `bos`. Every token is learned.
 * The default is what `train pretrain` uses, so a loss measured on such rows compares
 * with its training loss.
 */
export function corpusRows(texts: readonly string[], tokenizer: Tokenizer, rowTokens = 128): TokenSequence[] {
  const stream = texts.flatMap((text) => [...tokenizer.encode(text), tokenizer.eos]);
  const rows: TokenSequence[] = [];
  for (let at = 0; at < stream.length; at += rowTokens) {
    const ids = [tokenizer.bos, ...stream.slice(at, at + rowTokens)];
    rows.push({ ids, mask: ids.map(() => 1) });
  }
  return rows;
}
