import { SqlClient, type SqlError } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { Cause, Clock, Context, Duration, Effect, Layer, Queue, Schedule, Stream, SubscriptionRef } from "effect"
import { BackendCalls, ExecutionBackend, type ExecutionBackendService } from "../backends/execution-backend.ts"
import { warnUnlessSlurmEndsLeftovers } from "../backends/slurm-proctrack.ts"
import { collectCycle, collectSummaryLine } from "../execution/collect-loop.ts"
import { purgeCycle } from "../execution/purge.ts"
import { inFlightStatuses } from "../execution/run-status.ts"
import type { ExecutionConfig } from "../execution/execution-config.ts"
import { submitCycle, submitSummaryLine } from "../execution/submit-loop.ts"
import { evaluatePass, passSummaryLine, type PassSummary } from "../gaps/evaluate-pass.ts"
import { isCreateReason } from "../gaps/reasons.ts"
import { triggerChannels, wakeOnNotify } from "../notifications.ts"
import { messageWithCause } from "../../error-message.ts"
import { ApiBackendAccess } from "../../api/handlers/actions.ts"
import { HttpPortUnavailable, httpServer } from "../../api/http-server.ts"
import { noBackendAccess, type BackendAccess } from "../ops/cancel.ts"
import { ServeState } from "./serve-state.ts"

/*
 * `ccat serve` (docs/design/runtime.md §6.2, §6.3): the trigger, submit, collect and purge loops as fibers of one scope.
 * Each loop runs a cycle, then waits for its interval or an early wake-up (PostgreSQL NOTIFY).
 * A cycle is uninterruptible, so SIGTERM lets the transactions in flight finish; a failing
 * cycle is logged and its loop restarted with exponential backoff (1 s up to a minute), never
 * silently dead. Jobs already handed to the backend keep running and are found again at the
 * next start.
 */

export interface ServeOptions {
  readonly execution: ExecutionConfig
  readonly triggerInterval: Duration.Duration
  /** How often the trigger still evaluates each step in full (CCAT_FULL_PASS_INTERVAL). */
  readonly fullPassEvery?: Duration.Duration | undefined
  /** `CCAT_HTTP_PORT`; `null` serves no HTTP (no /healthz, /metrics, API or dashboard). */
  readonly httpPort: number | null
  /** The address to listen on; loopback (127.0.0.1) when absent. */
  readonly httpHost?: string | undefined
  /** Whether reading the API needs a token too (required beyond loopback; src/api/access.ts). */
  readonly readsNeedToken?: boolean | undefined
  /** How the API's cancel reaches a run's backend job; without it, cancelling a run with a job is refused. */
  readonly backendAccess?: BackendAccess | undefined
  /** Stop once nothing is in flight and a trigger pass created nothing (for demos and tests). */
  readonly exitWhenIdle: boolean
  /** Offered when a job ends, if the backend can tell (the local backend can): collect at once. */
  readonly collectWake?: Queue.Queue<void> | undefined
  /** Called after every trigger, submit and collect cycle (progress displays). */
  readonly onCycle?: (loop: string) => Effect.Effect<void, never, SqlClient.SqlClient>
  /** Told the line saying where HTTP is served, once listening; without it the line is logged (at info). */
  readonly onListening?: (line: string) => Effect.Effect<void>
}

type Services = SqlClient.SqlClient | PgClient.PgClient | ExecutionBackend | BackendCalls | ServeState

type LoopName = "trigger" | "submit" | "collect" | "purge"

/** What a cycle reports: a log line (or nothing worth saying), and which loops to wake now. */
interface CycleReport {
  readonly line: string | null
  readonly wake: ReadonlyArray<LoopName>
  /** Whether every item the cycle handled failed (a run submitted, a job collected); absent when it handled none. */
  readonly allFailed?: boolean
}

const supervised = <E, R>(
  name: LoopName,
  label: string | null,
  cycle: Effect.Effect<CycleReport, E, R>,
  interval: Duration.Duration,
  channels: ReadonlyArray<string>,
  wakeups: Readonly<Record<LoopName, Queue.Queue<void>>>,
  onCycle: ServeOptions["onCycle"],
  minimumGap: Duration.Duration = Duration.zero
) =>
  Effect.gen(function* () {
    const state = yield* ServeState
    const wake = wakeups[name]
    // One set of loops per location served; with one, the loops keep their plain names.
    const stateName = label === null ? name : `${name}@${label}`
    if (channels.length > 0) yield* Effect.forkScoped(wakeOnNotify(channels, wake))
    const once = Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      const report = yield* Effect.uninterruptible(cycle)
      yield* state.cycleDone(stateName, (yield* Clock.currentTimeMillis) - started)
      if (report.allFailed !== undefined) yield* state.itemsOutcome(stateName, report.allFailed)
      if (report.line !== null) yield* Effect.logInfo(report.line)
      // In-process wake-ups: work one loop finished is work for another, now, on any database.
      for (const other of report.wake) yield* Queue.offer(wakeups[other], undefined)
      if (onCycle !== undefined) yield* onCycle(name)
    }).pipe(
      Effect.tapErrorCause((cause) =>
        Effect.gen(function* () {
          const failure = Cause.squash(cause)
          // The kind of failure first (SqlError, BackendUnavailable, …), then what it says.
          const kind =
            typeof failure === "object" && failure !== null && "_tag" in failure
              ? String(failure._tag)
              : failure instanceof Error
                ? failure.name
                : "Error"
          const text = `${kind}: ${messageWithCause(failure)}`
          yield* state.cycleFailed(stateName, text)
          yield* Effect.logError(`${stateName} loop failed, restarting with backoff: ${text}`)
        })
      )
    )
    // Wake-ups never bring cycles closer together than `minimumGap`: a trigger pass woken by
    // every finished job would otherwise take the database from the loops that do the work.
    const wait = Effect.sleep(minimumGap).pipe(Effect.zipRight(Effect.raceFirst(Effect.sleep(interval), Queue.take(wake))))
    const forever = once.pipe(Effect.zipRight(wait), Effect.forever)
    return yield* forever.pipe(
      Effect.retry(Schedule.exponential(Duration.seconds(1)).pipe(Schedule.union(Schedule.spaced(Duration.minutes(1)))))
    )
  }).pipe(Effect.annotateLogs("loop", stateNameOf(name, label)))

const stateNameOf = (name: LoopName, label: string | null): string => (label === null ? name : `${name}@${label}`)

const gapOf = (summary: PassSummary): Record<string, number> =>
  Object.fromEntries(
    summary.steps.map((s) => [
      `${s.pipeline}\u0000${s.step}`,
      Object.entries(s.counts).reduce(
        (n, [r, c]) => n + (isCreateReason(r) || r === "COOLDOWN" || r === "AFTER_IN_FLIGHT" ? (c ?? 0) : 0),
        0
      )
    ])
  )

/**
 * Whether nothing is in flight, and the newest run event: every change of a run's status writes
 * one, so the same newest event at two moments, with nothing in flight at either, means no run was
 * created, or ended, in between.
 */
const runActivity = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ in_flight: number; last_event: string | null }>`
    SELECT (SELECT count(*)::int FROM executed_reduction_step WHERE status IN ${sql.in(inFlightStatuses)}) AS in_flight,
      (SELECT max(id)::text FROM run_event) AS last_event`
  return { idle: row!.in_flight === 0, lastEvent: row!.last_event }
})

/** A set's trigger passes: how many started, and the number of the last that finished. */
interface PassCount {
  readonly started: number
  readonly finished: number
}

/** Waits until a pass numbered above `number` has finished. */
const passFinishedAfter = (counter: SubscriptionRef.SubscriptionRef<PassCount>, number: number): Effect.Effect<void> =>
  counter.changes.pipe(
    Stream.filter((c) => c.finished > number),
    Stream.runHead,
    Effect.asVoid
  )

/** One location's loops: its execution settings and its backend. */
interface LoopSet {
  /** The location's name in loop names and logs; null when there is one set. */
  readonly label: string | null
  readonly execution: ExecutionConfig
  readonly backend: ExecutionBackendService
  readonly collectWake?: Queue.Queue<void> | undefined
}

/** A location to serve, with the backend its definition declares (src/runtime/serve/served-locations.ts). */
export interface ServedSite {
  readonly location: string
  readonly backend: Layer.Layer<ExecutionBackend, never, BackendCalls>
  /** Offered when a job ends, if the backend can tell (the local backend can): collect at once. */
  readonly collectWake?: Queue.Queue<void> | undefined
}

/** `ccat serve` with the ExecutionBackend of the context, for `execution.location` (or every location). */
export const serve = (options: ServeOptions): Effect.Effect<void, HttpPortUnavailable | SqlError.SqlError, Services> =>
  Effect.flatMap(ExecutionBackend, (backend) =>
    serveLoops(options, [{ label: null, execution: options.execution, backend, collectWake: options.collectWake }])
  )

/** `ccat serve` for several locations, each with the backend its definition declares: a set of loops per location. */
export const serveSites = (
  options: ServeOptions,
  sites: ReadonlyArray<ServedSite>
): Effect.Effect<void, HttpPortUnavailable | SqlError.SqlError, Exclude<Services, ExecutionBackend>> =>
  Effect.scoped(
    Effect.gen(function* () {
      const sets: Array<LoopSet> = []
      for (const site of sites) {
        const context = yield* Layer.build(site.backend)
        sets.push({
          label: sites.length === 1 ? null : site.location,
          execution: { ...options.execution, location: site.location },
          backend: Context.get(context, ExecutionBackend),
          collectWake: site.collectWake
        })
      }
      return yield* serveLoops(options, sets)
    })
  )

const serveLoops = (
  options: ServeOptions,
  sets: ReadonlyArray<LoopSet>
): Effect.Effect<void, HttpPortUnavailable | SqlError.SqlError, Exclude<Services, ExecutionBackend>> =>
  Effect.scoped(
    Effect.gen(function* () {
      const state = yield* ServeState
      // Once, whatever the number of Slurm locations: their commands all go to the one cluster
      // this host's Slurm configuration names.
      if (sets.some((set) => set.backend.kind === "slurm")) yield* warnUnlessSlurmEndsLeftovers()
      if (options.httpPort !== null) {
        const host = options.httpHost ?? "127.0.0.1"
        const port = yield* httpServer({ host, port: options.httpPort, readsNeedToken: options.readsNeedToken ?? false }).pipe(
          Effect.provideService(ApiBackendAccess, options.backendAccess ?? noBackendAccess)
        )
        const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`
        const line = `serving the dashboard on ${url}/ (API ${url}/api/v1/docs, /healthz, /metrics)`
        yield* options.onListening === undefined ? Effect.logInfo(line) : options.onListening(line)
      }
      // For --exit-when-idle, per set: how many passes started, and which finished last. Counted
      // when a pass starts: a pass that began before the last run ended may finish after it was
      // seen, having decided from the world before (it raced the exit once in CI). Subscribed
      // to, not polled: the idle check waits for exactly the pass it needs.
      const passes = yield* Effect.forEach(sets, () => SubscriptionRef.make<PassCount>({ started: 0, finished: 0 }))
      for (const [index, set] of sets.entries()) {
        const counter = passes[index]!
        const withBackend = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, ExecutionBackend, set.backend)
        const trigger = SubscriptionRef.modify(counter, (c): [number, PassCount] => [c.started + 1, { ...c, started: c.started + 1 }])
          .pipe(
            Effect.flatMap((number) =>
              evaluatePass({ location: set.execution.location, remember: true, fullEvery: options.fullPassEvery }).pipe(
                Effect.tap(() => SubscriptionRef.update(counter, (c) => ({ ...c, finished: number })))
              )
            )
          )
          .pipe(
            Effect.tap((s) => state.setGap(gapOf(s), set.label)),
            Effect.map((s): CycleReport => ({ line: passSummaryLine(s), wake: s.created > 0 ? ["submit"] : [] })),
            Effect.catchTag("NothingApplied", (e) => Effect.succeed<CycleReport>({ line: `trigger: ${e.message}`, wake: [] }))
          )
        const submit = withBackend(submitCycle(set.execution)).pipe(
          Effect.map(
            (r): CycleReport => ({
              line: r.claimed === 0 ? null : submitSummaryLine(r),
              // A full batch went out: there may be more to claim at once. A full disk: purge now.
              wake: [
                ...(r.submitted + r.adopted >= set.execution.submitBatch ? (["submit"] as const) : []),
                ...(r.outOfSpace > 0 ? (["purge"] as const) : [])
              ],
              ...(r.claimed === 0 ? {} : { allFailed: r.failed === r.claimed })
            })
          )
        )
        const collect = withBackend(collectCycle(set.execution)).pipe(
          Effect.map((r): CycleReport => {
            const ended = r.completed + r.failed + r.retried + r.lost + r.outOfSpace
            return {
              line: ended === 0 ? null : collectSummaryLine(r),
              wake: ended === 0 ? [] : ["trigger", "submit", ...(r.outOfSpace > 0 ? (["purge"] as const) : [])],
              ...(ended === 0 ? {} : { allFailed: r.completed === 0 && r.outOfSpace === 0 })
            }
          })
        )
        const purge = purgeCycle(set.execution).pipe(
          Effect.map(
            (r): CycleReport => ({
              line: r.purged === 0 ? null : `purge: ${r.purged} intermediate files deleted (${r.bytes} bytes)`,
              wake: []
            })
          )
        )
        const wakeups = {
          purge: yield* Queue.sliding<void>(1),
          trigger: yield* Queue.sliding<void>(1),
          submit: yield* Queue.sliding<void>(1),
          collect: set.collectWake ?? (yield* Queue.sliding<void>(1))
        }
        const loops = [
          supervised(
            "trigger",
            set.label,
            trigger,
            options.triggerInterval,
            triggerChannels,
            wakeups,
            options.onCycle,
            Duration.min(options.triggerInterval, Duration.seconds(2))
          ),
          supervised("submit", set.label, submit, set.execution.submitInterval, ["ccat_runs_created"], wakeups, options.onCycle),
          supervised("collect", set.label, collect, set.execution.collectInterval, [], wakeups, options.onCycle),
          supervised("purge", set.label, purge, set.execution.purgeInterval, [], wakeups, options.onCycle)
        ]
        yield* Effect.forEach(loops, (loop) => Effect.forkScoped(loop))
      }
      if (!options.exitWhenIdle) return yield* Effect.never
      // Idle: nothing in flight, and then a whole trigger pass of every set (one that started
      // after that was seen) without a run changing: none created, none ended. The newest run
      // event tells both (a pass writes one for every run it creates). Nothing in flight at both
      // ends was not enough: runs created by a pass already under way at the first look, and
      // ended before the next pass finished (which created nothing, as they were in flight),
      // left nothing in flight at either, and serve exited with calibrate done and baseline
      // never planned.
      const counts = Effect.forEach(passes, SubscriptionRef.get)
      const quiet = Effect.gen(function* () {
        const before = yield* runActivity
        if (!before.idle) return false
        const started = (yield* counts).map((c) => c.started)
        yield* Effect.forEach(passes, (p, i) => passFinishedAfter(p, started[i]!), { concurrency: "unbounded", discard: true })
        const now = yield* runActivity
        return now.idle && now.lastEvent === before.lastEvent
      })
      // Not idle yet: look again when the next pass of any set has finished (a run that ends
      // wakes the trigger, and a pass comes at least every trigger interval).
      while (!(yield* quiet)) {
        const finished = (yield* counts).map((c) => c.finished)
        yield* Effect.raceAll(passes.map((p, i) => passFinishedAfter(p, finished[i]!)))
      }
    })
  )
