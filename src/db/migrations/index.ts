import { Migrator } from "@effect/sql"
import observation from "./0001_observation.ts"
import pipeline from "./0002_pipeline.ts"
import trigger from "./0003_trigger.ts"
import execution from "./0004_execution.ts"
import incremental from "./0005_incremental.ts"

/** Every migration this version of ccat knows, by `<id>_<name>`; ids only ever grow. */
export const migrations = {
  "1_observation": observation,
  "2_pipeline": pipeline,
  "3_trigger": trigger,
  "4_execution": execution,
  "5_incremental": incremental
}

export const latestMigrationId = 5

export const migrationLoader = Migrator.fromRecord(migrations)
