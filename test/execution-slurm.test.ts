import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { SlurmBackendLive } from "../src/runtime/backends/slurm-backend.ts"
import { submitCycle } from "../src/runtime/execution/submit-loop.ts"
import { backendOfJobPlace } from "../src/cli/backend-layer.ts"
import { cancelRun } from "../src/runtime/ops/cancel.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { serve } from "../src/runtime/serve/serve.ts"
import { ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { testDatabase } from "./support/databases.ts"
import { compileExecution, demoPrograms, executionFixture, testExecutionConfig } from "./support/execution.ts"
import { rawPackagesBehind } from "./support/lineage.ts"
import { scratchDirs } from "./support/scratch.ts"

// The run life cycle on the real one-node Slurm cluster (scripts/slurm-up.sh), on PostgreSQL:
// DR21's scans through calibrate → baseline → map as batch jobs; products whose checksums
// sha256sum agrees with, lineage to every raw package; a failing program retried then FAILED
// with its exit code; `ccat cancel` cancels the Slurm job.

const slurmUp = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8" })
if (slurmUp.status !== 0) throw new Error("Slurm is not running here: run `bash scripts/slurm-up.sh` first (CI does)")

const tempDir = scratchDirs("ccat-slurm")

// The fixture's location, as a Slurm one; tiny resources so that the one node runs several jobs.
const fixture = executionFixture
  .replace("backend local { max_parallel 2 }", 'backend slurm { partition "debug" }')
  .replaceAll("config {", "resources { cpus 1  memory 256MiB  time 10m }\n    config {")
const compile = (edit: (text: string) => string = (t) => t) => compileExecution(edit(fixture), "slurm.ccat")

describe("execution on the real Slurm cluster", () => {
  const baseDir = tempDir("runs")
  // Slower loops than on the local backend: sbatch and squeue answer in their own time.
  const config = testExecutionConfig(baseDir, {
    backend: "slurm",
    softwarePath: [demoPrograms],
    submitInterval: Duration.millis(500),
    collectInterval: Duration.seconds(1),
    lostGrace: Duration.minutes(5),
    retryBackoff: Duration.millis(200),
    maxParallel: null
  })
  const backend = SlurmBackendLive({ partition: "debug" }).pipe(Layer.provideMerge(BackendCallsLive))
  const layers = Layer.mergeAll(testDatabase("postgres"), NodeContext.layer, backend, ServeStateLive)
  const serveUntilIdle = serve({ execution: config, triggerInterval: Duration.seconds(1), httpPort: null, exitWhenIdle: true }).pipe(
    Effect.timeout(Duration.minutes(8)),
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )

  layer(layers, { timeout: 180_000, excludeTestServices: true })((it) => {
    it.effect(
      "the chain runs to COMPLETED as batch jobs; sha256sum agrees with every product; the map's lineage names every scan",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seedDemo({ archiveDir: tempDir("archive") })
          yield* applyWorkspace(compile(), { createdBy: "test" })
          yield* serveUntilIdle
          const runs = yield* sql<{ step: string; status: string; backend_job_id: string; exit_code: number; wall_seconds: number | null }>`
            SELECT s.name AS step, r.status, r.backend_job_id, r.exit_code, r.wall_seconds
            FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id ORDER BY r.id`
          expect(runs.map((r) => [r.step, r.status, r.exit_code])).toEqual([
            ["calibrate", "COMPLETED", 0],
            ["calibrate", "COMPLETED", 0],
            ["baseline", "COMPLETED", 0],
            ["baseline", "COMPLETED", 0],
            ["map", "COMPLETED", 0]
          ])
          expect(runs.every((r) => /^\d+$/.test(r.backend_job_id))).toBe(true)
          // sacct knows exactly one job per run.
          // slurmdbd records a job's name a moment after the job: until then sacct says "allocation".
          const sacctNames = () =>
            execFileSync("sacct", ["-n", "-X", "-P", "-o", "JobName", "-j", runs.map((r) => r.backend_job_id).join(",")], {
              encoding: "utf8"
            })
              .trim()
              .split("\n")
          let names = sacctNames()
          for (let waited = 0; waited < 40 && names.includes("allocation"); waited++) {
            // A real pause: it.effect runs on the test clock.
            yield* Effect.promise(() => new Promise((r) => setTimeout(r, 500)))
            names = sacctNames()
          }
          expect(names.sort()).toEqual([...new Set(names)].sort())
          expect(names.length).toBe(runs.length)

          const products = yield* sql<{ run_dir: string; relative_path: string; checksum: string }>`
            SELECT r.run_dir, p.relative_path, p.checksum FROM data_product p JOIN executed_reduction_step r ON r.id = p.run_id ORDER BY p.id`
          expect(products.length).toBeGreaterThan(10)
          const files = products.map((p) => join(p.run_dir, p.relative_path))
          const sums = execFileSync("sha256sum", files, { encoding: "utf8" })
            .trim()
            .split("\n")
            .map((line) => line.split(/\s+/)[0])
          expect(sums).toEqual(products.map((p) => p.checksum))

          const covered = (yield* sql<{ id: string }>`
            SELECT c.raw_data_package_id::text AS id FROM run_coverage c JOIN executed_reduction_step r ON r.id = c.run_id
              JOIN reduction_step s ON s.id = r.step_id WHERE s.name = 'map' ORDER BY 1`).map((r) => r.id)
          expect(yield* rawPackagesBehind("map")).toEqual(covered)
          // Job scripts and logs are in each run's log folder.
          const [one] = yield* sql<{ run_dir: string }>`SELECT run_dir FROM executed_reduction_step ORDER BY id LIMIT 1`
          expect(readFileSync(join(one!.run_dir, "logs", "stdout.txt"), "utf8")).toMatch(/^chai-calibrate: mode hot_cold/m)
        }),
      600_000
    )

    it.effect(
      "a program that exits non-zero on Slurm is retried `retries` times, then FAILED with its exit code",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          // The demo programs fail on purpose when this reaches them; the batch script exports the job's environment.
          yield* applyWorkspace(
            compile((t) =>
              t
                .replace("tsys_max_k = 4000", "tsys_max_k = 4300")
                .replace('calibration_mode = "hot_cold"', 'calibration_mode = "hot_cold_x"')
            ),
            { createdBy: "test" }
          )
          yield* serveUntilIdle
          const failed = yield* sql<{ status: string; retry_count: number; exit_code: number; failure_reason: string }>`
            SELECT status, retry_count, exit_code, failure_reason FROM executed_reduction_step WHERE reason = 'CONFIG_CHANGED' ORDER BY id`
          // An unknown mode is bad usage for chai-calibrate: exit 2, three attempts (retries 2).
          expect(failed).toEqual([
            { status: "FAILED", retry_count: 2, exit_code: 2, failure_reason: "EXIT_CODE 2" },
            { status: "FAILED", retry_count: 2, exit_code: 2, failure_reason: "EXIT_CODE 2" }
          ])
        }),
      600_000
    )

    it.effect(
      "cancelling a run cancels its Slurm job",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* applyWorkspace(
            compile((t) => t.replace("tsys_max_k = 4000", "tsys_max_k = 4400")),
            { createdBy: "test" }
          )
          yield* evaluatePass({})
          const [run] = yield* sql<{ id: string }>`SELECT id FROM executed_reduction_step WHERE status = 'PENDING' ORDER BY id LIMIT 1`
          // Submit it (and its sibling) with this run's program sleeping. The job's environment
          // is not the test's (Slurm commands run with a clean one), so the wish to sleep travels
          // in a wrapper found first on the software path: only the job in this run's folder sleeps.
          const slow = tempDir("slow-bin")
          const calibrate = join(demoPrograms, "chai-calibrate")
          writeFileSync(
            join(slow, "chai-calibrate"),
            `#!/bin/sh\ncase "$PWD" in */run-${run!.id}/*) sleep 120 ;; esac\nexec '${calibrate}' "$@"\n`,
            { mode: 0o755 }
          )
          yield* submitCycle({ ...config, softwarePath: [slow, ...config.softwarePath] })
          const [submitted] = yield* sql<{
            backend_job_id: string
          }>`SELECT backend_job_id FROM executed_reduction_step WHERE id = ${run!.id}`
          // As `ccat cancel` does it, with nothing in the environment saying "slurm": the run's
          // job went to the Slurm backend its location declares, and that is where it is cancelled.
          const access = yield* backendOfJobPlace.pipe(
            Effect.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["CCAT_DATA_DIR", tempDir("data")]]))))
          )
          const outcome = yield* cancelRun({ runId: Number(run!.id), actor: "test", reason: "testing cancel", now: new Date() }, access)
          const [recorded] = yield* sql<{ backend: string }>`SELECT backend FROM executed_reduction_step WHERE id = ${run!.id}`
          expect(recorded!.backend).toBe("slurm")
          expect(outcome.jobId).toBe(submitted!.backend_job_id)
          // Slurm reports the job cancelled.
          let state = ""
          for (let i = 0; i < 30 && !state.startsWith("CANCELLED"); i++) {
            yield* Effect.sleep(Duration.seconds(1))
            state = execFileSync("sacct", ["-n", "-X", "-P", "-o", "State", "-j", submitted!.backend_job_id], { encoding: "utf8" }).trim()
          }
          expect(state).toMatch(/^CANCELLED/)
          const [after] = yield* sql<{ status: string }>`SELECT status FROM executed_reduction_step WHERE id = ${run!.id}`
          expect(after!.status).toBe("CANCELLED")
          // The other one finishes normally.
          yield* serveUntilIdle
        }),
      600_000
    )
  })
})
