import { HttpApiBuilder } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Chunk, Duration, Effect, Option, Schedule, Stream } from "effect"
import { open } from "node:fs/promises"
import { listRunsPage } from "../../runtime/ops/list-runs.ts"
import { logPath, readRunLog } from "../../runtime/ops/logs.ts"
import { runDetail } from "../../runtime/ops/run-detail.ts"
import { findRun, finishedStatuses, runJson } from "../../runtime/ops/run-row.ts"
import { CcatApi } from "../api.ts"
import { databaseUnavailable, notFound, unknownNameError } from "../errors.ts"
import { eventStreamResponse, sseEvent } from "../server-sent-events.ts"

/*
 * /api/v1/runs: the list (`ccat runs --json`'s documents, from the same listRunsPage), one run's
 * page, and its log, whole or followed live. Following reads what the job appended since the
 * last look, twice a second, and ends with the run's status once the run has ended and the file
 * has been read to its end.
 */

const unknownRun = (e: { readonly message: string }) => Effect.fail(notFound("UNKNOWN_RUN", e.message))

const iso = (d: Date | null) => d?.toISOString() ?? null

/** At most this much of a log per event: a browser appends it in one go. */
const chunkBytes = 64 * 1024

/** The bytes of `path` from `offset` on (at most chunkBytes); empty when there is nothing new or no file yet. */
const readFrom = (path: string, offset: number) =>
  Effect.tryPromise(async () => {
    const handle = await open(path, "r")
    try {
      const buffer = Buffer.alloc(chunkBytes)
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, offset)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  }).pipe(Effect.orElseSucceed(() => Buffer.alloc(0)))

/**
 * The log's new text, then `end` once the run has ended and nothing is left to read. A UTF-8
 * character split across two reads is held back until its rest arrives.
 */
const followLog = (runId: number, runDir: string, stream: "stdout" | "stderr") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const path = logPath(runDir, stream)
    const decoder = new TextDecoder("utf-8")
    let offset = 0
    let ended = false
    const poll = Effect.gen(function* () {
      const out: Array<string> = []
      for (;;) {
        const bytes = yield* readFrom(path, offset)
        if (bytes.length === 0) break
        offset += bytes.length
        const text = decoder.decode(bytes, { stream: true })
        if (text !== "") out.push(sseEvent("append", { text }))
        if (bytes.length < chunkBytes) break
      }
      if (out.length === 0) {
        const [row] = yield* sql<{ status: string }>`SELECT status FROM executed_reduction_step WHERE id = ${runId}`
        const status = row?.status ?? "UNKNOWN"
        if ((finishedStatuses as ReadonlyArray<string>).includes(status)) {
          // One more look: the job may have written its last lines after the previous read.
          const rest = yield* readFrom(path, offset)
          if (rest.length > 0) {
            offset += rest.length
            out.push(sseEvent("append", { text: decoder.decode(rest, { stream: true }) }))
          } else {
            ended = true
            out.push(sseEvent("end", { status }))
          }
        }
      }
      return Chunk.fromIterable(out)
    })
    // A database that does not answer for a moment is a quiet poll, not the end of the stream.
    const next = Effect.suspend(() => (ended ? Effect.fail(Option.none()) : poll.pipe(Effect.orElseSucceed(() => Chunk.empty<string>()))))
    return Stream.repeatEffectOption(next).pipe(Stream.schedule(Schedule.spaced(Duration.millis(500))), Stream.flattenChunks)
  })

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
        Effect.gen(function* () {
          const run = yield* findRun(path.id)
          if (run.runDir === null) {
            // Nothing staged yet: say so, and end; the page asks again when the run changes.
            return eventStreamResponse(Stream.make(sseEvent("end", { status: run.status, noLogYet: true })))
          }
          return eventStreamResponse(yield* followLog(path.id, run.runDir, path.stream))
        }).pipe(provided, Effect.catchTags({ UnknownRun: unknownRun, SqlError: databaseUnavailable }))
      )
  })
)
