import { Migrator } from "@effect/sql"
import observation from "./0001_observation.ts"
import pipeline from "./0002_pipeline.ts"

/** Every migration this version of ccat knows, by `<id>_<name>`; ids only ever grow. */
export const migrations = {
  "1_observation": observation,
  "2_pipeline": pipeline
}

export const latestMigrationId = 2

export const migrationLoader = Migrator.fromRecord(migrations)
