// Suites: a task set with its environment, prompt and expert, behind one interface.
export { arithmeticSuite, fileSuite, hopworldSuite, openSuite, openWorld, SUITE_NAMES, SuiteSourceSchema, type SuiteName, type SuiteSource } from "./builtin.ts";
export { datasetSuite, demonstratedTasks, expertEpisodeLengths, expertEpisodes, splitDataset, type OnEpisode, type Suite } from "./suite.ts";
export {
  ARITHMETIC_PROMPT,
  ARITHMETIC_SIZES,
  arithmeticEnvironment,
  ArithmeticOptionsSchema,
  arithmeticTasks,
  type ArithmeticOptions,
} from "./arithmetic.ts";
export { loadDataset, type DatasetFormat } from "./datasets.ts";
export { HOTPOTQA_SAMPLE, TWOWIKI_SAMPLE } from "./bundled.ts";
