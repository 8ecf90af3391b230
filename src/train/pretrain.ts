import { loadPrompt } from "../../prompts/index.ts";
import { createModel, trainTokenizer, type ModelConfig, type Tokenizer } from "../lm/index.ts";
import { episodeText, type Planner, type TokenSequence } from "../planner/index.ts";
import { expertEpisodes, hopworldSuite } from "../suites/index.ts";
import { HOPWORLD_PROMPT, worldCorpus, type World } from "../world/index.ts";

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

/**
 * A new, untrained planner of `config`'s shape. Its tokenizer learns the world's text (pages,
 * questions) and the expert's phrasing of thoughts and actions; the vocabulary is what it reaches.
 */
export async function newPlanner(world: World, config: ModelConfig, seed: number, about: Pick<Planner, "source" | "meta">): Promise<Planner> {
  const episodes = await expertEpisodes(hopworldSuite(world), "train", 300);
  const template = await loadPrompt(HOPWORLD_PROMPT);
  const texts = [...worldCorpus(world, "train"), ...episodes.map((t) => episodeText(t, template))];
  const tokenizer = trainTokenizer(texts, { vocabSize: config.vocabSize });
  return { model: createModel({ ...config, vocabSize: tokenizer.vocabSize }, seed), tokenizer, ...about };
}
