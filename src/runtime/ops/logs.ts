import type { SqlClient, SqlError } from "@effect/sql"
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { LogUnavailable, type UnknownRun } from "./errors.ts"
import { findRun, type RunSummary } from "./run-row.ts"

/*
 * `ccat logs`: a run's standard output or error, as its job wrote them into the run folder
 * (`<run_dir>/logs/stdout.txt` and `stderr.txt`, src/runtime/execution/run-folders.ts). The
 * folder is fixed when the run is first staged; before that there is nothing to show. The files
 * are read from this machine: on a cluster, run the command where the run folders are mounted.
 */

export type LogStream = "stdout" | "stderr"

export interface RunLog {
  readonly run: RunSummary
  readonly path: string
  readonly text: string
}

export const logPath = (runDir: string, stream: LogStream): string => join(runDir, "logs", `${stream}.txt`)

export const readRunLog = (
  runId: number,
  stream: LogStream
): Effect.Effect<RunLog, UnknownRun | LogUnavailable | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const run = yield* findRun(runId)
    if (run.runDir === null) {
      return yield* new LogUnavailable({
        runId,
        detail: `has no folder yet (it is ${run.status}${run.status === "PENDING" ? " and not staged" : ""}): there are no logs to show`
      })
    }
    const path = logPath(run.runDir, stream)
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (e) => {
        const code = (e as NodeJS.ErrnoException).code
        return new LogUnavailable({
          runId,
          detail:
            code === "ENOENT"
              ? `has no ${stream} yet: ${path} does not exist (the run is ${run.status})`
              : `has a ${stream} file that cannot be read: ${path} (${code ?? String(e)})`
        })
      }
    })
    return { run, path, text }
  })
