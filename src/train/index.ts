export { bootstrapFewShot, type BootstrapOptions, type BootstrapResult, type CandidateScore } from "./bootstrap.ts";
