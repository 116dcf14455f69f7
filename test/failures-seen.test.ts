import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { backendLayerFor } from "../src/cli/backend-layer.ts"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { FailureCounters, makeFailureCounters } from "../src/runtime/execution/failure-counters.ts"
import { submitCycle } from "../src/runtime/execution/submit-loop.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { serveSites } from "../src/runtime/serve/serve.ts"
import { ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { testDatabase } from "./support/databases.ts"
import { freePort, testExecutionConfig } from "./support/execution.ts"
import { scratchDirs } from "./support/scratch.ts"
import { repoRoot } from "./support/workspace.ts"

// Failures are seen, and classified (issue 19): when Slurm refuses every submission (a step asks
// for more CPUs than any node has), each run fails at once with Slurm's own words, not after its
// retries; `serve` warns about each (run, step, sub-group, reason), /metrics counts them, and
// /healthz says degraded once the submit loop has failed every run it handled for 3 cycles. A
// submission turned away only for now (the submit rate) waits and is tried again, uncounted.

const slurmUp = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8" })
if (slurmUp.status !== 0) throw new Error("Slurm is not running here: run `bash scripts/slurm-up.sh` first (CI does)")

const tempDir = scratchDirs("ccat-failures")

const workspace = (backend: string, resources: string, mode: string) => {
  const text = readFileSync(join(repoRoot, "test", "fixtures", "execution", "integrity.ccat"), "utf8")
    .replace("backend local { max_parallel 2 }", backend)
    // Every CHAI scan: enough runs for several submit cycles of one run each.
    .replace(' and Source.name == "DR21"', "")
    .replace("retries 1", `retries 2\n    resources { ${resources} }`)
    .replace('mode = "good"', `mode = "${mode}"`)
  const result = compileSources([{ path: "failures.ccat", text }])
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("\n"))
  return result.ir
}

describe("failures are seen and classified, on the real Slurm cluster", () => {
  const baseDir = tempDir("runs")
  const config = testExecutionConfig(baseDir, {
    location: "here",
    submitInterval: Duration.millis(200),
    collectInterval: Duration.seconds(1),
    lostGrace: Duration.minutes(5),
    maxParallel: null,
    submitBatch: 1
  })

  layer(Layer.mergeAll(testDatabase("postgres"), NodeContext.layer), { timeout: 180_000, excludeTestServices: true })((it) => {
    it.effect(
      "every sbatch refused: each run fails at once with Slurm's message, serve warns about each, /metrics counts them, /healthz says degraded",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seedDemo({ archiveDir: tempDir("archive") })
          yield* applyWorkspace(workspace('backend slurm { partition "debug" }', "cpus 64  memory 64MiB  time 5m", "refused"), {
            createdBy: "test"
          })
          const warnings: Array<string> = []
          const capture = Logger.make(({ logLevel, message }) => {
            if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning))
              warnings.push(String(Array.isArray(message) ? message.join(" ") : message))
          })
          const counters = yield* makeFailureCounters
          const port = yield* freePort
          const site = { location: "here", backend: backendLayerFor("slurm", config, { partition: "debug" }) }
          const serving = yield* serveSites(
            { execution: config, triggerInterval: Duration.millis(500), httpPort: port, exitWhenIdle: false },
            [site]
          ).pipe(
            Effect.provide(Layer.mergeAll(BackendCallsLive, ServeStateLive, Logger.replace(Logger.defaultLogger, capture))),
            Effect.provideService(FailureCounters, counters),
            Effect.fork
          )
          const health = yield* Effect.promise(async () => {
            for (let i = 0; i < 600; i++) {
              const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null)
              if (r !== null) {
                const body = (await r.json()) as { status: string; failing: Array<string> }
                if (body.failing.length > 0) return { code: r.status, body }
              }
              await new Promise((ok) => setTimeout(ok, 100))
            }
            return null
          })
          expect(health).toMatchObject({ code: 503, body: { status: "degraded", failing: ["submit"] } })
          const metrics = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
          yield* Fiber.interrupt(serving)

          const failed = yield* sql<{ id: string; sub_group_key: string; status: string; retry_count: number; failure_reason: string }>`
          SELECT id, sub_group_key, status, retry_count, failure_reason FROM executed_reduction_step WHERE status = 'FAILED' ORDER BY id`
          expect(failed.length).toBeGreaterThanOrEqual(3)
          for (const run of failed) {
            // At once: retries 2 do not apply to a refusal that asking again cannot change.
            expect(run).toMatchObject({
              status: "FAILED",
              retry_count: 0,
              failure_reason: "SUBMIT_REJECTED: sbatch: error: Batch job submission failed: More processors requested than permitted"
            })
            expect(warnings).toContain(`run ${run.id} (integrity.reduce ${run.sub_group_key}) failed for good: ${run.failure_reason}`)
          }
          // /metrics as scraped while serving (more may have failed since), and the counts after.
          expect(
            Number(/ccat_submission_rejections_total\{location="here",kind="permanent"\} (\d+)/.exec(metrics)?.[1])
          ).toBeGreaterThanOrEqual(3)
          expect(
            Number(/ccat_run_failures_total\{pipeline="integrity",step="reduce",reason="SUBMIT_REJECTED"\} (\d+)/.exec(metrics)?.[1])
          ).toBeGreaterThanOrEqual(3)
          const counted = yield* counters.snapshot
          expect(counted.submissionRejections.get("here\u0000permanent")).toBe(failed.length)
          expect(counted.runFailures.get("integrity\u0000reduce\u0000SUBMIT_REJECTED")).toBe(failed.length)
        })
    )

    it.effect("a submission turned away for now (the submit rate) waits, uncounted, and is tried again", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* applyWorkspace(workspace('backend slurm { partition "debug"  submit_rate 1 }', "cpus 1  memory 64MiB  time 5m", "good"), {
          createdBy: "test"
        })
        yield* evaluatePass({})
        const counters = yield* makeFailureCounters
        const backend = backendLayerFor("slurm", config, { partition: "debug", submit_rate: 1 }).pipe(Layer.provide(BackendCallsLive))
        const cycle = (n: number) => submitCycle({ ...config, submitBatch: n }).pipe(Effect.provideService(FailureCounters, counters))
        // One backend for both cycles: the first takes the only token, the second finds none.
        const [first, second] = yield* Effect.all([cycle(1), cycle(1)]).pipe(Effect.provide(backend))
        expect(first).toMatchObject({ submitted: 1 })
        expect(second).toMatchObject({ submitted: 0, failed: 0, waiting: 1 })
        const [deferred] = yield* sql<{
          status: string
          retry_count: number
          attempt: number
          job_name: string | null
          submit_deferrals: number
          wait: number
        }>`
          SELECT status, retry_count, attempt, job_name, submit_deferrals, extract(epoch FROM lease_until - now())::float8 AS wait
          FROM executed_reduction_step WHERE submit_deferrals > 0`
        // Not submitted, so not marked: the next try stages the same attempt again.
        expect(deferred).toMatchObject({ status: "STAGING_DATA", retry_count: 0, attempt: 0, job_name: null, submit_deferrals: 1 })
        expect(deferred!.wait).toBeGreaterThan(0)
        expect((yield* counters.snapshot).submissionRejections.get("here\u0000transient")).toBe(1)
        const [events] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM run_event WHERE to_status = 'FAILED'`
        expect(events!.n).toBe(
          (yield* sql<{
            n: number
          }>`SELECT count(*)::int AS n FROM executed_reduction_step WHERE failure_reason LIKE 'SUBMIT_REJECTED%'`)[0]!.n
        )
      })
    )
  })
})
