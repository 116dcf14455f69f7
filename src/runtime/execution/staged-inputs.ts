import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { readdir, rm, stat } from "node:fs/promises"
import { join, relative, resolve, sep } from "node:path"
import { sha256File } from "./collect-outputs.ts"
import { isWithin } from "./confined-path.ts"
import type { RunContext } from "./run-context.ts"

/*
 * Inputs are read-only to the program (the result-integrity issue, item 3). Staging places
 * read-only copies and records, per file, what it placed; after the job, every staged input is
 * looked at again. A file whose size, mtime or ctime moved, that is gone, or (where cheap) whose
 * content no longer has its recorded SHA-256, was changed by the run: the run fails with
 * INPUT_MODIFIED, since its outputs were made from something other than its recorded inputs.
 * ctime cannot be set by a program (a write, chmod or rename moves it), so the check needs no
 * trust in the program; the checksum also catches a change made with the clock turned back.
 */

export const StagedInput = Schema.Struct({
  /** Below the attempt's folder, with `/`: `input/<package>/<file>` or `workspace/<step>/<sub-group>/...`. */
  path: Schema.String,
  size: Schema.Number,
  /** Nanoseconds, as text (beyond 2^53). */
  mtimeNs: Schema.String,
  ctimeNs: Schema.String,
  /** The SHA-256 the archive or the upstream run recorded. */
  checksum: Schema.String
})
export type StagedInput = typeof StagedInput.Type

export const StagedInputs = Schema.Array(StagedInput)

/** Files up to this size are checksummed again after the job ... */
const checksumFilesUpTo = 16 * 1024 * 1024
/** ... until this many bytes were read for one run. */
const checksumBudget = 256 * 1024 * 1024

/** What the program changed among its staged inputs, one line per file; empty when nothing. */
export const modifiedInputs = (attemptDir: string, staged: ReadonlyArray<StagedInput>): Effect.Effect<ReadonlyArray<string>> =>
  Effect.promise(async () => {
    const problems: Array<string> = []
    let budget = checksumBudget
    for (const input of staged) {
      const path = join(attemptDir, input.path)
      let now
      try {
        now = await stat(path, { bigint: true })
      } catch {
        problems.push(`${input.path} was removed`)
        continue
      }
      if (Number(now.size) !== input.size) {
        problems.push(`${input.path} changed size (${input.size} → ${now.size} bytes)`)
      } else if (String(now.mtimeNs) !== input.mtimeNs || String(now.ctimeNs) !== input.ctimeNs) {
        problems.push(`${input.path} was written to or its mode changed`)
      } else if (/^[0-9a-f]{64}$/i.test(input.checksum) && input.size <= checksumFilesUpTo && budget >= input.size) {
        // (An archive checksum of another kind than SHA-256 cannot be compared.)
        budget -= input.size
        const checksum = await sha256File(path).catch(() => null)
        if (checksum?.toLowerCase() !== input.checksum.toLowerCase()) problems.push(`${input.path} no longer has its recorded SHA-256`)
      }
    }
    return problems
  })

/** The failure reason of a run that changed its inputs: the first few files, and how many in all. */
export const inputModifiedReason = (problems: ReadonlyArray<string>): string =>
  `INPUT_MODIFIED: ${problems.slice(0, 3).join("; ")}${problems.length > 3 ? `; and ${problems.length - 3} more` : ""}`

/**
 * The staged input copies of an attempt go once it is collected, and their physical copies with
 * them: `input/` and the upstream steps' folders in `workspace/` (not this step's own output).
 * Only below the location's folder: a run folder read back from the database that is not below
 * it is left alone (and reported), whatever it holds.
 */
export const removeStagedInputs = (run: Pick<RunContext, "runId" | "step">, runDir: string, baseDir: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    if (runDir.includes("\0") || !isWithin(baseDir, runDir) || resolve(runDir) === resolve(baseDir)) {
      return yield* Effect.logWarning(
        `run ${run.runId}: its staged inputs were not removed: its run folder ${JSON.stringify(runDir)} is not below the location's folder ${baseDir}`
      )
    }
    yield* Effect.promise(async () => {
      await rm(join(runDir, "input"), { recursive: true, force: true }).catch(() => undefined)
      for (const entry of await readdir(join(runDir, "workspace")).catch(() => [] as Array<string>)) {
        if (entry !== run.step) await rm(join(runDir, "workspace", entry), { recursive: true, force: true }).catch(() => undefined)
      }
    })
    const prefix = `${relative(baseDir, join(runDir, "input")).split(sep).join("/")}/`
    yield* sql`
      UPDATE physical_copy SET status = 'DELETED', updated_at = now()
      WHERE status = 'STAGED' AND raw_data_file_id IS NOT NULL AND starts_with(path, ${prefix})`
  })
