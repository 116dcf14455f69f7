import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { installationId } from "../src/db/installation.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { SlurmBackendLive } from "../src/runtime/backends/slurm-backend.ts"
import { jobIdentity } from "../src/runtime/execution/job-identity.ts"
import { serve } from "../src/runtime/serve/serve.ts"
import { ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { testDatabase } from "./support/databases.ts"
import { testExecutionConfig } from "./support/execution.ts"
import { scratchDirs } from "./support/scratch.ts"
import { repoRoot } from "./support/workspace.ts"

// Two ops-dbs share the one-node Slurm cluster, as a production database and a staging one (or
// a colleague's test) would: same pipelines, same run ids (both start at 1), same user. Every
// `sbatch` answers too late: the job is submitted, then the command hangs past the backend's
// timeout, so each run is left marked without its job id and must be found again by name. A
// slow controller cannot be made on purpose here, so the hang is injected at ccat's side (a
// wrapper the backend runs its Slurm commands through); the jobs, the queue and accounting are
// the real cluster's.

const slurmUp = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8" })
if (slurmUp.status !== 0) throw new Error("Slurm is not running here: run `bash scripts/slurm-up.sh` first (CI does)")

const tempDir = scratchDirs("ccat-shared")

const workspace = (state: string) => {
  const text = readFileSync(join(repoRoot, "test", "fixtures", "execution", "integrity.ccat"), "utf8")
    .replace("backend local { max_parallel 2 }", 'backend slurm { partition "debug" }')
    .replace("retries 1", "retries 1\n    resources { cpus 1  memory 128MiB  time 10m }")
    .replace(
      'config { mode = "good"  state = "STATE"  bytes = 1024 }',
      `config { mode = "good"  state = ${JSON.stringify(state)}  bytes = 1024 }`
    )
  const result = compileSources([{ path: "shared.ccat", text }])
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("\n"))
  return result.ir
}

/** Runs a Slurm command; after sbatch, hangs (its output already written) far past the backend's timeout. */
const slowSbatch = (dir: string): string => {
  const path = join(dir, "slow-sbatch")
  writeFileSync(
    path,
    ["#!/bin/sh", '"$@"', "rc=$?", 'if [ "$1" = sbatch ]; then sleep 60 </dev/null >/dev/null 2>&1; fi', 'exit "$rc"', ""].join("\n")
  )
  chmodSync(path, 0o755)
  return path
}

describe("two databases on one shared Slurm cluster", () => {
  const wrapper = slowSbatch(tempDir("wrapper"))
  const database = (name: string) => {
    const baseDir = tempDir(`runs-${name}`)
    const config = testExecutionConfig(baseDir, {
      submitInterval: Duration.millis(500),
      collectInterval: Duration.seconds(1),
      lostGrace: Duration.minutes(5),
      retryBackoff: Duration.millis(200),
      maxParallel: null
    })
    const backend = SlurmBackendLive({ partition: "debug", commandPrefix: [wrapper], commandTimeoutMs: 3_000 }).pipe(
      Layer.provideMerge(BackendCallsLive)
    )
    return { name, config, layer: Layer.mergeAll(testDatabase("postgres"), NodeContext.layer, backend, ServeStateLive) }
  }
  const databases = [database("production"), database("staging")]

  layer(NodeContext.layer, { timeout: 600_000, excludeTestServices: true })((it) => {
    it.effect(
      "with overlapping run ids and sbatch timing out after submitting (hang injected at ccat's side): every run ran its own program exactly once, and neither database adopted the other's job",
      () =>
        Effect.gen(function* () {
          const states = databases.map((d) => tempDir(`state-${d.name}`))
          // Both at once: each seeds, applies and serves until idle on its own database.
          const outcomes = yield* Effect.all(
            databases.map((d, i) =>
              Effect.gen(function* () {
                const sql = yield* SqlClient.SqlClient
                yield* seedDemo({ archiveDir: tempDir(`archive-${d.name}`) })
                yield* applyWorkspace(workspace(states[i]!), { createdBy: "test" })
                yield* serve({ execution: d.config, triggerInterval: Duration.seconds(1), httpPort: null, exitWhenIdle: true }).pipe(
                  Effect.timeout(Duration.minutes(6)),
                  Logger.withMinimumLogLevel(LogLevel.Error)
                )
                const runs = yield* sql<{
                  id: string
                  status: string
                  attempt: number
                  backend_job_id: string
                  adopted: number
                  not_adopted: number
                }>`
                  SELECT r.id, r.status, r.attempt, r.backend_job_id,
                    (SELECT count(*)::int FROM run_event e WHERE e.run_id = r.id AND e.reason LIKE 'adopted %') AS adopted,
                    (SELECT count(*)::int FROM run_event e WHERE e.run_id = r.id AND e.reason LIKE 'NOT_ADOPTED:%') AS not_adopted
                  FROM executed_reduction_step r ORDER BY r.id`
                return { installation: (yield* installationId)!, runs }
              }).pipe(Effect.provide(d.layer))
            ),
            { concurrency: "unbounded" }
          )
          const [production, staging] = outcomes as [(typeof outcomes)[number], (typeof outcomes)[number]]
          expect(production.installation).not.toBe(staging.installation)
          // The same run ids on both.
          expect(production.runs.map((r) => r.id)).toEqual(staging.runs.map((r) => r.id))
          expect(production.runs.length).toBe(2)

          const jobOwners = new Map<string, string>()
          for (const [i, o] of outcomes.entries()) {
            for (const run of o.runs) {
              // Every sbatch "timed out": each run was found again by name, and adopted, in its first attempt.
              expect(run).toMatchObject({ status: "COMPLETED", attempt: 1, adopted: 1, not_adopted: 0 })
              jobOwners.set(run.backend_job_id, `${o.installation}:${run.id}`)
            }
            // Each run's own program ran exactly once, as its own job.
            const invocations = readFileSync(join(states[i]!, "invocations"), "utf8").trim().split("\n").sort()
            expect(invocations).toEqual(o.runs.map((r) => `${jobIdentity(o.installation, Number(r.id), 1).name} ${r.id} good`).sort())
          }
          // Four runs, four distinct jobs; Slurm's own record of each job names its database and run.
          expect(jobOwners.size).toBe(4)
          const accounted = execFileSync("sacct", ["-n", "-P", "-X", "-o", "JobID,Comment", "-j", [...jobOwners.keys()].join(",")], {
            encoding: "utf8"
          })
            .trim()
            .split("\n")
            .map((line) => line.split("|") as [string, string])
          expect(accounted).toHaveLength(4)
          for (const [jobId, comment] of accounted) {
            const [installation, runId] = jobOwners.get(jobId)!.split(":")
            expect(comment).toBe(jobIdentity(installation!, Number(runId), 1).comment)
          }
        }),
      600_000
    )
  })
})
