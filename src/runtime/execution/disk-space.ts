import { Clock, Context, Effect, Ref } from "effect"
import { statfsSync } from "node:fs"

/*
 * A full disk pauses work at a location; it never fails runs (the result-integrity issue, item
 * 6). When staging runs out of space (or inodes), or a job ends having run out of it, the run
 * goes back to PENDING without the attempt counting against its retries, and the location is
 * short of space: the submit loop claims no work for it, the purge loop is woken, `/healthz`
 * says degraded and names the folder, and a warning says the same once. Each submit cycle looks
 * at the file system again; once there is room for what failed (and some inodes), the location
 * resumes on its own.
 *
 * The shortages are this process's own knowledge (another replica finds out for itself at its
 * first ENOSPC); `DiskSpace` is a Context.Reference, so every loop of a process shares one
 * without wiring, and a test can provide its own.
 */

export interface FreeSpace {
  readonly bytes: number
  /** Free inodes; `null` for a file system without a fixed number. */
  readonly inodes: number | null
}

/** What `statfs` says is free at `path` for an unprivileged writer (bavail, as df's Avail). */
export const freeSpaceAt = (path: string): FreeSpace => {
  const s = statfsSync(path)
  return { bytes: s.bavail * s.bsize, inodes: s.files === 0 ? null : s.ffree }
}

/** An error of the file system saying it is full: ENOSPC (blocks or inodes) or EDQUOT (a quota). */
export const isOutOfSpaceError = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | null)?.code
  return code === "ENOSPC" || code === "EDQUOT"
}

/** A program's own words for it, in the tail of its output. */
export const mentionsOutOfSpace = (text: string): boolean => /no space left on device|disk quota exceeded|ENOSPC|EDQUOT/i.test(text)

export interface Shortage {
  readonly location: string
  /** The folder whose file system is full (the location's base folder). */
  readonly folder: string
  /** How much must be free before work resumes: what the failed staging or job needed. */
  readonly neededBytes: number
  readonly neededInodes: number
  readonly since: Date
  /** What ran out, in words: "staging run 12: ENOSPC: no space left on device, copyfile ...". */
  readonly what: string
}

/** Room is what the failure needed, plus a margin so that one more file does not fill it again. */
const hasRoom = (free: FreeSpace, s: Shortage): boolean =>
  free.bytes >= s.neededBytes + Math.min(64 * 1024 * 1024, Math.ceil(s.neededBytes / 10)) + 1024 * 1024 &&
  (free.inodes === null || free.inodes >= s.neededInodes + 16)

export interface DiskSpaceService {
  /** Remember that `location` is out of space; true when it was not known before (then log and wake purge). */
  readonly report: (shortage: Omit<Shortage, "since">) => Effect.Effect<boolean>
  /** The locations still short of space, each looked at again first: those with room now resume. */
  readonly blocked: Effect.Effect<ReadonlyArray<Shortage>>
  /** The shortages as last known, without looking (for /healthz and /metrics). */
  readonly shortages: Effect.Effect<ReadonlyArray<Shortage>>
}

export const makeDiskSpace = (free: (path: string) => FreeSpace = freeSpaceAt): Effect.Effect<DiskSpaceService> =>
  Effect.gen(function* () {
    const state = yield* Ref.make(new Map<string, Shortage>())
    return {
      report: (shortage) =>
        Effect.gen(function* () {
          const since = new Date(yield* Clock.currentTimeMillis)
          const known = (yield* Ref.get(state)).get(shortage.location)
          yield* Ref.update(state, (m) =>
            new Map(m).set(shortage.location, {
              ...shortage,
              since: known?.since ?? since,
              neededBytes: Math.max(shortage.neededBytes, known?.neededBytes ?? 0),
              neededInodes: Math.max(shortage.neededInodes, known?.neededInodes ?? 0)
            })
          )
          if (known !== undefined) return false
          yield* Effect.logWarning(
            `location ${shortage.location}: out of space in ${shortage.folder} (${shortage.what}); no new work is staged there until ` +
              `${Math.ceil(shortage.neededBytes / (1024 * 1024))} MiB are free; purging what may be purged. Runs it interrupted are retried without counting.`
          )
          return true
        }),
      blocked: Effect.gen(function* () {
        const still: Array<Shortage> = []
        for (const s of (yield* Ref.get(state)).values()) {
          let room: boolean
          try {
            room = hasRoom(free(s.folder), s)
          } catch {
            room = false // the folder is gone or unreadable: not room
          }
          if (!room) {
            still.push(s)
            continue
          }
          yield* Ref.update(state, (m) => {
            const next = new Map(m)
            next.delete(s.location)
            return next
          })
          yield* Effect.logWarning(`location ${s.location}: ${s.folder} has room again; staging work there resumes`)
        }
        return still
      }),
      shortages: Effect.map(Ref.get(state), (m) => [...m.values()])
    } satisfies DiskSpaceService
  })

/** The process's disk-space knowledge; one per process unless a test provides its own. */
export class DiskSpace extends Context.Reference<DiskSpace>()("ccat/DiskSpace", {
  defaultValue: () => Effect.runSync(makeDiskSpace())
}) {}
