import { HttpApiBuilder } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Effect, Stream } from "effect"
import { listRunsPage } from "../../runtime/ops/list-runs.ts"
import { followRunLog, LogFollowEvent } from "../../runtime/ops/follow-log.ts"
import { readRunLog } from "../../runtime/ops/logs.ts"
import { runDetail } from "../../runtime/ops/run-detail.ts"
import { runJson } from "../../runtime/ops/run-row.ts"
import { CcatApi } from "../api.ts"
import { databaseUnavailable, notFound, unknownNameError } from "../errors.ts"
import { eventStreamResponse, sseEvent } from "../server-sent-events.ts"

/*
 * /api/v1/runs: the list (`ccat runs --json`'s documents, from the same listRunsPage), one run's
 * page, and its log, whole or followed live as `ccat logs -f` follows it (followRunLog): what the
 * job appended since the last look, then `end` with the run's status once the run has ended and
 * the file has been read to its end.
 */

const unknownRun = (e: { readonly message: string }) => Effect.fail(notFound("UNKNOWN_RUN", e.message))

const iso = (d: Date | null) => d?.toISOString() ?? null

export const RunsHandlers = HttpApiBuilder.group(CcatApi, "runs", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const provided = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.provideService(effect, SqlClient.SqlClient, sql)
    return handlers
      .handle("list", ({ urlParams: q }) =>
        listRunsPage({
          status: q.status ?? null,
          pipeline: q.pipeline ?? null,
          step: q.step ?? null,
          subGroupKey: q.subGroup ?? null,
          reason: q.reason ?? null,
          since: q.since ?? null,
          until: q.until ?? null,
          before: q.cursor ?? null,
          limit: q.limit ?? 50
        }).pipe(
          Effect.map((page) => ({ runs: page.runs.map(runJson), nextCursor: page.nextCursor })),
          provided,
          Effect.catchTags({ UnknownName: (e) => Effect.fail(unknownNameError(e)), SqlError: databaseUnavailable })
        )
      )
      .handle("run", ({ path }) =>
        runDetail(path.id).pipe(
          Effect.map((d) => ({
            run: runJson(d.run),
            events: d.events.map((e) => ({ at: e.at.toISOString(), actor: e.actor, from: e.from, to: e.to, reason: e.reason })),
            inputs: d.inputs,
            products: d.products.map((p) => ({ ...p, createdAt: p.createdAt.toISOString() })),
            metrics: { ...d.metrics, submittedAt: iso(d.metrics.submittedAt) },
            job: d.job,
            image: d.image,
            config: d.config,
            attempts: d.attempts
          })),
          provided,
          Effect.catchTags({ UnknownRun: unknownRun, SqlError: databaseUnavailable })
        )
      )
      .handle("log", ({ path }) =>
        readRunLog(path.id, path.stream).pipe(
          Effect.map((log) => log.text),
          provided,
          Effect.catchTags({
            UnknownRun: unknownRun,
            LogUnavailable: (e) => Effect.fail(notFound("LOG_UNAVAILABLE", e.message)),
            SqlError: databaseUnavailable
          })
        )
      )
      .handle("followLog", ({ path }) =>
        followRunLog(path.id, path.stream, { waitForFolder: false }).pipe(
          Effect.map(({ events }) =>
            eventStreamResponse(
              events.pipe(
                Stream.map(
                  LogFollowEvent.$match({
                    Text: ({ text }) => sseEvent("append", { text }),
                    // Not staged yet: no log to follow; the page asks again when the run changes.
                    Ended: ({ status, staged }) => sseEvent("end", staged ? { status } : { status, noLogYet: true })
                  })
                ),
                Stream.provideService(SqlClient.SqlClient, sql)
              )
            )
          ),
          provided,
          Effect.catchTags({ UnknownRun: unknownRun, SqlError: databaseUnavailable })
        )
      )
  })
)
