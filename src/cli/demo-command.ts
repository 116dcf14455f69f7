import { Command, Options } from "@effect/cli"
import { SqlClient } from "@effect/sql"
import { Clock, Config, Console, Duration, Effect, Layer, Logger, LogLevel, Option, Queue } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join, relative, resolve } from "node:path"
import { compileSources, type SourceInput } from "../compiler/compile.ts"
import { DatabaseConfig } from "../db/config.ts"
import { archiveDirConfig, seedDemo, seedMore } from "../db/seed/index.ts"
import { applyWorkspace, currentUser } from "../definitions/apply.ts"
import { planChanges } from "../definitions/diff.ts"
import { renderPlan } from "../definitions/render-plan.ts"
import { readStoredDefinitions } from "../definitions/stored.ts"
import { BackendCallsLive } from "../runtime/backends/backend-calls.ts"
import { LocalBackendLive } from "../runtime/backends/local-backend.ts"
import { ExecutionConfig } from "../runtime/execution/execution-config.ts"
import { localRegistryDir } from "../runtime/execution/submit-loop.ts"
import { previewPass } from "../runtime/gaps/preview.ts"
import { renderPassSection } from "../runtime/gaps/render-pass.ts"
import { lineageLines } from "./demo-lineage.ts"
import { makeProgressPrinter } from "../runtime/serve/progress.ts"
import { serve } from "../runtime/serve/serve.ts"
import { ServeStateLive } from "../runtime/serve/serve-state.ts"
import { CommandExit, ExitCode, interruption } from "./exit-code.ts"
import { oneLineErrors } from "./command-failure.ts"
import { readSources } from "./workspace-files.ts"

/*
 * `ccat demo`: the newcomer's first ten minutes in one command, on the embedded database and
 * the local backend. Seed the synthetic observatory, apply pipelines/, run `ccat serve` until
 * the standing CHAI pipeline has produced its maps (with a live table), summarise, show the
 * lineage of one map and where its plot is; then add a night of scans and show only the new gap
 * being processed; then change a step's config and show the plan announcing the reprocessing.
 * Everything is reused on a second run, which is therefore fast.
 */

const noDashboardOption = Options.boolean("no-dashboard").pipe(
  Options.withDescription("End when the demo is done, without serving the dashboard (the default when the output is not a terminal).")
)

const dirOption = Options.directory("dir").pipe(
  Options.withDescription("The workspace to apply (default: pipelines)."),
  Options.withDefault("pipelines")
)

const demoPipeline = "chai_standing"

const heading = (text: string) => Console.log(`\n== ${text} ${"=".repeat(Math.max(0, 72 - text.length))}`)

interface StepSummary {
  readonly step: string
  readonly runs: number
  readonly completed: number
  readonly failed: number
  readonly products: number
  readonly wall: number
}

const stepSummary = (sinceRunId: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<StepSummary>`
      SELECT s.name AS step, count(r.id)::int AS runs,
        count(r.id) FILTER (WHERE r.status = 'COMPLETED')::int AS completed,
        count(r.id) FILTER (WHERE r.status = 'FAILED')::int AS failed,
        (SELECT count(*)::int FROM data_product d JOIN executed_reduction_step x ON x.id = d.run_id
          WHERE x.step_id = s.id AND x.id > ${sinceRunId}) AS products,
        coalesce(sum(r.wall_seconds), 0)::float8 AS wall
      FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id
      LEFT JOIN executed_reduction_step r ON r.step_id = s.id AND r.id > ${sinceRunId}
      WHERE p.name = ${demoPipeline} AND s.retired_generation IS NULL
      GROUP BY s.id, s.name ORDER BY s.id`
  })

const summaryTable = (rows: ReadonlyArray<StepSummary>, elapsedMs: number): string => {
  const lines = [
    `${"step".padEnd(12)}${"runs".padStart(7)}${"completed".padStart(11)}${"failed".padStart(8)}${"products".padStart(10)}${"job time".padStart(11)}`
  ]
  for (const r of rows) {
    lines.push(
      `${r.step.padEnd(12)}${String(r.runs).padStart(7)}${String(r.completed).padStart(11)}${String(r.failed).padStart(8)}${String(r.products).padStart(10)}${`${r.wall.toFixed(0)} s`.padStart(11)}`
    )
  }
  lines.push(`wall time ${(elapsedMs / 1000).toFixed(1)} s`)
  return lines.join("\n")
}

const lastRunId = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ id: number }>`SELECT coalesce(max(id), 0)::int8::float8 AS id FROM executed_reduction_step`
  return Number(row!.id)
})

export const demoCommand = Command.make("demo", { dir: dirOption, noDashboard: noDashboardOption }, ({ dir, noDashboard }) =>
  oneLineErrors(
    Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      const database = yield* DatabaseConfig
      const configured = yield* ExecutionConfig
      const softwarePathSet = yield* Config.option(Config.string("CCAT_SOFTWARE_PATH")).pipe(
        Config.map((o) => Option.isSome(o) && o.value.trim() !== "")
      )
      const execution = {
        ...configured,
        // The demo's own defaults, unless set: runs under the data folder, the demo programs
        // beside the workspace (not under the working folder: `--dir` may point anywhere),
        // snappy loops.
        baseDir: configured.baseDir ?? join(database.dataDir, "runs"),
        softwarePath: softwarePathSet ? configured.softwarePath : [resolve(dir, "software", "bin")],
        submitInterval: Duration.millis(300),
        collectInterval: Duration.millis(300),
        retryBackoff: Duration.seconds(1)
      }
      const maxParallel = execution.maxParallel ?? Math.max(2, cpus().length * 2)
      const sources: ReadonlyArray<SourceInput> = yield* readSources([dir])
      const compiled = compileSources(sources)
      if (compiled.ir === undefined) {
        yield* Console.error(`${dir} does not compile: run \`ccat check ${dir}\``)
        return yield* new CommandExit({ code: ExitCode.failure })
      }
      const ir = compiled.ir

      yield* heading("1. The synthetic observatory and the pipelines")
      const seeded = yield* seedDemo({ archiveDir: yield* archiveDirConfig })
      yield* Console.log(
        seeded.outcome === "already-seeded"
          ? "The demo observatory is already seeded."
          : `Seeded ${seeded.scansAdded} scans, ${seeded.filesWritten} raw files.`
      )
      const applied = yield* applyWorkspace(ir, { createdBy: yield* currentUser })
      yield* Console.log(
        applied._tag === "Applied"
          ? `Applied ${dir}: definitions generation ${applied.generation}.`
          : `${dir} is applied already (generation ${applied.generation}).`
      )

      const jobEnded = yield* Queue.sliding<void>(1)
      const serveLocally = (options: {
        readonly httpPort: number | null
        readonly onCycle: () => Effect.Effect<void, never, SqlClient.SqlClient>
      }) =>
        serve({
          execution: { ...execution, maxParallel },
          triggerInterval: Duration.seconds(1),
          httpPort: options.httpPort,
          exitWhenIdle: options.httpPort === null,
          collectWake: jobEnded,
          onCycle: options.onCycle
        }).pipe(
          Effect.provide(
            Layer.mergeAll(
              LocalBackendLive({
                registryDir: localRegistryDir(execution),
                maxParallel,
                onJobEnd: () => void Queue.unsafeOffer(jobEnded, undefined)
              }).pipe(Layer.provideMerge(BackendCallsLive)),
              ServeStateLive
            )
          ),
          Logger.withMinimumLogLevel(LogLevel.Warning)
        )
      const runServe = (label: string) =>
        Effect.gen(function* () {
          yield* heading(label)
          yield* Console.log(`ccat serve with the local backend (${maxParallel} jobs at a time), until nothing is left to do:\n`)
          const printer = makeProgressPrinter(process.stdout)
          const since = yield* lastRunId
          const t0 = yield* Clock.currentTimeMillis
          yield* serveLocally({ httpPort: null, onCycle: () => printer().pipe(Effect.ignore) })
          yield* printer(true)
          const summary = yield* stepSummary(since)
          yield* Console.log(`\n${demoPipeline}, runs of this serve:\n${summaryTable(summary, (yield* Clock.currentTimeMillis) - t0)}`)
          return summary
        })

      yield* runServe("2. ccat serve: the standing CHAI pipeline, from raw scans to maps")

      yield* heading("3. Where a map came from")
      const lineage = yield* lineageLines(demoPipeline, "map")
      if (lineage === null) yield* Console.log("No map was produced (see `ccat runs --pipeline chai_standing`).")
      else {
        yield* Console.log(lineage.tree)
        yield* Console.log(`\nIts plot: ${relative(process.cwd(), lineage.plot ?? "") || lineage.plot}`)
      }

      // Part two, once: one more night of scans, and only they are processed.
      const moreMarker = join(database.dataDir, "demo-more.done")
      yield* heading("4. A new night of scans: only the new gap is processed")
      if (existsSync(moreMarker)) {
        yield* Console.log(`The extra night was added on an earlier run (${readFileSync(moreMarker, "utf8").trim()}).`)
      } else {
        const more = yield* seedMore()
        writeFileSync(moreMarker, `${more.scansAdded} scans, ${new Date().toISOString()}\n`)
        yield* Console.log(`Added ${more.scansAdded} scans of a new night.`)
      }
      yield* runServe("5. ccat serve again: only the new scans")
      yield* Console.log(
        "The maps of their sources wait: `cooldown 1d` rebuilds a cube at most once a day (ccat why chai_standing.map <source__line>)."
      )

      yield* heading("6. A config change, planned: what would be reprocessed, and why")
      const edited = sources.map((s) =>
        s.text.includes(`pipeline ${demoPipeline}`) ? { ...s, text: s.text.replace("tsys_max_k = 4000", "tsys_max_k = 3500") } : s
      )
      const changed = compileSources(edited).ir
      if (changed !== undefined) {
        yield* Console.log(`In ${dir}, ${demoPipeline}.calibrate: tsys_max_k = 4000 → 3500 (not applied). \`ccat plan\` says:\n`)
        yield* Console.log(renderPlan(planChanges(yield* readStoredDefinitions, changed)))
        // Evaluated as of a minute from now: the scans calibrated in the last minute would
        // otherwise show as held by the 60 s cooldown, depending on how fast this machine is.
        const inAMinute = new Date((yield* Clock.currentTimeMillis) + 61_000)
        yield* Console.log("\n" + renderPassSection(yield* previewPass({ ir: changed, at: inAMinute }), changed))
        yield* Console.log(
          "(As of a minute from now, when the last calibration's 60 s cooldown has passed. The maps follow once the new calibrations are done.)"
        )
      }
      const folder = relative(process.cwd(), database.dataDir) || "."
      yield* Console.log(
        `\nDemo finished in ${(((yield* Clock.currentTimeMillis) - started) / 1000).toFixed(1)} s. Everything is in ${folder}/; run it again to see it reused.`
      )

      const port = yield* Config.integer("CCAT_HTTP_PORT").pipe(Config.withDefault(9464))
      const url = `http://127.0.0.1:${port}/`
      yield* heading("7. The dashboard")
      if (noDashboard || !process.stdout.isTTY) {
        yield* Console.log(`To look at all of this in a browser: run \`ccat serve\` in this folder and open ${url}`)
        return
      }
      // Serve until Ctrl-C, as `ccat serve` would: the loops keep reducing what arrives.
      interruption.exitCode = 0
      let said = false
      yield* serveLocally({
        httpPort: port,
        onCycle: () =>
          said
            ? Effect.void
            : Console.log(`The dashboard: ${url}  (the API: ${url}api/v1/docs). Serving until Ctrl-C.`).pipe(
                Effect.tap(() => (said = true))
              )
      }).pipe(
        Effect.catchTag("HttpPortUnavailable", (e) =>
          Console.error(`${e.message}\nThe demo is done; to see it, run \`CCAT_HTTP_PORT=<free port> ccat serve\` in this folder.`)
        )
      )
    })
  )
).pipe(
  Command.withDescription(
    "Run the demo on the embedded database: seed, apply pipelines/, serve until the CHAI maps exist, show lineage, add a night of scans, plan a config change; then, on a terminal, serve the dashboard until Ctrl-C. Exit 0: done (or stopped with Ctrl-C); 1: failed."
  )
)
