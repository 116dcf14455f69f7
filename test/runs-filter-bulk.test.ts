import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { cancelCommand } from "../src/cli/cancel-command.ts"
import { retryCommand } from "../src/cli/retry-command.ts"
import { Confirmation } from "../src/cli/confirmation.ts"
import { runsCommand } from "../src/cli/runs-command.ts"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { cancelRuns, runsMatching } from "../src/runtime/ops/bulk-runs.ts"
import type { BackendAccess } from "../src/runtime/ops/cancel.ts"
import { everyRun, listRuns, listRunsPage, type RunFilter, type RunPage } from "../src/runtime/ops/list-runs.ts"
import { runDetail } from "../src/runtime/ops/run-detail.ts"
import { runCaptured } from "./support/cli-capture.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { opsWorkspace } from "./support/ops-workspace.ts"
import { completeRun, failRun, inFlightRunsOf, productChecksum } from "./support/runs.ts"

// Runs by filter, a page at a time (listRunsPage, `ccat runs`), one run's page (runDetail), and
// cancel and retry of every run a filter matches (`ccat cancel|retry --pipeline …`), on both
// databases. The state is made by the real trigger and moved on with test/support/runs.ts; the
// tests share one database and run in order, each on the state the one before left.

const scratch: Array<string> = []
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})

/** The CHAI definitions plus a two-step chain: 8 Orion-KL scans calibrated, then baselined. */
const workspace = opsWorkspace({ pipeline: "bulk_chain" })

type Cli = (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, SqlClient.SqlClient | NodeContext.NodeContext>
const cli = <N extends string, R, E, A>(command: Command.Command<N, R, E, A>, name: string) =>
  Command.run(command, { name: `ccat ${name}`, version: "test" }) as unknown as Cli
const commands = { runs: cli(runsCommand, "runs"), cancel: cli(cancelCommand, "cancel"), retry: cli(retryCommand, "retry") }

/** A person at a terminal who answers `answer`, or (null) no terminal at all. */
const confirmation = (answer: "y" | "n" | null) => ({
  interactive: () => answer !== null,
  ask: (question: string) => Effect.sync(() => (asked.push(question), answer === "y"))
})
const asked: Array<string> = []

const ccat = (name: keyof typeof commands, args: ReadonlyArray<string>, answer: "y" | "n" | null = null) =>
  runCaptured(commands[name], args).pipe(
    Effect.provideService(Confirmation, confirmation(answer)),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CCAT_USER", "bulk-tester"]])))
  )

const filter = (f: Partial<RunFilter>): RunFilter => ({ ...everyRun(50), ...f })
const ids = (runs: ReadonlyArray<{ readonly id: number }>) => runs.map((r) => r.id)

/** Every run's id and status, newest first, as the database has them. */
const allRuns = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ id: string; status: string }>`SELECT id, status FROM executed_reduction_step ORDER BY id DESC`.pipe(
    Effect.map((rows) => rows.map((r) => ({ id: Number(r.id), status: r.status })))
  )
)

for (const backend of testBackends) {
  describe(`runs by filter, run detail, bulk cancel and retry on ${backend}`, () => {
    layer(Layer.merge(testDatabase(backend), NodeContext.layer), { timeout: 180_000, excludeTestServices: true })((it) => {
      it.effect("pages of runs cover every run exactly once, newest first; the CLI's --json gives the same cursor", () =>
        Effect.gen(function* () {
          const archiveDir = mkdtempSync(join(tmpdir(), "ccat-bulk-"))
          scratch.push(archiveDir)
          yield* seedDemo({ archiveDir })
          const compiled = compileSources(workspace)
          expect(compiled.ir).toBeDefined()
          yield* applyWorkspace(compiled.ir!, { createdBy: "test" })
          // 8 calibrations complete (one product each); of the 8 baselines, 5 complete and 3 fail for good.
          yield* evaluatePass({})
          for (const r of yield* inFlightRunsOf("bulk_chain", "calibrate"))
            yield* completeRun(r.id, [{ type: "INTERMEDIATE", path: "workspace/calibrated.fits" }])
          yield* evaluatePass({})
          const baselines = yield* inFlightRunsOf("bulk_chain", "baseline")
          expect(baselines).toHaveLength(8)
          for (const [i, r] of baselines.entries()) {
            if (i < 5) yield* completeRun(r.id)
            else yield* failRun(r.id, { final: true, reason: "EXIT_CODE 2" })
          }

          const everyId = ids(yield* allRuns)
          expect(everyId).toHaveLength(16)
          const seen: Array<number> = []
          let before: number | null = null
          let pages = 0
          do {
            const page: RunPage = yield* listRunsPage(filter({ limit: 3, before }))
            expect(page.runs.length).toBeLessThanOrEqual(3)
            seen.push(...ids(page.runs))
            before = page.nextCursor
            pages++
          } while (before !== null)
          expect(seen).toEqual(everyId)
          expect(pages).toBe(6)
          // Exactly a page's worth left: the last full page says there is no next one.
          expect((yield* listRunsPage(filter({ limit: 4, before: everyId[11]! }))).nextCursor).toBeNull()

          const first = JSON.parse((yield* ccat("runs", ["--limit", "5", "--json"])).stdout) as {
            runs: Array<{ id: number }>
            nextCursor: number | null
          }
          expect(first.nextCursor).toBe(everyId[4])
          const second = JSON.parse((yield* ccat("runs", ["--limit", "5", "--before", String(first.nextCursor), "--json"])).stdout) as {
            runs: Array<{ id: number }>
            filter: { before: number }
          }
          expect(second.filter.before).toBe(everyId[4])
          expect(ids(second.runs)).toEqual(everyId.slice(5, 10))
          const table = yield* ccat("runs", ["--limit", "5", "--before", `run-${everyId[4]}`])
          expect(table.stdout.split("\n").at(-1)).toBe(`(5 shown; --before ${everyId[9]} shows older ones)`)
        })
      )

      it.effect(
        "each filter narrows: status, pipeline and step, sub-group, reason, creation time; unknown names and bad values refused",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const every = yield* allRuns
            // Creation times an hour apart, oldest run first, so time windows select known runs.
            yield* sql`
            UPDATE executed_reduction_step r SET created_at = timestamptz '2026-03-01T00:00:00Z' + x.n * interval '1 hour'
            FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM executed_reduction_step) x WHERE x.id = r.id`

            const failed = yield* listRuns(filter({ status: "FAILED" }))
            expect(ids(failed)).toEqual(ids(every.filter((r) => r.status === "FAILED")))
            expect(failed).toHaveLength(3)
            const baselines = yield* listRuns(filter({ pipeline: "bulk_chain", step: "baseline" }))
            expect(baselines).toHaveLength(8)
            expect(baselines.every((r) => r.step === "baseline" && r.reason === "UPSTREAM_CHANGED")).toBe(true)
            expect(ids(yield* listRuns(filter({ reason: "UPSTREAM_CHANGED" })))).toEqual(ids(baselines))
            const oneSubGroup = yield* listRuns(filter({ subGroupKey: baselines[0]!.subGroupKey }))
            expect(oneSubGroup.map((r) => `${r.step} ${r.subGroupKey}`).sort()).toEqual([
              `baseline ${baselines[0]!.subGroupKey}`,
              `calibrate ${baselines[0]!.subGroupKey}`
            ])
            expect(yield* listRuns(filter({ pipeline: "bulk_chain", step: "baseline", status: "COMPLETED", limit: 2 }))).toHaveLength(2)

            // Hours 2, 3 and 4 after the oldest run: since is inclusive, until exclusive.
            const window = yield* listRuns(filter({ since: new Date("2026-03-01T02:00:00Z"), until: new Date("2026-03-01T05:00:00Z") }))
            expect(ids(window)).toEqual(ids(every).slice(-5, -2))
            const viaCli = JSON.parse(
              (yield* ccat("runs", ["--since", "2026-03-01T02:00", "--until", "2026-03-01 05:00Z", "--json"])).stdout
            ) as {
              filter: { since: string; until: string }
              runs: Array<{ id: number }>
            }
            expect(viaCli.filter).toMatchObject({ since: "2026-03-01T02:00:00.000Z", until: "2026-03-01T05:00:00.000Z" })
            expect(ids(viaCli.runs)).toEqual(ids(window))
            expect(JSON.parse((yield* ccat("runs", ["--sub-group", "nowhere", "--reason", "NEW_DATA", "--json"])).stdout).runs).toEqual([])

            expect(yield* Effect.flip(listRuns(filter({ pipeline: "bulk_chian" })))).toMatchObject({
              _tag: "UnknownName",
              kind: "pipeline",
              known: ["bulk_chain", "chai_dev"]
            })
            expect(yield* Effect.flip(listRuns(filter({ pipeline: "bulk_chain", step: "map" })))).toMatchObject({
              _tag: "UnknownName",
              kind: "step",
              known: ["baseline", "calibrate"]
            })
            const badDate = yield* ccat("runs", ["--since", "2026-02-30"])
            expect(badDate.code).toBe(2)
            expect(badDate.stderr.split("\n")).toEqual([
              "error: --since expects a time in ISO 8601 (2026-05-01, 2026-05-01T12:00Z), got `2026-02-30`",
              expect.stringMatching(/^usage: ccat runs /)
            ])
            expect((yield* ccat("runs", ["--until", "yesterday"])).code).toBe(2)
            const badCursor = yield* ccat("runs", ["--before", "abc"])
            expect(badCursor.code).toBe(2)
            expect(badCursor.stderr).toContain("error: --before expects a run id (a positive whole number), got `abc`")
          })
      )

      it.effect("runDetail: a completed run's history, inputs (raw package or upstream product) and products; unknown run", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const [baseline] = yield* listRuns(filter({ step: "baseline", status: "COMPLETED", limit: 1 }))
          const [calibration] = yield* listRuns(filter({ step: "calibrate", subGroupKey: baseline!.subGroupKey }))
          yield* sql`UPDATE executed_reduction_step SET exit_code = 0, wall_seconds = 12.5, peak_memory_bytes = 1073741824, backend = 'local'
            WHERE id = ${baseline!.id}`

          const detail = yield* runDetail(baseline!.id)
          expect(detail.run).toEqual(baseline)
          expect(detail.events.map((e) => [e.from, e.to])).toEqual([
            [null, "PENDING"],
            ["PENDING", "COMPLETED"]
          ])
          const [calibrated] = (yield* runDetail(calibration!.id)).products
          expect(calibrated).toMatchObject({ type: "INTERMEDIATE", relativePath: "workspace/calibrated.fits", sizeBytes: 1 })
          expect(detail.inputs).toEqual([
            {
              kind: "product",
              id: calibrated!.id,
              relativePath: "workspace/calibrated.fits",
              type: "INTERMEDIATE",
              runId: calibration!.id,
              checksum: productChecksum(calibration!.id, "workspace/calibrated.fits")
            }
          ])
          expect(detail.products).toEqual([
            {
              id: expect.any(Number),
              type: "SCIENCE",
              relativePath: "science/out.fits",
              sizeBytes: 1,
              checksum: productChecksum(baseline!.id, "science/out.fits"),
              createdAt: expect.any(Date)
            }
          ])
          expect(detail.metrics).toEqual({ exitCode: 0, wallSeconds: 12.5, cpuHours: null, peakMemoryBytes: 1073741824, submittedAt: null })
          expect(detail.job).toEqual({ backend: "local", name: null, id: null, location: "local" })
          expect(detail.config).toEqual({ order: 3, despike_sigma: 5 })
          expect(detail.image).toEqual(expect.any(String))
          expect(detail.attempts).toBe(1)

          const [pkg] = (yield* runDetail(calibration!.id)).inputs
          expect(pkg).toMatchObject({ kind: "package", name: expect.any(String) })
          const [stored] = yield* sql<{ name: string; checksum: string | null }>`
            SELECT p.name, i.checksum FROM run_input i JOIN raw_data_package p ON p.id = i.raw_data_package_id WHERE i.run_id = ${calibration!.id}`
          expect(pkg).toMatchObject(stored!)
          expect(yield* Effect.flip(runDetail(999_999))).toMatchObject({ _tag: "UnknownRun", runId: 999_999 })
        })
      )

      it.effect(
        "bulk retry asks first: off a terminal it needs --yes (exit 2), a 'no' changes nothing; a run id with filters is a usage error",
        () =>
          Effect.gen(function* () {
            const before = yield* allRuns
            const failed = ids(before.filter((r) => r.status === "FAILED"))

            const unattended = yield* ccat("retry", ["--pipeline", "bulk_chain"])
            expect(unattended.code).toBe(2)
            expect(unattended.stdout).toBe(`3 runs match (FAILED): ${failed.join(", ")}`)
            expect(unattended.stderr.split("\n")).toEqual([
              "error: standard input is not a terminal, so ccat cannot ask: pass --yes to retry 3 runs",
              "usage: ccat retry <run> | ccat retry [--pipeline P] [--step S] [--status S] [--yes]"
            ])
            const declined = yield* ccat("retry", ["--pipeline", "bulk_chain"], "n")
            expect(declined.code).toBe(1)
            expect(declined.stdout.split("\n").at(-1)).toBe("Nothing retried.")
            expect(asked.at(-1)).toBe("Retry 3 runs? [y/N] ")

            expect((yield* ccat("retry", [String(failed[0]), "--pipeline", "bulk_chain"])).code).toBe(2)
            expect((yield* ccat("cancel", [])).stderr).toContain("error: name a run, or choose runs with --pipeline, --step or --status")
            const notRetryable = yield* ccat("retry", ["--status", "RUNNING", "--yes"])
            expect(notRetryable.code).toBe(2)
            expect(notRetryable.stderr).toContain("error: `ccat retry --status` takes FAILED or CANCELLED, got `RUNNING`")
            expect((yield* ccat("cancel", ["--pipeline", "bulk_chian", "--yes"])).stderr).toBe(
              "error: no pipeline `bulk_chian`; did you mean `bulk_chain`? (known: bulk_chain, chai_dev)"
            )
            expect(yield* allRuns).toEqual(before)
          })
      )

      it.effect("bulk retry with --yes: every FAILED run of the pipeline is PENDING again, a line each and a summary", () =>
        Effect.gen(function* () {
          const failed = ids((yield* allRuns).filter((r) => r.status === "FAILED"))
          const retried = yield* ccat("retry", ["--pipeline", "bulk_chain", "--yes"])
          expect(retried.code).toBe(0)
          const lines = retried.stdout.split("\n")
          expect(lines[0]).toBe(`3 runs match (FAILED): ${failed.join(", ")}`)
          expect(lines.slice(1, 4)).toEqual(
            failed.map((id) =>
              expect.stringMatching(new RegExp(`^Run ${id} \\(bulk_chain\\.baseline .+\\) is PENDING again \\(was FAILED; attempt 2\\)`))
            )
          )
          expect(lines.at(-1)).toBe("Retried 3 of 3 runs.")
          const now = yield* allRuns
          expect(now.filter((r) => failed.includes(r.id)).map((r) => r.status)).toEqual(["PENDING", "PENDING", "PENDING"])
          expect(yield* ccat("retry", ["--pipeline", "bulk_chain", "--yes"])).toEqual({
            code: 0,
            stdout: "No runs match (FAILED).",
            stderr: ""
          })
        })
      )

      it.effect("bulk cancel of PENDING runs by step; one run that cannot be cancelled is reported and stops no other", () =>
        Effect.gen(function* () {
          const pending = ids((yield* allRuns).filter((r) => r.status === "PENDING"))
          expect(pending).toHaveLength(3)
          const cancelled = yield* ccat("cancel", ["--step", "baseline", "--status", "pending", "--reason", "wrong table"], "y")
          expect(cancelled.code).toBe(0)
          expect(cancelled.stdout.split("\n")).toEqual([
            `3 runs match (PENDING): ${pending.join(", ")}`,
            ...pending.map((id) => `Cancelled run ${id} (was PENDING, no backend job).`),
            "Cancelled 3 of 3 runs."
          ])
          expect(asked.at(-1)).toBe("Cancel 3 runs? [y/N] ")
          const sql = yield* SqlClient.SqlClient
          const events = yield* sql<{ run_id: string; reason: string }>`
            SELECT run_id, reason FROM run_event WHERE to_status = 'CANCELLED' ORDER BY run_id DESC`
          expect(events.map((e) => [Number(e.run_id), e.reason])).toEqual(
            pending.map((id) => [id, "CANCEL requested by bulk-tester: wrong table"])
          )

          // Straight through the operation: a COMPLETED run among cancellable ones.
          const cancelledRuns = yield* runsMatching({ pipeline: "bulk_chain", step: null, status: ["CANCELLED"] }, 10)
          const retried = yield* ccat("retry", ["--status", "CANCELLED", "--yes"])
          expect(retried.code).toBe(0)
          const [completed] = yield* runsMatching({ pipeline: null, step: "calibrate", status: "COMPLETED" }, 1)
          const noBackend: BackendAccess = { use: () => Effect.dieMessage("no run here has a job") }
          const outcomes = yield* cancelRuns(
            [cancelledRuns[0]!, completed!, cancelledRuns[1]!],
            { actor: "ops", reason: null, now: new Date() },
            noBackend
          )
          expect(outcomes).toEqual([
            { runId: cancelledRuns[0]!.id, ok: true, outcome: expect.objectContaining({ from: "PENDING", job: null }) },
            { runId: completed!.id, ok: false, code: "NotCancellable", error: `run ${completed!.id} is COMPLETED; nothing to cancel` },
            { runId: cancelledRuns[1]!.id, ok: true, outcome: expect.objectContaining({ from: "PENDING", job: null }) }
          ])
        })
      )
    })
  })
}
