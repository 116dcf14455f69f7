/** The demo dataset: `ccat db seed --demo [--more]`. */
export { archiveDirConfig } from "./archive.ts"
export { ArchiveWriteError, DatabaseNotEmpty, DemoNotSeeded, InvalidSeedOption, type SeedError } from "./errors.ts"
export { packageChecksum } from "./ids.ts"
export { formatSeedReport } from "./report.ts"
export {
  defaultMoreScans,
  observationTables,
  seedDemo,
  seedMore,
  type SeedDemoOptions,
  type SeedMoreOptions,
  type SeedReport,
  type TableCount
} from "./seed.ts"
