import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Clock, Duration, Effect, Option, type Scope } from "effect"
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs"
import { connect } from "node:net"
import { join, resolve } from "node:path"
import { pgliteFolder } from "./config.ts"
import { errorCode, processExists, readServerRecord, serverRecordPath, serverRecordUrl, type ServerRecord } from "./server-record.ts"
import { EmbeddedDatabaseFailed, EmbeddedDataDirNotWritable, EmbeddedOwnerNotAnswering, type EmbeddedServerError } from "./errors.ts"

/*
 * The embedded database (docs/design/runtime.md §7.2). PGlite is a single-process database: only one process
 * may open its folder. The first ccat process to get here becomes the folder's owner and serves
 * PGlite on a loopback port; every other process reads the address from server.json and connects
 * there, through the same PostgreSQL client as for a real server.
 *
 * Files in CCAT_DATA_DIR:
 *   pgdata/              PGlite's data
 *   pgdata.lock          the owner's pid; created exclusively, so exactly one owner at a time
 *   pgdata.lock.takeover held for a moment by whoever removes the lock of a dead owner, so that
 *                        two processes taking over at once cannot both remove (and so both win)
 *   server.json          { host, port, pid, startedAt }, written once the owner serves
 *
 * The file operations are synchronous on purpose: exclusive create, rename and unlink are the
 * atomic steps the protocol relies on, and doing them synchronously keeps each step indivisible
 * for concurrent acquisitions inside one process too.
 */

export interface EmbeddedServer {
  readonly dataDir: string
  /** Where to connect: postgres://postgres@127.0.0.1:PORT/postgres (no password; loopback only). */
  readonly url: string
  readonly host: string
  readonly port: number
  /** The owner's process id. */
  readonly pid: number
  /** Whether this process is the owner (serves the folder) or a guest of another process. */
  readonly owner: boolean
}

export interface EmbeddedServerOptions {
  /** How long to wait for another process that holds the folder to start serving. PGlite's first start (initdb) takes seconds. */
  readonly startupTimeout?: Duration.DurationInput
  /** How long a live owner's recorded port may fail to answer before giving up. */
  readonly answerTimeout?: Duration.DurationInput
  readonly pollInterval?: Duration.DurationInput
}

export type { ServerRecord }
export { readServerRecord }

export const embeddedFiles = (dataDir: string) => ({
  pgdata: join(dataDir, pgliteFolder),
  lock: join(dataDir, `${pgliteFolder}.lock`),
  takeover: join(dataDir, `${pgliteFolder}.lock.takeover`),
  serverJson: serverRecordPath(dataDir)
})

const host = "127.0.0.1"
// PGlite runs one statement at a time; the socket server multiplexes connections onto it. Several
// processes (serve, plan, the language server) each hold a small pool, so leave room for them.
const serverMaxConnections = 8
// A lock file is empty only between its exclusive creation and the write of the pid just after.
const emptyLockGrace = Duration.seconds(10)

// Folders this process owns right now: our own pid in a lock file means "alive" only if the
// folder is in here (otherwise it is the lock of an earlier process that had the same pid).
const ownedHere = new Set<string>()

const errorText = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))
const ownerAlive = (dataDir: string, pid: number): boolean => (pid === process.pid ? ownedHere.has(dataDir) : processExists(pid))

const readText = (path: string): Option.Option<string> => {
  try {
    return Option.some(readFileSync(path, "utf8"))
  } catch {
    return Option.none()
  }
}

const removeFile = (path: string): void => rmSync(path, { force: true })

type LockState =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Held"; readonly pid: number; readonly content: string }
  | { readonly _tag: "Empty"; readonly ageMs: number }

const readLock = (path: string, now: number): LockState => {
  const text = readText(path)
  if (Option.isNone(text)) return { _tag: "Missing" }
  const pid = Number.parseInt(text.value.trim(), 10)
  if (Number.isSafeInteger(pid)) return { _tag: "Held", pid, content: text.value }
  let mtime = now
  try {
    mtime = statSync(path).mtimeMs
  } catch {
    // vanished meanwhile: as good as fresh
  }
  return { _tag: "Empty", ageMs: now - mtime }
}

/** Creates the file exclusively with our pid in it; false when it exists already. */
const createExclusive = (dataDir: string, path: string): Effect.Effect<boolean, EmbeddedDataDirNotWritable> =>
  Effect.try({
    try: () => {
      let fd: number
      try {
        fd = openSync(path, "wx")
      } catch (cause) {
        if (errorCode(cause) === "EEXIST") return false
        throw cause
      }
      try {
        writeSync(fd, `${process.pid}\n`)
      } finally {
        closeSync(fd)
      }
      return true
    },
    catch: (cause) => new EmbeddedDataDirNotWritable({ dir: dataDir, detail: errorText(cause) })
  })

/** Whether something accepts TCP connections at host:port. */
const answers = (record: ServerRecord, timeout: Duration.Duration): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const socket = connect({ host: record.host, port: record.port })
    const done = (ok: boolean) => {
      socket.destroy()
      resume(Effect.succeed(ok))
    }
    socket.setTimeout(Duration.toMillis(timeout), () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
    return Effect.sync(() => socket.destroy())
  })

const urlOf = serverRecordUrl

/**
 * Removes the lock of a dead owner, unless someone else is doing so right now. Whoever holds the
 * takeover file re-reads the lock and removes it only if it still names the dead owner: a lock
 * that a new owner created meanwhile stays.
 */
const takeOver = (dataDir: string, stale: LockState, now: number): Effect.Effect<void, EmbeddedDataDirNotWritable> =>
  Effect.gen(function* () {
    const files = embeddedFiles(dataDir)
    if (yield* createExclusive(dataDir, files.takeover)) {
      yield* Effect.try({
        try: () => {
          const current = readLock(files.lock, now)
          const same =
            (current._tag === "Held" && stale._tag === "Held" && current.content === stale.content) ||
            (current._tag === "Empty" && stale._tag === "Empty")
          if (same) removeFile(files.lock)
        },
        catch: (cause) => new EmbeddedDataDirNotWritable({ dir: dataDir, detail: errorText(cause) })
      }).pipe(Effect.ensuring(Effect.sync(() => removeFile(files.takeover))))
      return
    }
    // Someone else is taking over. If that someone died in the middle, clear its takeover file.
    const other = readLock(files.takeover, now)
    const abandoned =
      (other._tag === "Held" && !ownerAlive(dataDir, other.pid)) ||
      (other._tag === "Empty" && other.ageMs > Duration.toMillis(emptyLockGrace))
    if (abandoned) yield* Effect.sync(() => removeFile(files.takeover))
  })

/** Opens PGlite and serves it; the scope's end stops serving and releases the folder. */
const serve = (dataDir: string): Effect.Effect<EmbeddedServer, EmbeddedServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const files = embeddedFiles(dataDir)
    // Whatever server.json is there belongs to a dead owner: we hold the lock now.
    yield* Effect.sync(() => removeFile(files.serverJson))
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PGlite.create(files.pgdata),
        catch: (cause) => new EmbeddedDatabaseFailed({ dir: dataDir, detail: errorText(cause) })
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const server = new PGLiteSocketServer({ db, host, port: 0, maxConnections: serverMaxConnections })
          await server.start()
          return server
        },
        catch: (cause) => new EmbeddedDatabaseFailed({ dir: dataDir, detail: `cannot serve it on ${host}: ${errorText(cause)}` })
      }),
      (server) => Effect.promise(() => server.stop()).pipe(Effect.ignore)
    )
    const port = Number(server.getServerConn().split(":").pop())
    const record: ServerRecord = { host, port, pid: process.pid, startedAt: new Date(yield* Clock.currentTimeMillis).toISOString() }
    yield* Effect.acquireRelease(
      Effect.try({
        // Written aside and renamed, so a reader never sees half a file.
        try: () => {
          const partial = `${files.serverJson}.${process.pid}.tmp`
          writeFileSync(partial, JSON.stringify(record, null, 2) + "\n")
          renameSync(partial, files.serverJson)
        },
        catch: (cause) => new EmbeddedDataDirNotWritable({ dir: dataDir, detail: errorText(cause) })
      }),
      // Removed first, before the server stops: no newcomer should find an address about to die.
      () => Effect.sync(() => removeFile(files.serverJson))
    )
    return { dataDir, url: urlOf(record), host, port, pid: process.pid, owner: true }
  })

/**
 * The embedded database in `dataDir`: served by this process (the first to come) or by the
 * process that already owns the folder. The connection URL stays valid while the scope is open.
 */
export const embeddedServer = (
  folder: string,
  options: EmbeddedServerOptions = {}
): Effect.Effect<EmbeddedServer, EmbeddedServerError, Scope.Scope> =>
  Effect.gen(function* () {
    // One spelling per folder: ownedHere and the messages use it.
    const dataDir = resolve(folder)
    const startupTimeout = Duration.toMillis(options.startupTimeout ?? Duration.seconds(60))
    const answerTimeout = Duration.toMillis(options.answerTimeout ?? Duration.seconds(5))
    const pollInterval = Duration.decode(options.pollInterval ?? Duration.millis(50))
    const files = embeddedFiles(dataDir)

    yield* Effect.try({
      try: () => mkdirSync(dataDir, { recursive: true }),
      catch: (cause) => new EmbeddedDataDirNotWritable({ dir: dataDir, detail: errorText(cause) })
    })

    const start = yield* Clock.currentTimeMillis
    // First time a live owner's recorded port failed to answer, to give it answerTimeout in all.
    let silentSince: number | undefined

    const attempt: Effect.Effect<EmbeddedServer, EmbeddedServerError, Scope.Scope> = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const recorded = readServerRecord(dataDir)
      if (Option.isSome(recorded) && ownerAlive(dataDir, recorded.value.pid)) {
        const record = recorded.value
        if (yield* answers(record, Duration.millis(Math.min(answerTimeout, 1000)))) {
          return { dataDir, url: urlOf(record), host: record.host, port: record.port, pid: record.pid, owner: false }
        }
        silentSince ??= now
        if (now - silentSince >= answerTimeout) {
          return yield* new EmbeddedOwnerNotAnswering({ dir: dataDir, pid: record.pid, address: `${record.host}:${record.port}` })
        }
        yield* Effect.sleep(pollInterval)
        return yield* attempt
      }

      // Uninterruptible: once the lock file exists, its removal is registered.
      const claimed = yield* Effect.uninterruptible(
        Effect.gen(function* () {
          const created = yield* createExclusive(dataDir, files.lock)
          if (created) {
            ownedHere.add(dataDir)
            yield* Effect.addFinalizer(() =>
              Effect.sync(() => {
                ownedHere.delete(dataDir)
                removeFile(files.lock)
              })
            )
          }
          return created
        })
      )
      if (claimed) return yield* serve(dataDir)

      const lock = readLock(files.lock, now)
      const dead =
        (lock._tag === "Held" && !ownerAlive(dataDir, lock.pid)) ||
        (lock._tag === "Empty" && lock.ageMs > Duration.toMillis(emptyLockGrace))
      if (dead) {
        yield* takeOver(dataDir, lock, now)
        return yield* attempt
      }
      if (lock._tag === "Held" && now - start >= startupTimeout) {
        return yield* new EmbeddedOwnerNotAnswering({ dir: dataDir, pid: lock.pid })
      }
      // The owner is starting (or just left): look again shortly.
      if (lock._tag !== "Missing") yield* Effect.sleep(pollInterval)
      return yield* attempt
    })

    return yield* attempt
  })
