export {
  EXPORT_FORMATS,
  exportSchema,
  exportTrajectories,
  writeExport,
  type ExportFilter,
  type ExportFormat,
  type ExportOptions,
  type ExportResult,
} from "./formats.ts";
export * from "./schema.ts";
export { byteTokenizer, huggingFaceEncoder, type TokenEncoder } from "./tokens.ts";
