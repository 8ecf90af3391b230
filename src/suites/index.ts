// Suites: a task set with its environment, prompt and expert, behind one interface.
export { arithmeticSuite, fileSuite, hopworldSuite, openSuite, SUITE_NAMES, type SuiteName, type SuiteSource } from "./builtin.ts";
export { demonstratedTasks, expertEpisodes, type Suite } from "./suite.ts";
