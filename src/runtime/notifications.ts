import { PgClient } from "@effect/sql-pg"
import { Data, Duration, Effect, Option, Queue, Redacted, Schedule } from "effect"
import pg from "pg"
import { DatabaseInUse } from "../db/database.ts"

/*
 * Early wake-ups from PostgreSQL NOTIFY (migration 3 sends them on new data, requests, new and
 * finished runs). Loops never depend on them: a lost notification only delays work until the
 * loop's interval.
 *
 * Each listener holds a connection of its own and LISTENs to all its channels in one query.
 * (PgClient.listen shares one connection among all listeners and sends each LISTEN as its stream
 * starts: several streams at once put a query on a busy connection, which pg warns about on every
 * `serve` start.)
 */

/** The channels that wake the trigger early. */
export const triggerChannels = ["ccat_new_data", "ccat_runs_finished"] as const

class ListenFailed extends Data.TaggedError("ListenFailed")<{ readonly message: string }> {}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** The connection settings PgClient was made with, for a pg.Client of our own. */
const clientOptions = (config: PgClient.PgClientConfig): pg.ClientConfig => ({
  connectionString: config.url === undefined ? undefined : Redacted.value(config.url),
  host: config.host,
  port: config.port,
  database: config.database,
  user: config.username,
  password: config.password === undefined ? undefined : Redacted.value(config.password),
  ssl: config.ssl,
  application_name: `${config.applicationName ?? "ccat"} listen`
})

/** A connected client, closed with the scope; its errors are handled by whoever listens on it. */
const connect = (config: PgClient.PgClientConfig) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new pg.Client(clientOptions(config))
        // An 'error' event without a listener would end the process.
        client.on("error", () => undefined)
        await client.connect()
        return client
      },
      catch: (e) => new ListenFailed({ message: `cannot connect: ${messageOf(e)}` })
    }),
    (client) => Effect.promise(() => client.end().catch(() => undefined)).pipe(Effect.timeoutOption(Duration.seconds(1)))
  )

/** LISTEN on every channel and offer a wake-up per notification; fails when the connection ends. */
const listen = (client: pg.Client, channels: ReadonlyArray<string>, wake: Queue.Queue<void>) =>
  Effect.async<never, ListenFailed>((resume) => {
    const onNotification = (message: pg.Notification) => {
      if (channels.includes(message.channel)) Queue.unsafeOffer(wake, undefined)
    }
    const onError = (e: unknown) => resume(Effect.fail(new ListenFailed({ message: messageOf(e) })))
    const onEnd = () => resume(Effect.fail(new ListenFailed({ message: "the connection was closed" })))
    client.on("notification", onNotification)
    client.on("error", onError)
    client.on("end", onEnd)
    client.query(channels.map((c) => `LISTEN ${pg.escapeIdentifier(c)}`).join("; ")).catch(onError)
    return Effect.sync(() => {
      client.off("notification", onNotification)
      client.off("error", onError)
      client.off("end", onEnd)
    })
  })

/**
 * Offer a wake-up for every notification on `channels` until the scope closes; never fails. A
 * failing LISTEN is logged and retried every `retryEvery`. The embedded database's socket server
 * passes no notifications on, and a LISTEN would hold its only connection: there it does nothing.
 */
export const wakeOnNotify = (
  channels: ReadonlyArray<string>,
  wake: Queue.Queue<void>,
  retryEvery: Duration.Duration = Duration.minutes(1)
) =>
  Effect.gen(function* () {
    const database = yield* Effect.serviceOption(DatabaseInUse)
    if ((Option.isSome(database) && database.value._tag === "Embedded") || channels.length === 0) return
    const config = (yield* PgClient.PgClient).config
    yield* Effect.scoped(Effect.flatMap(connect(config), (client) => listen(client, channels, wake)))
  }).pipe(
    Effect.tapError((error) => Effect.logWarning(`listening for ${channels.join(", ")} failed, relying on the interval: ${error.message}`)),
    Effect.retry(Schedule.spaced(retryEvery)),
    Effect.ignore
  )
