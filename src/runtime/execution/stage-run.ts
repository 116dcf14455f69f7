import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect } from "effect"
import { chmod, copyFile, link, lstat, mkdir, rename, writeFile } from "node:fs/promises"
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path"
import type { JobSpec } from "../backends/execution-backend.ts"
import { commandLine } from "./command-line.ts"
import { MANIFEST_VERSION, type Manifest } from "./manifest.ts"
import type { RunContext } from "./run-context.ts"
import { containerFolders, runFolders, runRoot, type RunFolders } from "./run-folders.ts"

/*
 * Staging (runtime.md §3, PENDING → STAGING_DATA → SUBMITTED): make the run's folders, place
 * its inputs (hard links where the file system allows, copies otherwise), record the staged raw
 * files as physical copies at the processing location, write manifest.json, and describe the
 * job. Staging is idempotent: a run whose staging was interrupted by a crash is staged again
 * over what is there.
 */

export class StagingFailed extends Data.TaggedError("StagingFailed")<{ readonly runId: number; readonly reason: string }> {
  override get message(): string {
    return `run ${this.runId}: staging failed: ${this.reason}`
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

/** Place `source` at `target`: a hard link, or a copy across file systems. Existing targets stay. */
const place = async (source: string, target: string): Promise<void> => {
  await mkdir(dirname(target), { recursive: true })
  try {
    await lstat(target)
    return
  } catch {
    // not there yet
  }
  try {
    await link(source, target)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== "EXDEV" && code !== "EPERM") throw e
    const partial = `${target}.partial`
    await copyFile(source, partial)
    await rename(partial, target)
  }
}

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
}

/** Stage one run; fails with StagingFailed for anything about the files, SqlError for the database. */
export const stageRun = (run: RunContext, env: StagingEnvironment): Effect.Effect<StagedRun, StagingFailed | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const fail = (reason: string) => new StagingFailed({ runId: run.runId, reason })
    const final = run.definition.final
    const root = run.runDir ?? runRoot(env.baseDir, run.pipeline, run.step, run.subGroupKey, run.runId)
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

    const argv = yield* Effect.try({ try: () => commandLine(run.definition.command, run.softwareVersion, run.config), catch: (e) => fail(errorText(e)) })

    const packages = new Map<string, Manifest["inputs"]["packages"][number]>()
    for (const f of rawFiles) {
      const entry = packages.get(f.package_id) ?? { id: f.package_id, name: f.package_name, checksum: f.package_checksum, path: join(seen.input, f.package_name), files: [] }
      packages.set(f.package_id, { ...entry, files: [...entry.files, { name: f.file_name, path: join(seen.input, f.package_name, f.file_name), sizeBytes: Number(f.size_bytes), checksum: f.checksum }] })
    }
    const productTarget = (p: ProductRow, base: string) => stagedProductPath(base, p.step, p.sub_group_key, p.relative_path)
    const manifest: Manifest = {
      manifestVersion: MANIFEST_VERSION,
      run: { id: run.runId, pipeline: run.pipeline, step: run.step, subGroupKey: run.subGroupKey, reason: run.reason, attempt: run.retryCount + 1, final },
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

    yield* Effect.tryPromise({
      try: async () => {
        for (const dir of [folders.input, folders.workspace, folders.output, folders.config, folders.logs]) await mkdir(dir, { recursive: true })
        if (final) for (const sub of ["science", "qa", "plots", "statistics", "logs"]) await mkdir(join(folders.output, sub), { recursive: true })
        for (const f of rawFiles) {
          const source = isAbsolute(f.copy_path!) ? f.copy_path! : join(f.root_path!, f.copy_path!)
          await place(source, join(folders.input, f.package_name, f.file_name))
        }
        for (const p of products) await place(join(p.run_dir!, p.relative_path), productTarget(p, folders.workspace))
        const partial = `${folders.manifest}.partial`
        await writeFile(partial, JSON.stringify(manifest, null, 2) + "\n")
        await chmod(partial, 0o444)
        await rename(partial, folders.manifest)
      },
      catch: (e) => fail(errorText(e))
    })

    // The staged raw files, as physical copies at the processing location (once per path).
    const locationId = yield* processingLocationId(run.location, env.baseDir)
    const copies = rawFiles.map((f) => ({ file: f.file_id, path: relative(env.baseDir, join(folders.input, f.package_name, f.file_name)).split(sep).join("/") }))
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
      jobName: `ccat-${run.runId}`,
      argv,
      env: {
        WORKFLOW_OUTPUT_DIR: seen.output,
        WORKFLOW_MANIFEST: seen.manifest,
        WORKFLOW_INPUT_DIR: seen.input,
        WORKFLOW_WORKSPACE_DIR: seen.workspace,
        WORKFLOW_LOGS_DIR: seen.logs,
        CCAT_RUN_ID: String(run.runId),
        ...(env.container === "none" ? { PATH: pathEnv } : {})
      },
      runDir: folders.root,
      stdoutPath: folders.stdout,
      stderrPath: folders.stderr,
      resources: run.definition.resources,
      timeoutSeconds: run.definition.timeoutSeconds,
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
    return { job, folders, manifest }
  })

/** For messages: the run folder relative to the base folder. */
export const shortRunDir = (baseDir: string, runDir: string): string => relative(baseDir, runDir) || basename(runDir)
