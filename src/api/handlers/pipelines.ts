import { HttpApiBuilder } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Option, Ref, Stream } from "effect"
import type { IrWorkspace } from "../../compiler/ir.ts"
import { whyReport } from "../../runtime/explain/why.ts"
import { appliedIr } from "../../runtime/gaps/applied-definitions.ts"
import { statusReport, type StepStatusReport } from "../../runtime/ops/status.ts"
import { CcatApi } from "../api.ts"
import { databaseUnavailable, definitionsUnavailable, notFound, unknownNameError } from "../errors.ts"
import { RunEventsFeed } from "../run-events-feed.ts"
import { eventStreamResponse, sseEvent } from "../server-sent-events.ts"

/*
 * /api/v1/pipelines: the overview (`ccat status`'s report, with each pipeline's shape), one
 * pipeline's applied definition, `why` (`ccat why --json`'s report) and the live feed of run
 * changes the dashboard redraws from.
 *
 * The overview previews a trigger pass, as `ccat status` does; every open dashboard asks for it
 * after each change, so one report is shared rather than computed per client (sharedReport).
 */

/**
 * `compute`, made by one request at a time and reused for twice as long as it took (a second at
 * least): however many dashboards ask after each change, the previews take at most a third of
 * the time, and a report that takes seconds at a million runs never queues behind itself.
 */
const sharedReport = <A, E>(compute: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const lock = yield* Effect.makeSemaphore(1)
    const last = yield* Ref.make<{ readonly value: A; readonly until: number } | null>(null)
    return lock.withPermits(1)(
      Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        const kept = yield* Ref.get(last)
        if (kept !== null && started < kept.until) return kept.value
        const value = yield* compute
        const done = yield* Clock.currentTimeMillis
        yield* Ref.set(last, { value, until: done + Math.max(1000, 2 * (done - started)) })
        return value
      })
    )
  })

const stepOverview = (s: StepStatusReport) => ({
  name: s.step,
  stepId: s.stepId,
  after: s.after,
  runs: s.runs,
  gap: s.gap,
  gapByReason: s.gapByReason as Record<string, number>,
  notTriggered: s.notTriggered,
  oldestWaiting: s.oldestWaiting === null ? null : { at: s.oldestWaiting.at.toISOString(), kind: s.oldestWaiting.kind }
})

const pipelineOverview = (ir: IrWorkspace, name: string, steps: ReadonlyArray<StepStatusReport>) => {
  const p = ir.pipelines.find((x) => x.name === name)!
  return {
    name: p.name,
    enabled: p.enabled,
    trigger: { mode: p.trigger.mode, cron: p.trigger.cron },
    priority: p.priority,
    location: p.location,
    data: p.data,
    steps: steps.filter((s) => s.pipeline === name).map(stepOverview)
  }
}

const newestGeneration = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ id: string }>`SELECT id FROM definitions_generation ORDER BY id DESC LIMIT 1`.pipe(
    Effect.map(([row]) => (row === undefined ? null : Number(row.id)))
  )
)

const overviewNow = Effect.gen(function* () {
  const [report, ir, generation] = yield* Effect.all([statusReport, appliedIr, newestGeneration])
  const at = new Date(yield* Clock.currentTimeMillis).toISOString()
  if (ir === null || !report.applied) return { at, generation, pipelines: [] }
  const names = [...new Set(report.steps.map((s) => s.pipeline))]
  return { at, generation, pipelines: names.map((n) => pipelineOverview(ir, n, report.steps)) }
})

export const PipelinesHandlers = HttpApiBuilder.group(CcatApi, "pipelines", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const feed = yield* RunEventsFeed
    const provided = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.provideService(effect, SqlClient.SqlClient, sql)
    const overview = yield* sharedReport(provided(overviewNow))
    return handlers
      .handle("overview", () =>
        overview.pipe(
          Effect.catchTags({
            SqlError: databaseUnavailable,
            AppliedDefinitionsError: definitionsUnavailable,
            StoredDefinitionsError: definitionsUnavailable
          })
        )
      )
      .handle("pipeline", ({ path }) =>
        Effect.gen(function* () {
          const ir = yield* appliedIr
          const generation = yield* newestGeneration
          const p = ir?.pipelines.find((x) => x.name === path.pipeline)
          if (ir === null || p === undefined || generation === null)
            return yield* unknownNameError({ _tag: "UnknownPipeline", name: path.pipeline, known: ir?.pipelines.map((x) => x.name) ?? [] })
          const current = yield* overview
          const shown = current.pipelines.find((x) => x.name === p.name) ?? null
          return { name: p.name, generation, definition: p, overview: shown }
        }).pipe(
          provided,
          Effect.catchTags({
            SqlError: databaseUnavailable,
            AppliedDefinitionsError: definitionsUnavailable,
            StoredDefinitionsError: definitionsUnavailable
          })
        )
      )
      .handle("why", ({ path, urlParams }) =>
        whyReport({ pipeline: path.pipeline, step: path.step, subGroupKey: urlParams.subGroup ?? null }).pipe(
          provided,
          Effect.catchTags({
            UnknownPipeline: (e) => Effect.fail(unknownNameError(e)),
            UnknownStep: (e) => Effect.fail(unknownNameError(e)),
            NothingApplied: (e) => Effect.fail(notFound("NOTHING_APPLIED", e.message)),
            SqlError: databaseUnavailable,
            AppliedDefinitionsError: definitionsUnavailable,
            StoredDefinitionsError: definitionsUnavailable
          })
        )
      )
      .handle("events", () =>
        Effect.succeed(
          eventStreamResponse(
            feed.changes.pipe(
              Stream.filterMap(Option.fromNullable),
              Stream.map((lastEvent) => sseEvent("runs", { lastEvent }))
            )
          )
        )
      )
  })
)
