import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect, Either } from "effect"
import { constants } from "node:fs"
import { chmod, copyFile, lstat, mkdir, rename, rm, stat, writeFile } from "node:fs/promises"
import { basename, dirname, relative } from "node:path"
import type { JobSpec } from "../backends/execution-backend.ts"
import { commandLine } from "./command-line.ts"
import type { PathEscape } from "./confined-path.ts"
import { isOutOfSpaceError } from "./disk-space.ts"
import { type AttemptToStage, jobSpec, type ProgramRuntime } from "./job-spec.ts"
import type { Manifest } from "./manifest.ts"
import type { RunContext } from "./run-context.ts"
import { runManifest } from "./run-manifest.ts"
import { attemptRoot, containerFolders, runFolders, runRoot, type RunFolders } from "./run-folders.ts"
import type { StagedInput } from "./staged-inputs.ts"
import {
  attemptFolders,
  planStaging,
  processingCopies,
  type ProductRow,
  type RawFileRow,
  slashRelative,
  stagingNeeds,
  unstageableInput
} from "./staging-plan.ts"

export type { AttemptToStage } from "./job-spec.ts"

/*
 * Staging (docs/design/runtime.md §3.7, PENDING → STAGING_DATA → SUBMITTED): make the folders of the run's
 * new attempt, place its inputs, record the staged raw files as physical copies at the
 * processing location, write manifest.json, and describe the job. Staging is idempotent: an
 * attempt whose staging was interrupted by a crash is staged again over what is there.
 *
 * Inputs are COPIES, made read-only, never links to the archive's files: a hard link is the
 * archive's own file, and a program that appended to its input changed the raw archive (its
 * recorded SHA-256 then lied). The copy is a reflink where the file system can (btrfs, XFS:
 * instant, no space used until written), a full copy otherwise. What was staged (size, mtime,
 * ctime) is kept in the database, where the program cannot write, to tell after the job whether
 * it changed an input (staged-inputs.ts).
 *
 * Every name read from the database that becomes a path here (package and file names, archive
 * copy paths, upstream steps, sub-group keys and product paths) is held to its folder before
 * anything is created (confined-path.ts): one that would leave it fails the run for good with
 * UNSAFE_PATH, and nothing is staged.
 */

export class StagingFailed extends Data.TaggedError("StagingFailed")<{ readonly runId: number; readonly reason: string }> {
  override get message(): string {
    return `run ${this.runId}: staging failed: ${this.reason}`
  }
}

/** The location's file system is full (blocks or inodes): not the run's fault; the attempt's folder is gone again. */
export class StagingOutOfSpace extends Data.TaggedError("StagingOutOfSpace")<{
  readonly runId: number
  readonly folder: string
  readonly reason: string
  readonly neededBytes: number
  readonly neededInodes: number
}> {
  override get message(): string {
    return `run ${this.runId}: out of space while staging in ${this.folder}: ${this.reason}`
  }
}

/** Where the location's attempts are staged, and how its programs run. */
export interface StagingEnvironment extends ProgramRuntime {
  readonly baseDir: string
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Place a read-only copy of `source` at `target` (a reflink where the file system can). A target
 * that exists is a copy an interrupted staging of this attempt completed (copies are renamed
 * into place whole), and stays.
 */
const place = async (source: string, target: string): Promise<void> => {
  await mkdir(dirname(target), { recursive: true })
  try {
    await lstat(target)
    return
  } catch {
    // not there yet
  }
  const partial = `${target}.partial`
  await copyFile(source, partial, constants.COPYFILE_FICLONE)
  await chmod(partial, 0o444)
  await rename(partial, target)
}

/** The processing location's data_location row, created on first use. */
export const processingLocationId = (
  location: RunContext["location"],
  baseDir: string
): Effect.Effect<string, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const name = `processing:${location.name}`
    const site = location.site === "ccat" || location.site === "cologne" || location.site === "us" ? location.site : "ccat"
    yield* sql`
      INSERT INTO data_location (id, name, location_type, storage_type, site, root_path)
      VALUES (gen_random_uuid(), ${name}, 'PROCESSING', 'DISK', ${site}, ${baseDir})
      ON CONFLICT (name) DO NOTHING`
    const [row] = yield* sql<{ id: string }>`SELECT id FROM data_location WHERE name = ${name}`
    return row!.id
  })

export interface StagedRun {
  readonly job: JobSpec
  readonly folders: RunFolders
  readonly manifest: Manifest
  /** Every file placed in the attempt's folder for the program to read. */
  readonly stagedInputs: ReadonlyArray<StagedInput>
}

/**
 * Stage one attempt of a run; fails with StagingFailed for anything about the files,
 * StagingOutOfSpace when the file system is full, SqlError for the database.
 */
export const stageRun = (
  run: RunContext,
  env: StagingEnvironment,
  attempt: AttemptToStage
): Effect.Effect<StagedRun, StagingFailed | StagingOutOfSpace | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const fail = (reason: string) => new StagingFailed({ runId: run.runId, reason })
    const unsafe = (escape: PathEscape) =>
      fail(`${escape.message}; nothing was staged: correct it in the database, then \`ccat retry ${run.runId}\``)
    const final = run.definition.final
    const root = attemptRoot(
      yield* Either.mapLeft(runRoot(env.baseDir, run.pipeline, run.step, run.subGroupKey, run.runId), unsafe),
      attempt.attempt
    )
    const folders = runFolders(root, run.step, final)
    const seen = env.container === "apptainer" ? containerFolders(run.step, final) : folders

    const rawFiles = yield* sql<RawFileRow>`
      SELECT p.id AS package_id, p.name AS package_name, p.checksum AS package_checksum, f.id AS file_id, f.name AS file_name,
        f.size_bytes, f.checksum, c.root_path, c.path AS copy_path
      FROM run_input ri
      JOIN raw_data_package p ON p.id = ri.raw_data_package_id
      JOIN raw_data_file f ON f.raw_data_package_id = p.id
      LEFT JOIN LATERAL (
        SELECT l.root_path, pc.path FROM physical_copy pc JOIN data_location l ON l.id = pc.data_location_id
        WHERE pc.raw_data_file_id = f.id AND pc.status = 'PRESENT' AND l.location_type <> 'PROCESSING'
        ORDER BY (l.location_type = 'LONG_TERM_ARCHIVE') DESC, (l.location_type = 'BUFFER') DESC LIMIT 1
      ) c ON true
      WHERE ri.run_id = ${run.runId}
      ORDER BY p.name, f.name`
    const products = yield* sql<ProductRow>`
      SELECT dp.id, dp.relative_path, dp.size_bytes, dp.checksum, dp.product_type, r.id AS run_id, r.sub_group_key, r.run_dir, s.name AS step
      FROM run_input ri
      JOIN data_product dp ON dp.id = ri.data_product_id
      JOIN executed_reduction_step r ON r.id = dp.run_id
      JOIN reduction_step s ON s.id = r.step_id
      WHERE ri.run_id = ${run.runId}
      ORDER BY s.name, r.sub_group_key, dp.relative_path`

    const unstageable = unstageableInput(rawFiles, products)
    if (unstageable !== null) return yield* fail(unstageable)
    const plan = yield* Either.mapLeft(planStaging(folders.input, folders.workspace, rawFiles, products), unsafe)

    const argv = yield* Effect.try({
      try: () => commandLine(run.definition.command, run.softwareVersion, run.config),
      catch: (e) => fail(errorText(e))
    })
    const manifest = runManifest(run, attempt.attempt, argv, seen, rawFiles, products)

    const placed = yield* Effect.tryPromise({
      try: async (): Promise<ReadonlyArray<StagedInput>> => {
        for (const dir of attemptFolders(folders, final)) await mkdir(dir, { recursive: true })
        const staged: Array<StagedInput> = []
        const record = async (target: string, checksum: string) => {
          const s = await stat(target, { bigint: true })
          staged.push({
            path: slashRelative(root, target),
            size: Number(s.size),
            mtimeNs: String(s.mtimeNs),
            ctimeNs: String(s.ctimeNs),
            checksum
          })
        }
        for (const { file, source, target } of plan.raw) {
          await place(source, target)
          await record(target, file.checksum)
        }
        for (const { product, source, target } of plan.products) {
          await place(source, target)
          await record(target, product.checksum)
        }
        const partial = `${folders.manifest}.partial`
        await writeFile(partial, JSON.stringify(manifest, null, 2) + "\n")
        await chmod(partial, 0o444)
        await rename(partial, folders.manifest)
        return staged
      },
      catch: (e) => e
    }).pipe(
      Effect.catchAll(
        (e): Effect.Effect<never, StagingFailed | StagingOutOfSpace> =>
          isOutOfSpaceError(e)
            ? // Nothing half-staged stays: the attempt's folder goes (and frees what it took).
              Effect.promise(() => rm(root, { recursive: true, force: true }).catch(() => undefined)).pipe(
                Effect.zipRight(
                  Effect.fail(
                    new StagingOutOfSpace({
                      runId: run.runId,
                      folder: env.baseDir,
                      reason: errorText(e),
                      ...stagingNeeds(rawFiles, products)
                    })
                  )
                )
              )
            : Effect.fail(fail(errorText(e)))
      )
    )

    // The staged raw files, as physical copies at the processing location (once per path).
    const locationId = yield* processingLocationId(run.location, env.baseDir)
    const copies = processingCopies(env.baseDir, plan)
    if (copies.length > 0) {
      yield* sql`
        INSERT INTO physical_copy (data_location_id, raw_data_file_id, path, status)
        SELECT ${locationId}, v.file, v.path, 'STAGED'
        FROM jsonb_to_recordset(${JSON.stringify(copies)}::jsonb) AS v(file uuid, path text)
        WHERE NOT EXISTS (SELECT 1 FROM physical_copy c WHERE c.data_location_id = ${locationId} AND c.raw_data_file_id = v.file AND c.path = v.path)`
    }

    const job = jobSpec(run, env, attempt, argv, folders, seen, process.env["PATH"])
    return { job, folders, manifest, stagedInputs: placed }
  })

/** For messages: the run folder relative to the base folder. */
export const shortRunDir = (baseDir: string, runDir: string): string => relative(baseDir, runDir) || basename(runDir)
