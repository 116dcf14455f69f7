import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect, Either } from "effect"
import { constants } from "node:fs"
import { chmod, copyFile, lstat, mkdir, rename, rm, stat, writeFile } from "node:fs/promises"
import { basename, dirname, join, relative, sep } from "node:path"
import type { JobSpec } from "../backends/execution-backend.ts"
import { commandLine } from "./command-line.ts"
import { confinedPath, type PathEscape } from "./confined-path.ts"
import { isOutOfSpaceError } from "./disk-space.ts"
import type { JobIdentity } from "./job-identity.ts"
import type { AttemptLimits } from "./retry-policy.ts"
import { MANIFEST_VERSION, type Manifest } from "./manifest.ts"
import type { RunContext } from "./run-context.ts"
import { attemptRoot, containerFolders, runFolders, runRoot, type RunFolders } from "./run-folders.ts"
import type { StagedInput } from "./staged-inputs.ts"

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

export interface StagingEnvironment {
  readonly baseDir: string
  /** Run programs in Apptainer (the location asks for it and it is installed) or directly. */
  readonly container: "apptainer" | "none"
  /** Prepended to PATH for programs run directly. */
  readonly softwarePath: ReadonlyArray<string>
}

interface RawFileRow {
  readonly package_id: string
  readonly package_name: string
  readonly package_checksum: string | null
  readonly file_id: string
  readonly file_name: string
  readonly size_bytes: string
  readonly checksum: string
  readonly root_path: string | null
  readonly copy_path: string | null
}

interface ProductRow {
  readonly id: string
  readonly relative_path: string
  readonly size_bytes: string
  readonly checksum: string
  readonly product_type: string
  readonly run_id: string
  readonly sub_group_key: string
  readonly run_dir: string | null
  readonly step: string
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

/** Where each raw file comes from and goes, and each upstream product: every path checked. */
interface StagingPlan {
  readonly raw: ReadonlyArray<{ readonly file: RawFileRow; readonly source: string; readonly target: string }>
  readonly products: ReadonlyArray<{ readonly product: ProductRow; readonly source: string; readonly target: string }>
}

/**
 * The sources and targets of the attempt's inputs, or the first name that would leave its
 * folder. Pure: it runs before any folder is made.
 */
const planStaging = (
  input: string,
  workspace: string,
  rawFiles: ReadonlyArray<RawFileRow>,
  products: ReadonlyArray<ProductRow>
): Either.Either<StagingPlan, PathEscape> =>
  Either.gen(function* () {
    const raw: Array<StagingPlan["raw"][number]> = []
    for (const file of rawFiles) {
      // (Rows without an archive copy were turned away before.)
      const source = yield* confinedPath(file.root_path!, file.copy_path!, `the archive path of raw data file ${file.file_id}`)
      const packageDir = yield* confinedPath(input, file.package_name, `the name of raw data package ${file.package_id}`)
      const target = yield* confinedPath(packageDir, file.file_name, `the name of raw data file ${file.file_id} (package ${JSON.stringify(file.package_name)})`)
      raw.push({ file, source, target })
    }
    const staged: Array<StagingPlan["products"][number]> = []
    for (const product of products) {
      const what = `the path of upstream product ${product.id} (run ${product.run_id})`
      const source = yield* confinedPath(product.run_dir!, product.relative_path, what)
      const stepDir = yield* confinedPath(workspace, product.step, `the name of upstream step ${JSON.stringify(product.step)}`)
      const subGroupDir = yield* confinedPath(stepDir, product.sub_group_key, `the sub-group key of upstream run ${product.run_id}`)
      const target = yield* confinedPath(subGroupDir, belowOutput(product.relative_path), what)
      staged.push({ product, source, target })
    }
    return { raw, products: staged }
  })

/** A product's path below its run's output folder (`science/x.fits`), from its path below the run folder. */
export const belowOutput = (relativePath: string): string => {
  const parts = relativePath.split("/")
  return (parts[0] === "workspace" ? parts.slice(2) : parts.slice(1)).join("/")
}

/** Where a downstream run sees an upstream product: workspace/{step}/{sub-group}/{path below its output}. */
export const stagedProductPath = (workspace: string, step: string, subGroupKey: string, relativePath: string): string =>
  join(workspace, step, subGroupKey, belowOutput(relativePath))

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

/** The attempt to stage: its number, its job's name and comment, and what it asks of the backend. */
export interface AttemptToStage {
  readonly attempt: number
  readonly identity: JobIdentity
  /** The step's resources and timeout, grown by its retry policy for this attempt (retry-policy.ts). */
  readonly limits: AttemptLimits
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
    const unsafe = (escape: PathEscape) => fail(`${escape.message}; nothing was staged: correct it in the database, then \`ccat retry ${run.runId}\``)
    const final = run.definition.final
    const root = attemptRoot(yield* Either.mapLeft(runRoot(env.baseDir, run.pipeline, run.step, run.subGroupKey, run.runId), unsafe), attempt.attempt)
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

    const missing = rawFiles.find((f) => f.root_path === null || f.copy_path === null)
    if (missing !== undefined) return yield* fail(`no present copy of ${missing.package_name}/${missing.file_name} at any archive location`)
    const lostProduct = products.find((p) => p.run_dir === null)
    if (lostProduct !== undefined) return yield* fail(`upstream product ${lostProduct.id} has no run folder`)
    const plan = yield* Either.mapLeft(planStaging(folders.input, folders.workspace, rawFiles, products), unsafe)

    const argv = yield* Effect.try({ try: () => commandLine(run.definition.command, run.softwareVersion, run.config), catch: (e) => fail(errorText(e)) })

    const packages = new Map<string, Manifest["inputs"]["packages"][number]>()
    for (const f of rawFiles) {
      const entry = packages.get(f.package_id) ?? { id: f.package_id, name: f.package_name, checksum: f.package_checksum, path: join(seen.input, f.package_name), files: [] }
      packages.set(f.package_id, { ...entry, files: [...entry.files, { name: f.file_name, path: join(seen.input, f.package_name, f.file_name), sizeBytes: Number(f.size_bytes), checksum: f.checksum }] })
    }
    const productTarget = (p: ProductRow, base: string) => stagedProductPath(base, p.step, p.sub_group_key, p.relative_path)
    const manifest: Manifest = {
      manifestVersion: MANIFEST_VERSION,
      run: { id: run.runId, pipeline: run.pipeline, step: run.step, subGroupKey: run.subGroupKey, reason: run.reason, attempt: attempt.attempt, final },
      software: { name: run.definition.software.name, version: run.softwareVersion, image: run.image, argv },
      config: run.config,
      inputs: {
        packages: [...packages.values()],
        products: products.map((p) => ({
          id: Number(p.id),
          step: p.step,
          runId: Number(p.run_id),
          subGroupKey: p.sub_group_key,
          type: p.product_type,
          path: productTarget(p, seen.workspace),
          sizeBytes: Number(p.size_bytes),
          checksum: p.checksum
        }))
      },
      paths: { input: seen.input, workspace: seen.workspace, output: seen.output, logs: seen.logs, manifest: seen.manifest }
    }

    const placed = yield* Effect.tryPromise({
      try: async (): Promise<ReadonlyArray<StagedInput>> => {
        for (const dir of [folders.input, folders.workspace, folders.output, folders.config, folders.logs]) await mkdir(dir, { recursive: true })
        if (final) for (const sub of ["science", "qa", "plots", "statistics", "logs"]) await mkdir(join(folders.output, sub), { recursive: true })
        const staged: Array<StagedInput> = []
        const record = async (target: string, checksum: string) => {
          const s = await stat(target, { bigint: true })
          staged.push({ path: relative(root, target).split(sep).join("/"), size: Number(s.size), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs), checksum })
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
      Effect.catchAll((e): Effect.Effect<never, StagingFailed | StagingOutOfSpace> =>
        isOutOfSpaceError(e)
          ? // Nothing half-staged stays: the attempt's folder goes (and frees what it took).
            Effect.promise(() => rm(root, { recursive: true, force: true }).catch(() => undefined)).pipe(
              Effect.zipRight(
                Effect.fail(
                  new StagingOutOfSpace({
                    runId: run.runId,
                    folder: env.baseDir,
                    reason: errorText(e),
                    neededBytes: rawFiles.reduce((n, f) => n + Number(f.size_bytes), 0) + products.reduce((n, p) => n + Number(p.size_bytes), 0),
                    neededInodes: rawFiles.length + products.length + 32
                  })
                )
              )
            )
          : Effect.fail(fail(errorText(e)))
      )
    )

    // The staged raw files, as physical copies at the processing location (once per path).
    const locationId = yield* processingLocationId(run.location, env.baseDir)
    const copies = plan.raw.map(({ file, target }) => ({ file: file.file_id, path: relative(env.baseDir, target).split(sep).join("/") }))
    if (copies.length > 0) {
      yield* sql`
        INSERT INTO physical_copy (data_location_id, raw_data_file_id, path, status)
        SELECT ${locationId}, v.file, v.path, 'STAGED'
        FROM jsonb_to_recordset(${JSON.stringify(copies)}::jsonb) AS v(file uuid, path text)
        WHERE NOT EXISTS (SELECT 1 FROM physical_copy c WHERE c.data_location_id = ${locationId} AND c.raw_data_file_id = v.file AND c.path = v.path)`
    }

    const pathEnv = [...env.softwarePath, process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"].join(":")
    const job: JobSpec = {
      runId: run.runId,
      attempt: attempt.attempt,
      jobName: attempt.identity.name,
      comment: attempt.identity.comment,
      argv,
      env: {
        WORKFLOW_OUTPUT_DIR: seen.output,
        WORKFLOW_MANIFEST: seen.manifest,
        WORKFLOW_INPUT_DIR: seen.input,
        WORKFLOW_WORKSPACE_DIR: seen.workspace,
        WORKFLOW_LOGS_DIR: seen.logs,
        CCAT_RUN_ID: String(run.runId),
        CCAT_ATTEMPT: String(attempt.attempt),
        CCAT_JOB_NAME: attempt.identity.name,
        ...(env.container === "none" ? { PATH: pathEnv } : {})
      },
      runDir: folders.root,
      stdoutPath: folders.stdout,
      stderrPath: folders.stderr,
      resources: attempt.limits.resources,
      timeoutSeconds: attempt.limits.timeoutSeconds,
      container:
        env.container === "apptainer"
          ? {
              runtime: "apptainer",
              image: run.image,
              binds: [
                { host: folders.input, container: "/workflow/input", readOnly: true },
                { host: folders.workspace, container: "/workflow/workspace", readOnly: false },
                { host: join(folders.root, "output"), container: "/workflow/output", readOnly: false },
                { host: folders.config, container: "/workflow/config", readOnly: true },
                { host: folders.logs, container: "/workflow/logs", readOnly: false }
              ]
            }
          : { runtime: "none" }
    }
    return { job, folders, manifest, stagedInputs: placed }
  })

/** For messages: the run folder relative to the base folder. */
export const shortRunDir = (baseDir: string, runDir: string): string => relative(baseDir, runDir) || basename(runDir)
