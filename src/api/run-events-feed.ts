import { SqlClient } from "@effect/sql"
import { Context, Duration, Effect, Layer, Schedule, Stream, SubscriptionRef } from "effect"

/*
 * The newest run event, watched once for every client: each change of a run's status writes a
 * run_event row, so a new newest id means "some run changed". One indexed read a second,
 * however many dashboards are open; each gets the changes, at most one a second.
 */

export interface RunEventsFeedService {
  /** The newest run event id (null before any), now and then at each change. */
  readonly changes: Stream.Stream<string | null>
}

export class RunEventsFeed extends Context.Tag("ccat/api/RunEventsFeed")<RunEventsFeed, RunEventsFeedService>() {}

export const RunEventsFeedLive = Layer.scoped(
  RunEventsFeed,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const newest = sql<{ id: string | null }>`SELECT max(id)::text AS id FROM run_event`.pipe(Effect.map(([row]) => row?.id ?? null))
    const ref = yield* SubscriptionRef.make<string | null>(yield* newest.pipe(Effect.orElseSucceed(() => null)))
    // A database that does not answer leaves the last value; the next second asks again.
    const watch = newest.pipe(
      Effect.flatMap((id) => SubscriptionRef.update(ref, (old) => (old === id ? old : id))),
      Effect.ignore,
      Effect.repeat(Schedule.spaced(Duration.seconds(1)))
    )
    yield* Effect.forkScoped(watch)
    return { changes: ref.changes.pipe(Stream.changes) }
  })
)
