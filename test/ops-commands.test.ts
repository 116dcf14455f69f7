import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { cancelCommand, cancelCommandWithBackend } from "../src/cli/cancel-command.ts"
import { lineageCommand } from "../src/cli/lineage-command.ts"
import { logsCommand } from "../src/cli/logs-command.ts"
import { retryCommand } from "../src/cli/retry-command.ts"
import { runsCommand } from "../src/cli/runs-command.ts"
import { statusCommand } from "../src/cli/status-command.ts"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { installationId } from "../src/db/installation.ts"
import {
  BackendUnavailable,
  ExecutionBackend,
  type ExecutionBackendService,
  type FoundJob
} from "../src/runtime/backends/execution-backend.ts"
import { jobIdentity } from "../src/runtime/execution/job-identity.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { utcMinutes } from "../src/runtime/ops/format.ts"
import { isOneInFlightViolation } from "../src/runtime/ops/retry.ts"
import { runCaptured } from "./support/cli-capture.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { opsWorkspace } from "./support/ops-workspace.ts"
import { completeRun, failRun, inFlightRunsOf, productChecksum, runsOf, type ProductSpec } from "./support/runs.ts"

// The operator commands (`ccat status`, `runs`, `logs`, `cancel`, `retry`, `lineage`) as a person
// uses them, on both database backends: their exact output and exit codes. The state is made by
// the real trigger (seedDemo, apply, evaluatePass) and moved on with plain SQL (test/support/runs.ts,
// plus the lineage edges the collect loop writes). Tests in a layer share one database and run in
// order: each builds on the state the one before left.

const scratch: Array<string> = []
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "ccat-ops-"))
  scratch.push(dir)
  return dir
}

/** The CHAI definitions plus a small continuous chain: 8 Orion-KL scans on the LFA, 2 cubes (CO43 from 7 scans, CI10 from 1). */
const workspace = opsWorkspace({ pipeline: "ops_chain", priority: 5, withMap: true })

type Cli = (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, SqlClient.SqlClient | NodeContext.NodeContext>
const run = <N extends string, R, E, A>(command: Command.Command<N, R, E, A>, name: string) =>
  Command.run(command, { name: `ccat ${name}`, version: "test" }) as unknown as Cli

const commands = {
  status: run(statusCommand, "status"),
  runs: run(runsCommand, "runs"),
  logs: run(logsCommand, "logs"),
  cancel: run(cancelCommand, "cancel"),
  retry: run(retryCommand, "retry"),
  lineage: run(lineageCommand, "lineage")
}

/** Runs a command with console captured and CCAT_USER=ops-tester. */
const ccatWith = (cli: Cli, args: ReadonlyArray<string>) =>
  runCaptured(cli, args).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CCAT_USER", "ops-tester"]]))))

const ccat = (name: keyof typeof commands, ...args: Array<string>) => ccatWith(commands[name], args)

/** A table as rows of cells (columns are separated by at least two spaces). */
const cells = (table: string): Array<Array<string>> => table.split("\n").map((l) => l.trim().split(/ {2,}/))

/** As the collect loop: the run COMPLETED with these products, and their lineage from the run's inputs. */
const finish = (runId: number, products: ReadonlyArray<ProductSpec>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* completeRun(runId, products)
    yield* sql`
      INSERT INTO data_product_lineage (product_id, parent_product_id, raw_data_package_id)
      SELECT p.id, i.data_product_id, i.raw_data_package_id FROM data_product p JOIN run_input i ON i.run_id = p.run_id
      WHERE p.run_id = ${runId} AND p.product_type <> 'LOG'`
  })

const stepIdOf = (step: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ id: string }>`
      SELECT s.id FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id WHERE p.name = 'ops_chain' AND s.name = ${step}`
    return Number(row!.id)
  })

let inserted = 0

/** A run put straight into the table, as a stand-in for states the loops reach. */
const insertRun = (step: string, key: string, status: string, extra: { readonly jobName?: string; readonly jobId?: string } = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const stepId = yield* stepIdOf(step)
    const [row] = yield* sql<{ id: string }>`
      INSERT INTO executed_reduction_step (step_id, sub_group_key, input_identity, fingerprint, status, reason, software_version, image, config, job_name, backend_job_id)
      VALUES (${stepId}, ${key}, ${`test-identity-${++inserted}`}, 'fp', ${status}, 'MANUAL', '1.2.3', 'img', '{}'::jsonb,
        ${extra.jobName ?? null}, ${extra.jobId ?? null})
      RETURNING id`
    return Number(row!.id)
  })

const statusOf = (runId: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{
      status: string
      retry_count: number
      job_name: string | null
      failure_reason: string | null
      finished_at: Date | null
    }>`
      SELECT status, retry_count, job_name, failure_reason, finished_at FROM executed_reduction_step WHERE id = ${runId}`
    return row!
  })

const lastEvent = (runId: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ actor: string; from_status: string | null; to_status: string; reason: string }>`
      SELECT actor, from_status, to_status, reason FROM run_event WHERE run_id = ${runId} ORDER BY id DESC LIMIT 1`
    return row!
  })

/**
 * A stand-in ExecutionBackend: records cancel and lookup calls; `down` makes every call fail as
 * unreachable. `jobs` are what findJobs reports under each name; the fake submits as "ccat-test".
 */
const fakeBackend = (
  options: { readonly down?: boolean; readonly jobs?: Record<string, ReadonlyArray<Partial<FoundJob> & { readonly jobId: string }>> } = {}
) => {
  const calls: Array<string> = []
  const unavailable = new BackendUnavailable({ backend: "fake", reason: "controller not responding" })
  const service: ExecutionBackendService = {
    kind: "slurm",
    submit: () => Effect.dieMessage("the fake backend submits nothing"),
    findJobs: (names) =>
      options.down === true
        ? Effect.fail(unavailable)
        : Effect.sync(() => {
            calls.push(`findJobs ${names.join(",")}`)
            return new Map(
              names.flatMap((n) =>
                options.jobs?.[n] === undefined
                  ? []
                  : [
                      [
                        n,
                        options.jobs[n].map(
                          (j): FoundJob => ({
                            jobName: n,
                            state: "RUNNING",
                            user: "ccat-test",
                            comment: null,
                            submittedAt: new Date(),
                            ...j
                          })
                        )
                      ] as const
                    ]
              )
            )
          }),
    submitter: Effect.succeed("ccat-test"),
    probe: Effect.void,
    limits: () => Effect.succeed(null),
    poll: () => Effect.succeed(new Map()),
    cancel: (jobId) =>
      options.down === true ? Effect.fail(unavailable) : Effect.sync(() => (calls.push(`cancel ${jobId}`), "cancelled" as const)),
    capacity: Effect.succeed(null)
  }
  return { calls, layer: Layer.succeed(ExecutionBackend, service) }
}

/** The chain the status test builds, for the tests after it. */
interface Chain {
  readonly map: { readonly runId: number; readonly key: string }
  readonly mapProducts: Map<string, number>
}

for (const backend of testBackends) {
  describe(`operator commands on ${backend}`, () => {
    layer(Layer.merge(testDatabase(backend), NodeContext.layer), { timeout: 180_000, excludeTestServices: true })((it) => {
      const runsDir = tempDir()
      let chain: Chain | undefined

      it.effect("before anything is applied: status says so; unknown runs, products and bad arguments exit 1 or 2", () =>
        Effect.gen(function* () {
          const status = yield* ccat("status")
          // First, which database this is (the password never shown).
          const [database, ...rest] = status.stdout.split("\n")
          expect(database).toMatch(/^Database: postgres:\/\/[^:@/]+@127\.0\.0\.1:\d+\//)
          expect({ ...status, stdout: rest.join("\n") }).toEqual({
            code: 0,
            stdout: "No definitions have been applied yet: run `ccat apply <dir>` first. No pipelines, no runs.",
            stderr: ""
          })
          expect(JSON.parse((yield* ccat("status", "--json")).stdout)).toMatchObject({
            database: { kind: "server" },
            applied: false,
            steps: []
          })
          expect(yield* ccat("runs")).toEqual({ code: 0, stdout: "No runs match.", stderr: "" })

          expect(yield* ccat("logs", "41")).toEqual({
            code: 1,
            stdout: "",
            stderr: "error: no run 41 in the database (`ccat runs` lists them)"
          })
          expect(yield* ccat("cancel", "41")).toMatchObject({
            code: 1,
            stderr: "error: no run 41 in the database (`ccat runs` lists them)"
          })
          expect(yield* ccat("retry", "41")).toMatchObject({ code: 1, stderr: "error: no run 41 in the database (`ccat runs` lists them)" })
          expect(yield* ccat("lineage", "41")).toMatchObject({ code: 1, stderr: "error: no data product 41" })

          const bogus = yield* ccat("runs", "--status", "BOGUS")
          expect(bogus.code).toBe(2)
          expect(bogus.stderr).toBe(
            "error: unknown status `BOGUS`; valid: PENDING, STAGING_DATA, SUBMITTED, RUNNING, COLLECTING_RESULTS, COMPLETED, FAILED, CANCELLED\n" +
              "usage: ccat runs [--status S] [--pipeline P] [--step S] [--sub-group KEY] [--reason CODE] [--since ISO] [--until ISO] [--before ID] [--limit N] [--json]"
          )
          expect((yield* ccat("runs", "--limit", "0")).code).toBe(2)
          expect((yield* ccat("runs", "--limit", "many")).code).toBe(2)
          const badId = yield* ccat("logs", "abc")
          expect(badId.code).toBe(2)
          expect(badId.stderr).toContain("error: expected a run id (a positive whole number, as `ccat runs` lists them), got `abc`")
          expect((yield* ccat("cancel", "0")).code).toBe(2)
          expect((yield* ccat("retry", "-3")).code).toBe(2)
          expect((yield* ccat("logs")).code).toBe(2)
        })
      )

      it.effect("status: runs by status, the gap and the oldest waiting input per step, upstream first, by pipeline priority", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seedDemo({ archiveDir: tempDir() })
          const compiled = compileSources(workspace)
          expect(compiled.ir).toBeDefined()
          yield* applyWorkspace(compiled.ir!, { createdBy: "test" })

          const [oldest] = yield* sql<{ at: Date }>`
            SELECT min(p.archived_at) AS at FROM raw_data_package p JOIN instrument_module m ON m.id = p.instrument_module_id
            JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id JOIN obs_unit u ON u.id = e.obs_unit_id JOIN source s ON s.id = u.source_id
            WHERE s.name = 'Orion-KL' AND m.name = 'LFA' AND e.start_time >= '2026-05-01' AND e.start_time < '2026-05-08' AND e.status = 'SUCCESS'
              AND p.state = 'ARCHIVED'`
          const archived = new RegExp(`^${utcMinutes(new Date(oldest!.at)).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(\\d+d( \\d+h)?\\)$`)
          const header = [
            "STEP",
            "PENDING",
            "STAGING",
            "SUBMITTED",
            "RUNNING",
            "COLLECTING",
            "COMPLETED",
            "FAILED",
            "CANCELLED",
            "GAP",
            "OLDEST WAITING"
          ]
          const zeros = ["0", "0", "0", "0", "0", "0", "0", "0"]
          const notes = ["", "- chai_dev: not evaluated: triggered by hand (`ccat run chai_dev`)"]

          // Nothing has run: every calibration is a gap, waiting since its package was archived.
          const first = yield* ccat("status")
          expect(first.code).toBe(0)
          const lines = first.stdout.split("\n").slice(1)
          expect(lines[0]).toMatch(
            /^Status as of \d{4}-\d\d-\d\d \d\d:\d\d UTC\. GAP: sub-groups that get a run now, or once a cooldown or the run in flight allows\.$/
          )
          expect(lines[1]).toBe("")
          expect(lines.slice(-2)).toEqual(notes)
          expect(cells(lines.slice(2, -2).join("\n"))).toEqual([
            header,
            ["ops_chain.calibrate", ...zeros, "8", expect.stringMatching(archived)],
            ["ops_chain.baseline", ...zeros, "0", "-"],
            ["ops_chain.map", ...zeros, "0", "-"],
            ["chai_dev.calibrate", ...zeros, "-", "-"],
            ["chai_dev.baseline", ...zeros, "-", "-"],
            ["chai_dev.map", ...zeros, "-", "-"]
          ])
          // The numbers are right-aligned under their headers.
          expect(lines[3]).toMatch(/^ops_chain\.calibrate {2,}0 {2,}0 /)
          expect(lines[2]!.indexOf("GAP") + 3).toBe(lines[3]!.indexOf(" 8 ") + 2)

          // The pass creates the 8 calibrations: in flight, no gap left; everything downstream waits.
          yield* evaluatePass({})
          const pending = yield* ccat("status")
          expect(cells(pending.stdout.split("\n").slice(3, 7).join("\n"))).toEqual([
            header,
            ["ops_chain.calibrate", "8", "0", "0", "0", "0", "0", "0", "0", "0", "-"],
            ["ops_chain.baseline", ...zeros, "0", "-"],
            ["ops_chain.map", ...zeros, "0", "-"]
          ])

          // Calibrations done, each with one intermediate product: the 8 baselines are the gap
          // now, waiting since those products appeared.
          const calibrations = yield* inFlightRunsOf("ops_chain", "calibrate")
          for (const r of calibrations) yield* finish(r.id, [{ type: "INTERMEDIATE", path: "workspace/calibrate/calibrated.fits" }])
          const done = yield* ccat("status")
          expect(cells(done.stdout.split("\n").slice(3, 7).join("\n"))).toEqual([
            header,
            ["ops_chain.calibrate", "0", "0", "0", "0", "0", "8", "0", "0", "0", "-"],
            ["ops_chain.baseline", ...zeros, "8", expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC \((<1m|1m)\)$/)],
            ["ops_chain.map", ...zeros, "0", "-"]
          ])
          const json = JSON.parse((yield* ccat("status", "--json")).stdout) as {
            applied: boolean
            steps: Array<{
              pipeline: string
              step: string
              after: Array<string>
              trigger: string
              runs: Record<string, number>
              gap: number | null
              gapByReason: Record<string, number>
              notTriggered: string | null
              oldestWaitingInput: { at: string; kind: string } | null
            }>
          }
          expect(json.applied).toBe(true)
          expect(json.steps.map((s) => `${s.pipeline}.${s.step}`)).toEqual([
            "ops_chain.calibrate",
            "ops_chain.baseline",
            "ops_chain.map",
            "chai_dev.calibrate",
            "chai_dev.baseline",
            "chai_dev.map"
          ])
          expect(json.steps[1]).toMatchObject({
            after: ["calibrate"],
            trigger: "continuous",
            gap: 8,
            gapByReason: { UPSTREAM_CHANGED: 8 },
            notTriggered: null
          })
          expect(json.steps[1]!.oldestWaitingInput!.kind).toBe("data_product.created_at")
          expect(json.steps[0]!.runs).toEqual({
            PENDING: 0,
            STAGING_DATA: 0,
            SUBMITTED: 0,
            RUNNING: 0,
            COLLECTING_RESULTS: 0,
            COMPLETED: 8,
            FAILED: 0,
            CANCELLED: 0
          })
          expect(json.steps[3]).toMatchObject({ trigger: "manual", gap: null, notTriggered: "no-request", oldestWaitingInput: null })

          // Baselines (two products each), then the two cubes: the whole chain has run.
          yield* evaluatePass({})
          for (const r of yield* inFlightRunsOf("ops_chain", "baseline")) {
            yield* finish(r.id, [
              { type: "INTERMEDIATE", path: "workspace/baseline/spectra.fits" },
              { type: "INTERMEDIATE", path: "workspace/baseline/weights.fits" }
            ])
          }
          yield* evaluatePass({})
          const maps = yield* inFlightRunsOf("ops_chain", "map")
          expect(maps.map((m) => m.sub_group_key).sort()).toEqual(["Orion-KL__CI10", "Orion-KL__CO43"])
          for (const r of maps) {
            yield* finish(r.id, [
              { type: "SCIENCE", path: "output/science/cube.fits" },
              { type: "PLOT", path: "output/plots/cube.png" },
              { type: "LOG", path: "output/logs/grid.log" }
            ])
          }
          const ci10 = maps.find((m) => m.sub_group_key === "Orion-KL__CI10")!
          const products = yield* sql<{
            id: string
            relative_path: string
          }>`SELECT id, relative_path FROM data_product WHERE run_id = ${ci10.id}`
          chain = {
            map: { runId: ci10.id, key: ci10.sub_group_key },
            mapProducts: new Map(products.map((p) => [p.relative_path, Number(p.id)]))
          }

          const end = yield* ccat("status")
          expect(cells(end.stdout.split("\n").slice(3, 7).join("\n"))).toEqual([
            header,
            ["ops_chain.calibrate", "0", "0", "0", "0", "0", "8", "0", "0", "0", "-"],
            ["ops_chain.baseline", "0", "0", "0", "0", "0", "8", "0", "0", "0", "-"],
            ["ops_chain.map", "0", "0", "0", "0", "0", "2", "0", "0", "0", "-"]
          ])
        })
      )

      it.effect("runs: newest first, filtered by status, pipeline and step, limited; JSON; unknown names exit 1", () =>
        Effect.gen(function* () {
          const all = yield* ccat("runs")
          expect(all.code).toBe(0)
          const table = cells(all.stdout)
          expect(table[0]).toEqual([
            "ID",
            "STEP",
            "SUB-GROUP",
            "STATUS",
            "REASON",
            "ATTEMPT",
            "VERSION",
            "JOB",
            "CREATED",
            "FINISHED",
            "FAILURE"
          ])
          expect(table).toHaveLength(1 + 18)
          const ids = table.slice(1).map((r) => Number(r[0]))
          expect(ids).toEqual([...ids].sort((a, b) => b - a))
          const ci10 = table.find((r) => r[2] === "Orion-KL__CI10")!
          expect(ci10).toEqual([
            String(chain!.map.runId),
            "ops_chain.map",
            "Orion-KL__CI10",
            "COMPLETED",
            "UPSTREAM_CHANGED",
            "1",
            "0.10.0",
            "-",
            expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
            expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
            "-"
          ])

          // One calibration fails for good (after its job had a name): filtered by status, in any case.
          const calibrations = yield* runsOf("ops_chain", "calibrate")
          const sql = yield* SqlClient.SqlClient
          const victim = calibrations[0]!
          const redo = yield* insertRun("calibrate", victim.sub_group_key, "PENDING")
          yield* sql`UPDATE executed_reduction_step SET job_name = ${`ccat-${redo}`} WHERE id = ${redo}`
          yield* failRun(redo, { final: true, reason: "EXIT_CODE 3" })
          const failed = yield* ccat("runs", "--status", "failed")
          expect(
            cells(failed.stdout)
              .slice(1)
              .map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[10]])
          ).toEqual([[String(redo), "ops_chain.calibrate", victim.sub_group_key, "FAILED", "MANUAL", "1", "EXIT_CODE 3"]])

          const calibrate = yield* ccat("runs", "--pipeline", "ops_chain", "--step", "calibrate", "--status", "COMPLETED")
          expect(
            cells(calibrate.stdout)
              .slice(1)
              .map((r) => Number(r[0]))
          ).toEqual(calibrations.map((r) => r.id).reverse())
          const limited = yield* ccat("runs", "--limit", "3")
          expect(limited.stdout.split("\n")).toHaveLength(5)
          expect(
            cells(limited.stdout)
              .slice(1, 4)
              .map((r) => Number(r[0]))
          ).toEqual([redo, ids[0], ids[1]])
          expect(limited.stdout.split("\n")[4]).toBe("(the newest 3; --limit N shows more)")

          const json = JSON.parse((yield* ccat("runs", "--step", "map", "--json")).stdout) as {
            filter: unknown
            limit: number
            runs: Array<Record<string, unknown>>
          }
          expect(json.filter).toEqual({
            status: null,
            pipeline: null,
            step: "map",
            subGroupKey: null,
            reason: null,
            since: null,
            until: null,
            before: null
          })
          expect(json.limit).toBe(50)
          expect(json.runs).toHaveLength(2)
          expect(json.runs[0]).toMatchObject({
            pipeline: "ops_chain",
            step: "map",
            status: "COMPLETED",
            attempt: 1,
            retryCount: 0,
            softwareVersion: "0.10.0",
            backendJobId: null,
            failureReason: null
          })
          expect(Object.keys(json.runs[0]!)).toEqual([
            "id",
            "pipeline",
            "step",
            "subGroupKey",
            "status",
            "reason",
            "attempt",
            "retryCount",
            "softwareVersion",
            "jobName",
            "backendJobId",
            "runDir",
            "createdAt",
            "finishedAt",
            "failureReason"
          ])
          expect(yield* ccat("runs", "--status", "CANCELLED")).toEqual({ code: 0, stdout: "No runs match.", stderr: "" })

          const typo = yield* ccat("runs", "--pipeline", "ops_chian")
          expect(typo).toEqual({
            code: 1,
            stdout: "",
            stderr: "error: no pipeline `ops_chian`; did you mean `ops_chain`? (known: chai_dev, ops_chain)"
          })
          const step = yield* ccat("runs", "--pipeline", "ops_chain", "--step", "grid")
          expect(step.code).toBe(1)
          expect(step.stderr).toBe("error: no step `grid` (known: baseline, calibrate, map)")
        })
      )

      it.effect("logs: the job's stdout or stderr from the run folder, the event log first with --events", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const [calibration] = yield* runsOf("ops_chain", "calibrate")
          const dir = join(runsDir, "ops_chain", "calibrate", calibration!.sub_group_key, `run-${calibration!.id}`)
          mkdirSync(join(dir, "logs"), { recursive: true })
          writeFileSync(join(dir, "logs", "stdout.txt"), "calibrating 1 package\nTsys 812 K\ndone\n")
          yield* sql`UPDATE executed_reduction_step SET run_dir = ${dir} WHERE id = ${calibration!.id}`

          expect(yield* ccat("logs", String(calibration!.id))).toEqual({
            code: 0,
            stdout: "calibrating 1 package\nTsys 812 K\ndone",
            stderr: ""
          })
          const noStderr = yield* ccat("logs", String(calibration!.id), "--stderr")
          expect(noStderr).toEqual({
            code: 1,
            stdout: "",
            stderr: `error: run ${calibration!.id} has no stderr yet: ${join(dir, "logs", "stderr.txt")} does not exist (the run is COMPLETED)`
          })
          writeFileSync(join(dir, "logs", "stderr.txt"), "warning: spike in channel 1021\n")
          expect((yield* ccat("logs", `run-${calibration!.id}`, "--stderr")).stdout).toBe("warning: spike in channel 1021")

          const withEvents = yield* ccat("logs", String(calibration!.id), "--events")
          expect(withEvents.code).toBe(0)
          expect(withEvents.stdout.split("\n")).toEqual([
            `run ${calibration!.id}  ops_chain.calibrate ${calibration!.sub_group_key}  COMPLETED  attempt 1`,
            "events (2):",
            expect.stringMatching(/^ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}\(new\) -> PENDING {2}trigger: NEW_DATA$/),
            expect.stringMatching(/^ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}PENDING -> COMPLETED {2}test: job finished$/),
            "",
            `==> ${join(dir, "logs", "stdout.txt")} <==`,
            "calibrating 1 package",
            "Tsys 812 K",
            "done"
          ])

          // A run that was never staged has no folder: said, exit 1 (after its events, with --events).
          const pendingRun = yield* insertRun("map", "ops-logs-pending", "PENDING")
          const noFolder = yield* ccat("logs", String(pendingRun))
          expect(noFolder).toEqual({
            code: 1,
            stdout: "",
            stderr: `error: run ${pendingRun} has no folder yet (it is PENDING and not staged): there are no logs to show`
          })
          const eventsOnly = yield* ccat("logs", String(pendingRun), "--events")
          expect(eventsOnly.code).toBe(1)
          expect(eventsOnly.stdout).toBe(`run ${pendingRun}  ops_chain.map ops-logs-pending  PENDING  attempt 1\nevents (0):`)
          yield* sql`UPDATE executed_reduction_step SET status = 'CANCELLED' WHERE id = ${pendingRun}`
        })
      )

      it.effect("cancel: a PENDING run without any backend; refusals for ended and collecting runs", () =>
        Effect.gen(function* () {
          const pendingRun = yield* insertRun("baseline", "ops-cancel-a", "PENDING")
          const cancelled = yield* ccat("cancel", String(pendingRun), "--reason", "wrong calibration table")
          expect(cancelled).toEqual({ code: 0, stdout: `Cancelled run ${pendingRun} (was PENDING, no backend job).`, stderr: "" })
          const row = yield* statusOf(pendingRun)
          expect(row.status).toBe("CANCELLED")
          expect(row.finished_at).not.toBeNull()
          expect(yield* lastEvent(pendingRun)).toEqual({
            actor: "ops-tester",
            from_status: "PENDING",
            to_status: "CANCELLED",
            reason: "CANCEL requested by ops-tester: wrong calibration table"
          })

          expect(yield* ccat("cancel", String(pendingRun))).toEqual({
            code: 1,
            stdout: "",
            stderr: `error: run ${pendingRun} is CANCELLED; nothing to cancel`
          })
          expect(yield* ccat("cancel", String(chain!.map.runId))).toEqual({
            code: 1,
            stdout: "",
            stderr: `error: run ${chain!.map.runId} is COMPLETED; nothing to cancel`
          })
          const collecting = yield* insertRun("baseline", "ops-cancel-b", "COLLECTING_RESULTS", { jobId: "4242" })
          const refused = yield* ccat("cancel", String(collecting))
          expect(refused.code).toBe(1)
          expect(refused.stderr).toBe(
            `error: run ${collecting} is COLLECTING_RESULTS and cannot be cancelled: its job has already ended and its products are being recorded; it will be COMPLETED or FAILED within moments`
          )
          expect((yield* statusOf(collecting)).status).toBe("COLLECTING_RESULTS")

          // A submitted run's job is cancelled on the backend its location declares (local here),
          // whatever the environment says; a job that backend does not know is not reported as cancelled.
          const submitted = yield* insertRun("baseline", "ops-cancel-c", "SUBMITTED", { jobName: "ccat-x", jobId: "4243" })
          const unknownJob = yield* ccat("cancel", String(submitted))
          expect(unknownJob).toEqual({
            code: 0,
            stdout: `Cancelled run ${submitted} (was SUBMITTED; the local backend does not know job 4243: nothing was running).`,
            stderr: ""
          })
          expect((yield* statusOf(submitted)).status).toBe("CANCELLED")
          yield* (yield* SqlClient.SqlClient)`UPDATE executed_reduction_step SET status = 'CANCELLED' WHERE id IN (${collecting}, ${submitted})`
        })
      )

      it.effect(
        "cancel with a stand-in backend (a fake ExecutionBackend that records calls): the job is cancelled first; an unreachable backend changes nothing",
        () =>
          Effect.gen(function* () {
            const fake = fakeBackend()
            const withFake = run(cancelCommandWithBackend(fake.layer), "cancel")
            const submitted = yield* insertRun("baseline", "ops-cancel-d", "SUBMITTED", { jobName: "ccat-d", jobId: "5001" })
            const ok = yield* ccatWith(withFake, [String(submitted), "--reason", "superseded"])
            expect(ok).toEqual({ code: 0, stdout: `Cancelled run ${submitted} (was SUBMITTED; slurm job 5001 cancelled).`, stderr: "" })
            expect(fake.calls).toEqual(["cancel 5001"])
            expect(yield* lastEvent(submitted)).toEqual({
              actor: "ops-tester",
              from_status: "SUBMITTED",
              to_status: "CANCELLED",
              reason: "CANCEL requested by ops-tester: superseded"
            })

            // PENDING: the backend is not asked at all.
            const pendingRun = yield* insertRun("baseline", "ops-cancel-e", "PENDING")
            expect((yield* ccatWith(withFake, [String(pendingRun)])).code).toBe(0)
            expect(fake.calls).toEqual(["cancel 5001"])
            expect((yield* lastEvent(pendingRun)).reason).toBe("CANCEL requested by ops-tester")

            // The backend is down: exit 1, the run stays RUNNING, no event is written.
            const down = fakeBackend({ down: true })
            const running = yield* insertRun("baseline", "ops-cancel-f", "RUNNING", { jobName: "ccat-f", jobId: "5002" })
            const failed = yield* ccatWith(run(cancelCommandWithBackend(down.layer), "cancel"), [String(running)])
            expect(failed).toEqual({
              code: 1,
              stdout: "",
              stderr: `error: cannot cancel run ${running}: fake backend unavailable: controller not responding; the run is unchanged`
            })
            expect((yield* statusOf(running)).status).toBe("RUNNING")
            const sql = yield* SqlClient.SqlClient
            expect((yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM run_event WHERE run_id = ${running}`)[0]!.n).toBe(0)

            // Marked with its job name but the submission not recorded (a crash in between): the
            // backend is asked for the name, and the job that is the run's own is cancelled; a job
            // of another database (or user) under the same name is left alone. The layer is built lazily.
            const marked = yield* insertRun("baseline", "ops-cancel-g", "STAGING_DATA")
            const own = jobIdentity((yield* installationId)!, marked, 1)
            yield* sql`UPDATE executed_reduction_step SET job_name = ${own.name}, attempt = 1, marked_at = now() - interval '1 minute' WHERE id = ${marked}`
            const stranger = { jobId: "4999", comment: "ccat installation=another-database run=1 attempt=1" }
            const lookup = fakeBackend({ jobs: { [own.name]: [stranger, { jobId: "5003", comment: own.comment }] } })
            const lazy = run(cancelCommandWithBackend(lookup.layer), "cancel")
            expect((yield* ccatWith(lazy, [String(marked)])).stdout).toBe(
              `Cancelled run ${marked} (was STAGING_DATA; slurm job 5003 cancelled).`
            )
            expect(lookup.calls).toEqual([`findJobs ${own.name}`, "cancel 5003"])
            const alone = yield* insertRun("baseline", "ops-cancel-h", "STAGING_DATA")
            const aloneName = jobIdentity((yield* installationId)!, alone, 1).name
            yield* sql`UPDATE executed_reduction_step SET job_name = ${aloneName}, attempt = 1, marked_at = now() WHERE id = ${alone}`
            const onlyStranger = fakeBackend({ jobs: { [aloneName]: [stranger] } })
            expect((yield* ccatWith(run(cancelCommandWithBackend(onlyStranger.layer), "cancel"), [String(alone)])).stdout).toBe(
              `Cancelled run ${alone} (was STAGING_DATA, no backend job).`
            )
            expect(onlyStranger.calls).toEqual([`findJobs ${aloneName}`])
            expect((yield* ccatWith(lazy, [String(running)])).code).toBe(0)
            expect(lookup.calls.at(-1)).toBe("cancel 5002")
          })
      )

      it.effect("retry: a FAILED run goes back to PENDING, refused while another run of its sub-group is in flight", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const [failedRun] = yield* sql<{ id: string; sub_group_key: string }>`
            SELECT r.id, r.sub_group_key FROM executed_reduction_step r WHERE r.status = 'FAILED'`
          const failedId = Number(failedRun!.id)
          const other = yield* insertRun("calibrate", failedRun!.sub_group_key, "RUNNING", { jobId: "6001" })

          const refused = yield* ccat("retry", String(failedId))
          expect(refused).toEqual({
            code: 1,
            stdout: "",
            stderr:
              `error: run ${failedId} cannot be retried while run ${other} of ops_chain.calibrate ${failedRun!.sub_group_key} is RUNNING: at most one run per step and ` +
              `sub-group may be in flight; retry after it ends, or \`ccat cancel ${other}\` first`
          })
          expect((yield* statusOf(failedId)).status).toBe("FAILED")

          const completed = yield* ccat("retry", String(chain!.map.runId))
          expect(completed.stderr).toBe(
            `error: run ${chain!.map.runId} cannot be retried: it is COMPLETED; \`ccat run ops_chain --step map --force\` re-runs its sub-groups`
          )
          expect(completed.code).toBe(1)
          expect((yield* ccat("retry", String(other))).stderr).toBe(
            `error: run ${other} cannot be retried: it is RUNNING, still in flight; only FAILED or CANCELLED runs can be retried`
          )

          yield* sql`UPDATE executed_reduction_step SET status = 'COMPLETED' WHERE id = ${other}`
          const ok = yield* ccat("retry", String(failedId))
          expect(ok).toEqual({
            code: 0,
            stdout:
              `Run ${failedId} (ops_chain.calibrate ${failedRun!.sub_group_key}) is PENDING again (was FAILED; attempt 2); \`ccat serve\` submits it.\n` +
              `note: run ${other} is newer for this sub-group; this retry re-runs the older run's inputs.`,
            stderr: ""
          })
          // Attempt 2: the failed attempt had a job name, so the next one gets a new one; the failure stays visible.
          expect(yield* statusOf(failedId)).toEqual({
            status: "PENDING",
            retry_count: 1,
            job_name: null,
            failure_reason: "EXIT_CODE 3",
            finished_at: null
          })
          expect(yield* lastEvent(failedId)).toEqual({
            actor: "ops-tester",
            from_status: "FAILED",
            to_status: "PENDING",
            reason: "RETRY requested by ops-tester"
          })

          // A cancelled run that never had a job keeps its attempt count.
          const [cancelled] = yield* sql<{ id: string }>`SELECT id FROM executed_reduction_step WHERE sub_group_key = 'ops-cancel-a'`
          expect((yield* ccat("retry", cancelled!.id)).stdout).toBe(
            `Run ${cancelled!.id} (ops_chain.baseline ops-cancel-a) is PENDING again (was CANCELLED; attempt 1); \`ccat serve\` submits it.`
          )
          expect((yield* ccat("retry", String(failedId))).stderr).toBe(
            `error: run ${failedId} cannot be retried: it is PENDING, still in flight; only FAILED or CANCELLED runs can be retried`
          )

          // The race the check cannot see (a trigger pass creating a run in between) ends at the
          // partial unique index; retry recognises its violation, on either database.
          const [racer] = yield* sql<{ id: string }>`SELECT id FROM executed_reduction_step WHERE sub_group_key = 'ops-cancel-d'`
          yield* insertRun("baseline", "ops-cancel-d", "PENDING")
          const violation = yield* Effect.flip(sql`UPDATE executed_reduction_step SET status = 'PENDING' WHERE id = ${racer!.id}`)
          expect(isOneInFlightViolation(violation)).toBe(true)
          expect(isOneInFlightViolation(yield* Effect.flip(sql`SELECT 1/0`))).toBe(false)
        })
      )

      it.effect("lineage: the tree back to the raw packages, by id or path; repeated subtrees referenced; PROV-JSON", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const cube = chain!.mapProducts.get("output/science/cube.fits")!
          // The CI10 cube has one scan: map ← baseline (2 products) ← calibrate ← raw package.
          const [scan] = yield* sql<{ baseline: string; calibrate: string; key: string; package: string; checksum: string }>`
            SELECT b.id AS baseline, c.id AS calibrate, b.sub_group_key AS key, p.name AS package, p.checksum
            FROM data_product_lineage l
            JOIN data_product bp ON bp.id = l.parent_product_id JOIN executed_reduction_step b ON b.id = bp.run_id
            JOIN data_product_lineage l2 ON l2.product_id = bp.id JOIN data_product cp ON cp.id = l2.parent_product_id
            JOIN executed_reduction_step c ON c.id = cp.run_id
            JOIN data_product_lineage l3 ON l3.product_id = cp.id JOIN raw_data_package p ON p.id = l3.raw_data_package_id
            WHERE l.product_id = ${cube} LIMIT 1`
          const [spectra, weights] = (yield* sql<{
            id: string
          }>`SELECT id FROM data_product WHERE run_id = ${scan!.baseline} ORDER BY id`).map((r) => Number(r.id))
          const [calibrated] = (yield* sql<{ id: string }>`SELECT id FROM data_product WHERE run_id = ${scan!.calibrate}`).map((r) =>
            Number(r.id)
          )
          const sum = (runId: number | string, path: string) => productChecksum(Number(runId), path).slice(0, 12)
          const mapLine = `run ${chain!.map.runId}  ops_chain.map  Orion-KL__CI10  chai_gridding 0.10.0  config {"kernel":"gauss","channel_kms":1,"pixel_arcsec":10}`
          const baselineLine = `run ${scan!.baseline}  ops_chain.baseline  ${scan!.key}  chai_baseline 1.2.3  config {"order":3,"despike_sigma":5}`
          const expected = [
            `product ${cube}  SCIENCE  output/science/cube.fits  ${sum(chain!.map.runId, "output/science/cube.fits")}`,
            `│ ${mapLine}`,
            `├─ product ${spectra}  INTERMEDIATE  workspace/baseline/spectra.fits  ${sum(scan!.baseline, "workspace/baseline/spectra.fits")}`,
            `│  │ ${baselineLine}`,
            `│  └─ product ${calibrated}  INTERMEDIATE  workspace/calibrate/calibrated.fits  ${sum(scan!.calibrate, "workspace/calibrate/calibrated.fits")}`,
            `│     │ run ${scan!.calibrate}  ops_chain.calibrate  ${scan!.key}  chai_calibration 2.4.2  config {"tsys_max_k":4000,"calibration_mode":"hot_cold"}`,
            `│     └─ raw package ${scan!.package}  ${scan!.checksum.slice(0, 12)}`,
            `└─ product ${weights}  INTERMEDIATE  workspace/baseline/weights.fits  ${sum(scan!.baseline, "workspace/baseline/weights.fits")}`,
            `   │ ${baselineLine}`,
            `   └─ product ${calibrated}  INTERMEDIATE  workspace/calibrate/calibrated.fits  (see above)`
          ].join("\n")
          expect(yield* ccat("lineage", String(cube))).toEqual({ code: 0, stdout: expected, stderr: "" })

          // By path: absolute, and relative to the current folder; the same tree.
          const runDir = join(runsDir, "ops_chain", "map", "Orion-KL__CI10", `run-${chain!.map.runId}`)
          yield* sql`UPDATE executed_reduction_step SET run_dir = ${runDir} WHERE id = ${chain!.map.runId}`
          expect((yield* ccat("lineage", join(runDir, "output/science/cube.fits"))).stdout).toBe(expected)
          expect((yield* ccat("lineage", relative(process.cwd(), join(runDir, "output/science/cube.fits")))).stdout).toBe(expected)
          const nowhere = yield* ccat("lineage", join(runDir, "output/science/missing.fits"))
          expect(nowhere.code).toBe(1)
          expect(nowhere.stderr).toBe(
            `error: no data product at ${join(runDir, "output/science/missing.fits")} (a product path is <run folder>/<relative path>, under a run-<id> folder)`
          )
          expect((yield* ccat("lineage", "/etc/hostname")).code).toBe(1)
          // A log has no lineage: said so.
          const log = chain!.mapProducts.get("output/logs/grid.log")!
          expect((yield* ccat("lineage", String(log))).stdout.split("\n").slice(-1)).toEqual(["  (no lineage recorded)"])

          // The CO43 cube: 7 scans, every raw package named once, each calibration shown once and referenced once.
          const [co43] = yield* sql<{ id: string }>`
            SELECT p.id FROM data_product p JOIN executed_reduction_step r ON r.id = p.run_id
            WHERE r.sub_group_key = 'Orion-KL__CO43' AND p.relative_path = 'output/science/cube.fits'`
          const big = (yield* ccat("lineage", co43!.id)).stdout.split("\n")
          const packages = yield* sql<{ name: string; checksum: string }>`
            SELECT DISTINCT p.name, p.checksum FROM run_input i JOIN raw_data_package p ON p.id = i.raw_data_package_id
            JOIN executed_reduction_step r ON r.id = i.run_id JOIN reduction_step s ON s.id = r.step_id
            WHERE s.name = 'calibrate' AND r.status = 'COMPLETED' AND r.sub_group_key IN (
              SELECT b.sub_group_key FROM data_product_lineage l JOIN data_product bp ON bp.id = l.parent_product_id
              JOIN executed_reduction_step b ON b.id = bp.run_id WHERE l.product_id = ${co43!.id})`
          expect(packages).toHaveLength(7)
          for (const p of packages)
            expect(big.filter((l) => l.endsWith(`raw package ${p.name}  ${p.checksum.slice(0, 12)}`))).toHaveLength(1)
          expect(big.filter((l) => l.endsWith("(see above)"))).toHaveLength(7)
          expect(big).toHaveLength(2 + 7 * 8)

          // PROV-JSON: entities for products and packages, activities for runs, and the relations.
          const doc = JSON.parse((yield* ccat("lineage", co43!.id, "--json")).stdout) as Record<
            string,
            Record<string, Record<string, unknown>>
          >
          expect(Object.keys(doc).sort()).toEqual(["activity", "entity", "prefix", "used", "wasDerivedFrom", "wasGeneratedBy"])
          expect(doc["prefix"]).toEqual({ ccat: "urn:ccat:" })
          const entities = Object.keys(doc["entity"]!)
          const activities = Object.keys(doc["activity"]!)
          expect(entities.filter((e) => e.startsWith("ccat:product-"))).toHaveLength(1 + 14 + 7)
          expect(entities.filter((e) => e.startsWith("ccat:package-"))).toHaveLength(7)
          expect(entities).toHaveLength(29)
          expect(activities).toHaveLength(1 + 7 + 7)
          expect(Object.keys(doc["wasGeneratedBy"]!)).toHaveLength(22)
          expect(Object.keys(doc["wasDerivedFrom"]!)).toHaveLength(14 + 14 + 7)
          expect(Object.keys(doc["used"]!)).toHaveLength(14 + 7 + 7)
          // Valid references only: every relation names declared entities, activities, generations
          // and usages, and every identifier is a qualified name with the declared prefix.
          const declared = new Set([...entities, ...activities])
          const references: Record<string, Set<string>> = {
            "prov:entity": declared,
            "prov:activity": declared,
            "prov:generatedEntity": declared,
            "prov:usedEntity": declared,
            "prov:generation": new Set(Object.keys(doc["wasGeneratedBy"]!)),
            "prov:usage": new Set(Object.keys(doc["used"]!))
          }
          for (const [kind, relations] of Object.entries(doc).filter(([k]) => !["prefix", "entity", "activity"].includes(k))) {
            for (const [id, relation] of Object.entries(relations)) {
              expect(id, kind).toMatch(/^ccat:[A-Za-z0-9._-]+$/)
              for (const [key, value] of Object.entries(relation)) {
                if (references[key] !== undefined) expect(references[key].has(value as string), `${kind} ${id} ${key}`).toBe(true)
              }
            }
          }
          for (const id of declared) expect(id).toMatch(/^ccat:[A-Za-z0-9._-]+$/)
          expect(doc["entity"]![`ccat:product-${co43!.id}`]).toMatchObject({
            "prov:type": { $: "ccat:DataProduct", type: "prov:QUALIFIED_NAME" },
            "ccat:productType": "SCIENCE",
            "ccat:relativePath": "output/science/cube.fits"
          })
          const mapActivity = Object.values(doc["activity"]!).find((a) => a["ccat:step"] === "map")!
          expect(mapActivity).toMatchObject({
            "ccat:pipeline": "ops_chain",
            "ccat:subGroupKey": "Orion-KL__CO43",
            "ccat:software": "chai_gridding",
            "ccat:softwareVersion": "0.10.0"
          })
          expect(JSON.parse(mapActivity["ccat:config"] as string)).toEqual({ kernel: "gauss", channel_kms: 1, pixel_arcsec: 10 })
          expect(mapActivity["prov:startTime"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
        })
      )
    })
  })
}
