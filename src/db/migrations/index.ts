import { Migrator } from "@effect/sql"
import observation from "./0001_observation.ts"
import pipeline from "./0002_pipeline.ts"
import trigger from "./0003_trigger.ts"
import execution from "./0004_execution.ts"
import incremental from "./0005_incremental.ts"
import packageCreatedXid from "./0006_package_created_xid.ts"
import dropChangeSeq from "./0007_drop_change_seq.ts"
import dimensionChangeXid from "./0008_dimension_change_xid.ts"
import runAttempts from "./0009_run_attempts.ts"
import inputPurged from "./0010_input_purged.ts"
import runBackend from "./0011_run_backend.ts"
import uniqueLineageAndCopies from "./0012_unique_lineage_and_copies.ts"
import apiToken from "./0013_api_token.ts"
import listIndexes from "./0014_list_indexes.ts"

/** Every migration this version of ccat knows, by `<id>_<name>`; ids only ever grow. */
export const migrations = {
  "1_observation": observation,
  "2_pipeline": pipeline,
  "3_trigger": trigger,
  "4_execution": execution,
  "5_incremental": incremental,
  "6_package_created_xid": packageCreatedXid,
  "7_drop_change_seq": dropChangeSeq,
  "8_dimension_change_xid": dimensionChangeXid,
  "9_run_attempts": runAttempts,
  "10_input_purged": inputPurged,
  "11_run_backend": runBackend,
  "12_unique_lineage_and_copies": uniqueLineageAndCopies,
  "13_api_token": apiToken,
  "14_list_indexes": listIndexes
}

export const latestMigrationId = 14

export const migrationLoader = Migrator.fromRecord(migrations)
