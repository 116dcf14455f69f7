import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Option, Queue, Schedule, Stream } from "effect"
import { DatabaseInUse } from "../db/database.ts"

/*
 * Early wake-ups from PostgreSQL NOTIFY (migration 3 sends them on new data, requests, new and
 * finished runs). Loops never depend on them: a lost notification only delays work until the
 * loop's interval.
 */

/** The channels that wake the trigger early. */
export const triggerChannels = ["ccat_new_data", "ccat_runs_finished"] as const

/**
 * Offer a wake-up for every notification on `channels` until the scope closes; never fails. A
 * failing LISTEN is logged and retried every `retryEvery`. The embedded database's socket server
 * passes no notifications on, and a LISTEN would hold its only connection: there it does nothing.
 */
export const wakeOnNotify = (channels: ReadonlyArray<string>, wake: Queue.Queue<void>, retryEvery: Duration.Duration = Duration.minutes(1)) =>
  Effect.gen(function* () {
    const database = yield* Effect.serviceOption(DatabaseInUse)
    if (Option.isSome(database) && database.value._tag === "Embedded") return
    const pg = yield* PgClient.PgClient
    yield* Stream.runForEach(Stream.mergeAll(channels.map((c) => pg.listen(c)), { concurrency: "unbounded" }), () => Queue.offer(wake, undefined))
  }).pipe(
    Effect.tapError((error) => Effect.logWarning(`listening for ${channels.join(", ")} failed, relying on the interval: ${error.message}`)),
    Effect.retry(Schedule.spaced(retryEvery)),
    Effect.ignore
  )
