import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Data, type Duration, Effect } from "effect"
import type { IrWorkspace } from "../../compiler/ir.ts"
import { appliedIr, pipelinesToEvaluate, type AppliedDefinitionsError, type PipelineToEvaluate } from "./applied-definitions.ts"
import { evaluateStep, type RequestScope, type StepDecision } from "./evaluate-step.ts"
import { isCreateReason, unsettledReasons, type ReasonCode } from "./reasons.ts"
import { type Counts, defaultFullEvery, reconcileNext, worldSignals, type WorldSignals } from "./step-memo.ts"
import { evaluateFromMemory, evaluateRemembering } from "./step-with-memory.ts"
import { consumeRequest, oldestOpenRequest, recordCronTick, type OpenRequest } from "./trigger-requests.ts"

/*
 * One trigger pass (docs/design/runtime.md §2.1): for each enabled pipeline, decide whether it is triggered
 * now (continuous: always; cron: an open tick; manual: an open request), then evaluate its steps
 * upstream first, each in its own transaction, so a downstream step sees the runs its upstream
 * created in the same pass and waits for them.
 *
 * A pass is idempotent: everything it inserts is keyed by a unique constraint and inserted with
 * ON CONFLICT DO NOTHING, so a second pass, or a second instance racing this one, creates
 * nothing new.
 */

export interface PassOptions {
  /** Evaluate this IR instead of the applied one (`ccat plan`, inside a transaction it rolls back). */
  readonly ir?: IrWorkspace | undefined
  /** Only pipelines at this location; `null` for all. */
  readonly location?: string | null | undefined
  /** Evaluate as of this time instead of the clock's (a preview of what a later pass will do). */
  readonly at?: Date | undefined
  /** Who the run events name. */
  readonly actor?: string | undefined
  /** Only this pipeline (and step). */
  readonly only?: { readonly pipeline: string; readonly step?: string | undefined } | undefined
  /**
   * Skip steps whose inputs cannot have changed since the last pass that remembered them,
   * evaluate only the sub-groups that can have changed (step-memo.ts), and remember this
   * pass's decisions. For the trigger loop; explicit passes evaluate everything, and previews
   * too unless they start `fromMemory`.
   */
  readonly remember?: boolean | undefined
  /**
   * Start from what the trigger loop remembers and write nothing to it (step-memo.ts): a step
   * unchanged since the loop's last pass reports the remembered counts, a changed one is decided
   * on its changed sub-groups, as the loop's next pass would. For previews that report counts
   * (`ccat plan`, `ccat status`): at a million packages they then cost what the loop's pass
   * costs, not a full evaluation's seconds. With `explain` of one sub-group (`ccat why <step>
   * <key>`), that sub-group is decided again too, whatever changed. No effect with `remember`, a
   * request, or `explain` of whole steps.
   */
  readonly fromMemory?: boolean | undefined
  /**
   * With `fromMemory`: also decide again every sub-group the loop remembers with one of these
   * reasons, so that the step's temporary tables hold them all (`ccat status` reads the inputs
   * of the sub-groups with a gap).
   */
  readonly alsoRemembered?: ReadonlyArray<ReasonCode> | undefined
  /** With `remember`: evaluate each step in full at least this often (default 10 minutes). */
  readonly fullEvery?: Duration.Duration | undefined
  /** Keep every decision of the evaluated steps (or of one step, or one sub-group of it), not only counts. */
  readonly explain?: { readonly step?: string | undefined; readonly subGroupKey?: string | undefined } | undefined
}

export type StepStatus =
  | { readonly _tag: "Evaluated"; readonly request: OpenRequest | null }
  /** A cron or manual pipeline without an open request, or a step outside the request's scope. */
  | { readonly _tag: "NotTriggered"; readonly why: "no-request" | "outside-request" }

export interface StepOutcome {
  /** The counts are those of an earlier pass: nothing the step depends on changed since. */
  readonly remembered?: boolean
  /** Only the sub-groups that can have changed were decided (`decided` of them); the counts are still the whole step's. */
  readonly incremental?: boolean
  /** How many sub-groups this pass decided. */
  readonly decided?: number
  readonly pipeline: string
  readonly step: string
  readonly stepId: number
  readonly status: StepStatus
  readonly counts: Readonly<Partial<Record<ReasonCode, number>>>
  readonly created: number
  readonly decisions: ReadonlyArray<StepDecision> | null
}

export interface PassSummary {
  readonly at: Date
  readonly steps: ReadonlyArray<StepOutcome>
  readonly created: number
  readonly consumedRequests: ReadonlyArray<number>
  readonly durationMillis: number
  /**
   * Set by a preview (preview.ts): the newest run id that existed when it began. Its decisions
   * can name the runs it created itself (an upstream run a downstream sub-group waits for, a run
   * in flight when a step is decided again in the same pass): those ids are larger, and never
   * exist once the preview is rolled back (createdInPreview).
   */
  readonly lastExistingRunId?: number | undefined
}

export class NothingApplied extends Data.TaggedError("NothingApplied")<{}> {
  override get message(): string {
    return "no definitions have been applied yet: run `ccat apply <dir>` first"
  }
}

/** The steps (of `stepIds`) a downstream step asked to rebuild a run of (rebuild_request). */
const stepsAskedToRebuild = (stepIds: ReadonlyArray<number>): Effect.Effect<ReadonlySet<number>, SqlError.SqlError, SqlClient.SqlClient> =>
  stepIds.length === 0
    ? Effect.succeed(new Set())
    : Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ step_id: string }>`SELECT DISTINCT step_id FROM rebuild_request WHERE step_id IN ${sql.in(stepIds)}`.pipe(
          Effect.map((rows) => new Set(rows.map((r) => Number(r.step_id))))
        )
      )

/** The counts of a step decided twice in one pass: the later decision's, its first round's creations under their own reasons. */
const carryCreated = (earlier: StepOutcome, later: StepOutcome): Counts => {
  const counts: Partial<Record<ReasonCode, number>> = { ...later.counts }
  let carried = 0
  for (const [reason, n] of Object.entries(earlier.counts) as Array<[ReasonCode, number | undefined]>) {
    if (!isCreateReason(reason) || n === undefined || n === 0) continue
    counts[reason] = (counts[reason] ?? 0) + n
    carried += n
  }
  const inFlight = (counts.IN_FLIGHT ?? 0) - Math.min(carried, earlier.created)
  if (inFlight > 0) counts.IN_FLIGHT = inFlight
  else delete counts.IN_FLIGHT
  return counts
}

const evaluatePipeline = (
  target: PipelineToEvaluate,
  now: Date,
  options: PassOptions,
  world: WorldSignals | null,
  reconcile: number | null
): Effect.Effect<
  { readonly outcomes: ReadonlyArray<StepOutcome>; readonly consumed: number | null },
  SqlError.SqlError,
  SqlClient.SqlClient
> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { pipeline, pipelineId } = target
    if (pipeline.trigger.mode === "cron") yield* recordCronTick(pipelineId, pipeline.trigger, now)
    const request = yield* oldestOpenRequest(pipelineId, now)
    const actor = options.actor ?? "trigger"
    const steps = target.steps.filter((t) => options.only?.step === undefined || options.only.step === t.step.name)
    const inScopeOf = (name: string) => request !== null && (request.stepName === null || request.stepName === name)
    const triggered = (name: string) => pipeline.trigger.mode === "continuous" || inScopeOf(name)
    // Per step, the outcome of its last evaluation in this pass, in step order.
    const outcomes = new Map<number, StepOutcome>()
    // A downstream step that would read purged products asks for them to be rebuilt, and the
    // steps upstream of it come before it: the steps are evaluated again, upstream first, so that
    // the same pass creates the rebuilds (INPUT_PURGED) and the step that asked waits for them
    // (WAITING_UPSTREAM). A rebuild that itself reads purged products asks further up: at most
    // one round per step. A step not otherwise evaluated (outside the request's `--step`, or a
    // cron or manual pipeline between requests) has the sub-groups it was asked to rebuild, and
    // only those, decided: a request is never held open by a step it does not reach.
    for (let round = 0; round <= steps.length; round++) {
      let asked = 0
      const rebuildsOf = yield* stepsAskedToRebuild(steps.filter((t) => !triggered(t.step.name)).map((t) => t.stepId))
      for (const target_ of steps) {
        const name = target_.step.name
        const previous = outcomes.get(target_.stepId)
        const base = { pipeline: pipeline.name, step: name, stepId: target_.stepId, counts: {}, created: 0, decisions: null }
        // Decided again in a later round of the same pass, a step sees the runs it created in the
        // earlier round as in flight: they are counted under the reasons they were created for.
        const record = (outcome: StepOutcome) =>
          outcomes.set(
            target_.stepId,
            previous === undefined
              ? outcome
              : { ...outcome, created: previous.created + outcome.created, counts: carryCreated(previous, outcome) }
          )
        const explainThis =
          options.explain !== undefined && (options.explain.step === undefined || options.explain.step === name)
            ? options.explain
            : undefined
        if (!triggered(name)) {
          if (!rebuildsOf.has(target_.stepId)) {
            if (previous === undefined) {
              outcomes.set(target_.stepId, {
                ...base,
                status: { _tag: "NotTriggered", why: request === null ? "no-request" : "outside-request" }
              })
            }
            continue
          }
          const rebuilt = yield* sql.withTransaction(
            evaluateStep({ target: target_, selection: target.selection, now, actor, request: null, rebuildsOnly: true }, explainThis)
          )
          asked += rebuilt.rebuildsRequested
          const { inFull: _inFull, rebuildsRequested: _asked, ...counted } = rebuilt
          record({ ...base, status: { _tag: "Evaluated", request: null }, ...counted })
          continue
        }
        const inScope = inScopeOf(name)
        const scope: RequestScope | null =
          inScope && request !== null ? { requestId: request.id, manual: request.kind === "manual", force: request.force } : null
        const evaluation = { target: target_, selection: target.selection, now, actor, request: scope }
        const remembering = world !== null && scope === null && options.explain === undefined
        // Every decision of a step needs every sub-group decided; one sub-group's is one more dirty one.
        const explainsWholeSteps = options.explain !== undefined && options.explain.subGroupKey === undefined
        const fromMemory = options.fromMemory === true && world === null && scope === null && !explainsWholeSteps
        const explainOne = explainThis?.subGroupKey === undefined ? undefined : { subGroupKey: explainThis.subGroupKey }
        const result = fromMemory
          ? yield* evaluateFromMemory(evaluation, explainOne, options.alsoRemembered)
          : yield* sql.withTransaction(
              remembering
                ? evaluateRemembering(evaluation, world, options.fullEvery ?? defaultFullEvery, reconcile === target_.stepId)
                : evaluateStep(evaluation, explainThis).pipe(Effect.map((r) => ({ ...r, use: "full" as const })))
            )
        if (result.use === "unchanged") {
          if (previous === undefined)
            outcomes.set(target_.stepId, { ...base, remembered: true, status: { _tag: "Evaluated", request: null }, counts: result.counts })
          continue
        }
        asked += result.rebuildsRequested
        const { use, inFull: _inFull, rebuildsRequested: _asked, ...counted } = result
        record({
          ...base,
          ...(use === "incremental" ? { incremental: true } : {}),
          status: { _tag: "Evaluated", request: inScope ? request : null },
          ...counted
        })
      }
      if (asked === 0) break
    }
    // A request stays open while any step it reaches still waits.
    const unsettled = [...outcomes.values()].some(
      (o) =>
        o.status._tag === "Evaluated" &&
        o.status.request !== null &&
        Object.keys(o.counts).some((r) => unsettledReasons.has(r as ReasonCode))
    )
    // A request restricted by `only` was not fully evaluated: leave it for a real pass.
    const consumed = request !== null && !unsettled && options.only === undefined ? request.id : null
    if (consumed !== null) yield* consumeRequest(consumed, now)
    return { outcomes: [...outcomes.values()], consumed }
  })

/** One pass over every enabled pipeline. Fails with NothingApplied before the first apply. */
export const evaluatePass = (
  options: PassOptions = {}
): Effect.Effect<PassSummary, SqlError.SqlError | AppliedDefinitionsError | NothingApplied, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const now = options.at ?? new Date(started)
    const ir = options.ir ?? (yield* appliedIr)
    if (ir === null) return yield* new NothingApplied()
    const targets = yield* pipelinesToEvaluate(ir, options.location ?? null)
    // Taken before anything is inserted: this pass's own runs make the next pass look again.
    const world = options.remember === true ? yield* worldSignals : null
    // Only continuous pipelines' steps are remembered (cron and manual ones run on requests).
    const remembered = targets
      .filter((t) => t.pipeline.trigger.mode === "continuous" && (options.only === undefined || options.only.pipeline === t.pipeline.name))
      .flatMap((t) => t.steps.filter((s) => options.only?.step === undefined || options.only.step === s.step.name).map((s) => s.stepId))
    const reconcile = world === null ? null : yield* reconcileNext(remembered, now, options.fullEvery ?? defaultFullEvery)
    const steps: Array<StepOutcome> = []
    const consumedRequests: Array<number> = []
    for (const target of targets) {
      if (options.only !== undefined && options.only.pipeline !== target.pipeline.name) continue
      const { outcomes, consumed } = yield* evaluatePipeline(target, now, options, world, reconcile)
      steps.push(...outcomes)
      if (consumed !== null) consumedRequests.push(consumed)
    }
    const finished = yield* Clock.currentTimeMillis
    return {
      at: now,
      steps,
      created: steps.reduce((n, s) => n + s.created, 0),
      consumedRequests,
      durationMillis: finished - started
    }
  })

/** `trigger pass: 12 runs created (NEW_DATA 10, CONFIG_CHANGED 2); held: UP_TO_DATE 240, COOLDOWN 1; 3 steps, 41 ms` */
export const passSummaryLine = (summary: PassSummary): string => {
  const created = new Map<string, number>()
  const held = new Map<string, number>()
  for (const step of summary.steps) {
    for (const [reason, n] of Object.entries(step.counts)) {
      const into = isCreateReason(reason) ? created : held
      into.set(reason, (into.get(reason) ?? 0) + (n ?? 0))
    }
  }
  const list = (m: Map<string, number>) =>
    [...m]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([r, n]) => `${r} ${n}`)
      .join(", ")
  const evaluated = summary.steps.filter((s) => s.status._tag === "Evaluated" && s.remembered !== true)
  const incremental = evaluated.filter((s) => s.incremental === true)
  const remembered = summary.steps.filter((s) => s.remembered === true).length
  const parts = [
    `trigger pass: ${summary.created} run${summary.created === 1 ? "" : "s"} created${created.size > 0 ? ` (${list(created)})` : ""}`
  ]
  if (held.size > 0) parts.push(`held: ${list(held)}`)
  const changedOnly =
    incremental.length > 0
      ? ` (${incremental.length} on changed sub-groups only: ${incremental.reduce((n, s) => n + (s.decided ?? 0), 0)} decided)`
      : ""
  parts.push(
    `${evaluated.length} step${evaluated.length === 1 ? "" : "s"} evaluated${changedOnly}${remembered > 0 ? `, ${remembered} unchanged` : ""}, ${summary.durationMillis} ms`
  )
  return parts.join("; ")
}
