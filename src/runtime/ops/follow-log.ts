import { SqlClient, type SqlError } from "@effect/sql"
import { Chunk, Data, Duration, Effect, Option, Stream } from "effect"
import { open } from "node:fs/promises"
import type { RunStatus } from "../execution/run-status.ts"
import { UnknownRun } from "./errors.ts"
import { logPath, type LogStream } from "./logs.ts"
import { findRun, finishedStatuses, type RunSummary } from "./run-row.ts"

/*
 * A run's log as the job writes it (`ccat logs -f`, and what the HTTP API's live log needs): the
 * text already there, then what the job appends, looked for every `pollEvery`, and at last how
 * the run ended. The end comes once the run has ended and the file has been read to its end
 * after that, so no line the job wrote before it ended is lost.
 */

export type LogFollowEvent = Data.TaggedEnum<{
  /** New text of the log. A UTF-8 character split across two reads waits for its rest. */
  Text: { readonly text: string }
  /** The run ended with `status`; `staged` is false for a run that ended (or, see waitForFolder, is) without a folder, so without a log. */
  Ended: { readonly status: RunStatus; readonly staged: boolean }
}>

export const LogFollowEvent = Data.taggedEnum<LogFollowEvent>()

export interface FollowLogOptions {
  /** How long to wait after a look that found nothing new (default 500 ms). */
  readonly pollEvery?: Duration.DurationInput
  /** At most this many bytes per Text (default 64 KiB): a reader gets a long log in pieces. */
  readonly chunkBytes?: number
  /**
   * A run not staged yet has no folder: wait for it (default), or end at once with
   * `Ended { staged: false }` (a page that asks again when the run changes).
   */
  readonly waitForFolder?: boolean
}

export interface FollowedLog {
  /** The run as it was when following began. */
  readonly run: RunSummary
  /** Ends after exactly one Ended; fails with UnknownRun if the run is deleted meanwhile. */
  readonly events: Stream.Stream<LogFollowEvent, UnknownRun, SqlClient.SqlClient>
}

const isFinished = (status: RunStatus): boolean => finishedStatuses.includes(status)

/** The bytes of `path` from `offset` on, at most `max`; empty when there is nothing new or no file (yet). */
const readFrom = (path: string, offset: number, max: number) =>
  Effect.tryPromise(async () => {
    const handle = await open(path, "r")
    try {
      const buffer = Buffer.alloc(max)
      const { bytesRead } = await handle.read(buffer, 0, max, offset)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  }).pipe(Effect.orElseSucceed(() => Buffer.alloc(0)))

/** The run now, or None when the database did not answer: a quiet look, not the end of following. */
const lookUp = (runId: number): Effect.Effect<Option.Option<RunSummary>, UnknownRun, SqlClient.SqlClient> =>
  findRun(runId).pipe(
    Effect.map(Option.some),
    Effect.catchTag("SqlError", () => Effect.succeed(Option.none()))
  )

/** Follows the log `stream` of run `runId`; fails at once for an unknown run or a database that does not answer. */
export const followRunLog = (
  runId: number,
  stream: LogStream,
  options: FollowLogOptions = {}
): Effect.Effect<FollowedLog, UnknownRun | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const run = yield* findRun(runId)
    const pollEvery = Duration.decode(options.pollEvery ?? Duration.millis(500))
    const chunkBytes = options.chunkBytes ?? 64 * 1024
    const waitForFolder = options.waitForFolder ?? true
    const decoder = new TextDecoder("utf-8")
    let path = run.runDir === null ? undefined : logPath(run.runDir, stream)
    let offset = 0
    // Seen ended: the next read that finds nothing new is the end of the log.
    let endedAs: RunStatus | undefined
    let done = false
    // The last look found nothing: wait before the next one. After a read that found text, the
    // next read comes at once, so a long log streams at the speed of the reader.
    let quiet = false

    const nothingNew = (): Chunk.Chunk<LogFollowEvent> => {
      quiet = true
      return Chunk.empty()
    }

    const ended = (status: RunStatus, staged: boolean): Chunk.Chunk<LogFollowEvent> => {
      done = true
      const rest = decoder.decode()
      const end = LogFollowEvent.Ended({ status, staged })
      return rest === "" ? Chunk.of(end) : Chunk.make(LogFollowEvent.Text({ text: rest }), end)
    }

    const look: Effect.Effect<Chunk.Chunk<LogFollowEvent>, UnknownRun, SqlClient.SqlClient> = Effect.gen(function* () {
      if (path === undefined) {
        const now = yield* lookUp(runId)
        if (Option.isNone(now)) return nothingNew()
        if (now.value.runDir === null) {
          if (isFinished(now.value.status) || !waitForFolder) return ended(now.value.status, false)
          return nothingNew()
        }
        path = logPath(now.value.runDir, stream)
      }
      const bytes = yield* readFrom(path, offset, chunkBytes)
      if (bytes.length > 0) {
        offset += bytes.length
        const text = decoder.decode(bytes, { stream: true })
        return text === "" ? Chunk.empty() : Chunk.of(LogFollowEvent.Text({ text }))
      }
      if (endedAs !== undefined) return ended(endedAs, true)
      const now = yield* lookUp(runId)
      if (Option.isSome(now) && isFinished(now.value.status)) {
        // One more read before the end: the job may have written its last lines after the one above.
        endedAs = now.value.status
        return Chunk.empty()
      }
      return nothingNew()
    })

    const next = Effect.suspend(() => {
      if (done) return Effect.fail(Option.none())
      const wait = quiet ? Effect.sleep(pollEvery) : Effect.void
      quiet = false
      return wait.pipe(Effect.zipRight(look), Effect.mapError(Option.some))
    })
    return { run, events: Stream.repeatEffectChunkOption(next) }
  })
