import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { performance } from "node:perf_hooks"
import { migrate } from "../../src/db/migrate.ts"
import { passSummaryLine } from "../../src/runtime/gaps/evaluate-pass.ts"
import { obsUnitCount, SCANS_PER_NIGHT, seedCatalog, seedScans } from "./archive.ts"
import { analyze, settle, timedLoopPass, timedPass, timedPreview, type TimedPass } from "./passes.ts"
import { applyPipeline, pipelineSteps } from "./pipeline.ts"
import { memory } from "./memory.ts"
import { fmt, log, median, medianIndex, mib, ms } from "./report.ts"
import { breakdown } from "./statement-profile.ts"

// What one size measures, in order: seed (or resume), first pass, full passes, unchanged and
// incremental loop passes, plan previews. See bench/gaps.ts for what each means; it runs each
// size in a process of its own.

export const RUNS = 5
const INCREMENT_SCANS = 500 // two packages each: 1k new packages per incremental pass

export interface SizeResult {
  readonly size: number
  /** `1M`, or for a resumed database its package count when the timing began. */
  readonly label: string
  /** Null when resumed (`--resume`): the database was seeded and first passed by an earlier run. */
  readonly seedMs: number | null
  readonly firstPassMs: number | null
  readonly firstPassCreated: number | null
  readonly fullPassMs: ReadonlyArray<number>
  readonly incrementalMs: ReadonlyArray<number>
  readonly incrementalCreated: ReadonlyArray<number>
  /** `ccat plan`'s preview from the loop's memory, just before each incremental pass. */
  readonly previewMs: ReadonlyArray<number>
  readonly startRss: number
  readonly peakRss: number
  readonly peakHeap: number
  readonly maxRss: number
  readonly runs: number
  /** Packages when the timing began (a resumed database's own count). */
  readonly packages: number
  readonly databaseBytes: number
}

/** The archive of a fresh database: migrated, seeded, the pipeline applied and its first pass timed. */
const seedAndFirstPass = (size: number, label: string) =>
  Effect.gen(function* () {
    const scans = size / 2
    memory.startPhase()
    yield* migrate
    const seedStart = performance.now()
    yield* seedCatalog
    // In chunks of 250k scans, so a progress line shows up every half a million packages.
    const chunk = 250_000
    for (let from = 0; from < scans; from += chunk) {
      const count = Math.min(chunk, scans - from)
      yield* seedScans(from, count)
      log(label, `seeded ${fmt((from + count) * 2)} / ${fmt(size)} packages`)
    }
    yield* analyze
    const seedMs = performance.now() - seedStart
    log(
      label,
      `seed + VACUUM ANALYZE: ${ms(seedMs)} (${fmt(scans)} scans over ${fmt(Math.ceil(scans / SCANS_PER_NIGHT))} nights, ${obsUnitCount} obs units); rss peak ${mib(memory.endPhase())}`
    )

    const { generation, steps } = yield* applyPipeline
    log(label, `applied the pipeline (generation ${generation}; steps ${steps.join(" → ")})`)

    // 1. The first pass: a run for every scan.
    memory.startPhase()
    const first = yield* timedPass
    log(label, `first pass: ${ms(first.ms)} — ${passSummaryLine(first.summary)}; rss peak ${mib(memory.endPhase())}`)
    for (const line of breakdown(first.timings, steps, first.ms)) log(label, `    ${line}`)
    return { seedMs, firstPassMs: first.ms, firstPassCreated: first.summary.created, scans, packages: size, steps }
  })

/**
 * A database kept by an earlier run (`--resume`): migrated (new migrations apply), its scans
 * counted so new ones continue the numbering, and the loop's memory cleared, so the measures
 * below start where a fresh run's would.
 */
const resumeArchive = (label: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* migrate
    const [row] = yield* sql<{ scans: number; packages: number }>`
      SELECT (SELECT count(*)::int FROM executed_obs_unit) AS scans, (SELECT count(*)::int FROM raw_data_package) AS packages`
    yield* sql`DELETE FROM trigger_sub_group_state`
    yield* sql`DELETE FROM trigger_step_state`
    const steps = pipelineSteps()
    log(label, `${fmt(row?.packages ?? 0)} packages, ${fmt(row?.scans ?? 0)} scans; migrated, loop memory cleared`)
    return { seedMs: null, firstPassMs: null, firstPassCreated: null, scans: row?.scans ?? 0, packages: row?.packages ?? 0, steps }
  })

export const measureSize = (size: number, label: string, stepNames: { current: ReadonlyArray<string> }, resume: boolean) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { seedMs, firstPassMs, firstPassCreated, scans, packages, steps } = resume
      ? yield* resumeArchive(label)
      : yield* seedAndFirstPass(size, label)
    stepNames.current = steps

    // 2. Settle (complete everything, pass until nothing changes), then time passes with
    // nothing to do.
    memory.startPhase()
    const settleStart = performance.now()
    const rounds = yield* settle(label, true)
    yield* analyze
    log(
      label,
      `settled in ${rounds} rounds, ${ms(performance.now() - settleStart)} (incl. VACUUM ANALYZE); rss peak ${mib(memory.endPhase())}`
    )
    memory.startPhase()
    const warm = yield* timedPass
    log(label, `full pass warm-up: ${ms(warm.ms)} — ${passSummaryLine(warm.summary)}`)
    const full: Array<TimedPass> = []
    for (let i = 0; i < RUNS; i++) {
      const pass = yield* timedPass
      full.push(pass)
      log(label, `full pass ${i + 1}/${RUNS}: ${ms(pass.ms)} — ${passSummaryLine(pass.summary)}`)
      if (pass.summary.created !== 0) log(label, `  warning: a pass in a settled archive created ${pass.summary.created} runs`)
    }
    const fullMs = full.map((p) => p.ms)
    const fullMedian = full[medianIndex(fullMs)]!
    log(
      label,
      `full pass median ${ms(median(fullMs))} (min ${ms(Math.min(...fullMs))}, max ${ms(Math.max(...fullMs))}); rss peak ${mib(memory.endPhase())}; median run by statement:`
    )
    for (const line of breakdown(fullMedian.timings, steps, fullMedian.ms)) log(label, `    ${line}`)

    // 2b. What the trigger loop actually does between changes: a remembering pass (step-memo.ts)
    // skips the steps nothing changed for. The first one evaluates and remembers.
    const firstLoop = yield* timedLoopPass
    log(label, `first loop pass (full, remembering every decision): ${ms(firstLoop.ms)} — ${passSummaryLine(firstLoop.summary)}`)
    for (const line of breakdown(firstLoop.timings, steps, firstLoop.ms)) log(label, `    ${line}`)
    const quiet: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now()
      const { summary } = yield* timedLoopPass
      quiet.push(performance.now() - start)
      log(label, `unchanged pass ${i + 1}/${RUNS}: ${ms(quiet[i]!)} — ${passSummaryLine(summary)}`)
    }
    log(label, `unchanged pass (remembering) median ${ms(median(quiet))}`)

    // 3. Incremental: 1k new packages in a settled archive; time the trigger loop's pass that
    // creates their runs, then settle again (untimed, with the loop's passes, which keeps its
    // memory current) so every measured pass starts from the same state.
    memory.startPhase()
    const incremental: Array<TimedPass> = []
    for (let i = 0; i < RUNS; i++) {
      yield* seedScans(scans + i * INCREMENT_SCANS, INCREMENT_SCANS)
      const pass = yield* timedLoopPass
      incremental.push(pass)
      log(
        label,
        `incremental pass ${i + 1}/${RUNS} (+${fmt(INCREMENT_SCANS * 2)} packages): ${ms(pass.ms)} — ${passSummaryLine(pass.summary)}`
      )
      const settleStart = performance.now()
      const rounds = yield* settle(label, true, timedLoopPass)
      log(label, `  settled again in ${rounds} rounds, ${ms(performance.now() - settleStart)} (untimed)`)
    }
    const incMs = incremental.map((p) => p.ms)
    const incMedian = incremental[medianIndex(incMs)]!
    log(
      label,
      `incremental pass median ${ms(median(incMs))} (min ${ms(Math.min(...incMs))}, max ${ms(Math.max(...incMs))}); rss peak ${mib(memory.endPhase())}; median run by statement:`
    )
    for (const line of breakdown(incMedian.timings, steps, incMedian.ms)) log(label, `    ${line}`)

    // 4. `ccat plan` in the same situation: 1k new packages since the loop's last pass, previewed
    // from its memory (rolled back). Apart from the incremental passes: the preview reads and
    // writes the pages the pass then finds in memory (the pass ran 40% faster after it).
    const previews: Array<TimedPass> = []
    for (let i = 0; i < RUNS; i++) {
      yield* seedScans(scans + (RUNS + i) * INCREMENT_SCANS, INCREMENT_SCANS)
      const preview = yield* timedPreview
      previews.push(preview)
      log(
        label,
        `plan preview ${i + 1}/${RUNS} (from the loop's memory, +${fmt(INCREMENT_SCANS * 2)} packages since): ${ms(preview.ms)} — ${passSummaryLine(preview.summary)}`
      )
      const pass = yield* timedLoopPass
      if (pass.summary.created !== preview.summary.created)
        log(label, `  warning: the preview would create ${preview.summary.created} runs, the pass created ${pass.summary.created}`)
      yield* settle(label, true, timedLoopPass)
    }
    const previewMs = previews.map((p) => p.ms)
    log(
      label,
      `plan preview from the loop's memory median ${ms(median(previewMs))} (min ${ms(Math.min(...previewMs))}, max ${ms(Math.max(...previewMs))}); the full pass above is the preview without memory`
    )

    const [counts] = yield* sql<{ runs: number; bytes: string }>`
      SELECT (SELECT count(*)::int FROM executed_reduction_step) AS runs, pg_database_size(current_database())::text AS bytes`
    return {
      seedMs,
      firstPassMs,
      firstPassCreated,
      fullPassMs: fullMs,
      incrementalMs: incMs,
      incrementalCreated: incremental.map((p) => p.summary.created),
      previewMs,
      runs: counts?.runs ?? 0,
      packages,
      databaseBytes: Number(counts?.bytes ?? 0)
    }
  })
