import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect, Option, Schema } from "effect"
import { IrJson, IrOutputRule, IrResources, IrRetryAdjustment, IrRetryReason } from "../../compiler/ir.ts"
import type { AttemptLimits } from "./retry-policy.ts"
import { type StagedInput, StagedInputs } from "./staged-inputs.ts"

/*
 * Everything the submit and collect loops need to know about one run, read in one query from
 * the run row (its frozen software version, image and config) and the stored definitions of
 * its step, pipeline and location.
 */

const StepDefinition = Schema.Struct({
  command: Schema.String,
  final: Schema.Boolean,
  resources: IrResources,
  timeoutSeconds: Schema.NullOr(Schema.Number),
  retries: Schema.Number,
  software: Schema.Struct({ name: Schema.String }),
  /** What a run must produce (the step's `outputs` block); absent: at least one science file. */
  outputs: Schema.optional(Schema.Array(IrOutputRule)),
  /** Which failures are retried (absent: any), and what grows on retry (retry-policy.ts). */
  retryOn: Schema.optional(Schema.Array(IrRetryReason)),
  retryAdjust: Schema.optional(Schema.Array(IrRetryAdjustment))
})

const LocationDefinition = Schema.Struct({
  name: Schema.String,
  site: Schema.NullOr(Schema.String),
  baseDir: Schema.NullOr(Schema.String),
  containerRuntime: Schema.Literal("apptainer", "none"),
  backend: Schema.Struct({
    kind: Schema.String,
    options: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number) })
  })
})

export interface RunContext {
  readonly runId: number
  readonly status: string
  readonly pipeline: string
  readonly step: string
  readonly subGroupKey: string
  readonly reason: string
  readonly retryCount: number
  /** The attempts begun so far; the current (or last) one's number. */
  readonly attempt: number
  /** When the current attempt's job name was committed. */
  readonly markedAt: Date | null
  /** How often in a row the backend turned this attempt's submission away for now. */
  readonly submitDeferrals: number
  /** The failure reasons of its attempts so far, oldest first: what a retry policy grows resources for. */
  readonly failureHistory: ReadonlyArray<string>
  /** What its current attempt asked of the backend (recorded when it was marked); null before. */
  readonly attemptLimits: AttemptLimits | null
  /** What staging placed for the current attempt (null before staging, or for runs older than migration 9). */
  readonly stagedInputs: ReadonlyArray<StagedInput> | null
  readonly softwareVersion: string
  readonly image: string
  readonly config: Readonly<Record<string, IrJson>>
  readonly runDir: string | null
  readonly jobName: string | null
  readonly backendJobId: string | null
  readonly definition: typeof StepDefinition.Type
  readonly location: typeof LocationDefinition.Type
}

export class RunDefinitionUnreadable extends Data.TaggedError("RunDefinitionUnreadable")<{
  readonly runId: number
  /** Where the run belongs (read from the tables, not from the definition that cannot be read). */
  readonly target: { readonly pipeline: string; readonly step: string; readonly subGroupKey: string }
  readonly reason: string
}> {
  override get message(): string {
    return `run ${this.runId}: its stored definition cannot be read (${this.reason})`
  }
}

interface Row {
  readonly id: string
  readonly status: string
  readonly pipeline: string
  readonly step: string
  readonly sub_group_key: string
  readonly reason: string
  readonly retry_count: number
  readonly attempt: number
  readonly marked_at: Date | string | null
  readonly submit_deferrals: number
  readonly failure_history: ReadonlyArray<string> | null
  readonly resources: unknown
  readonly staged_inputs: unknown
  readonly software_version: string
  readonly image: string
  readonly config: unknown
  readonly run_dir: string | null
  readonly job_name: string | null
  readonly backend_job_id: string | null
  readonly step_definition: unknown
  readonly location_definition: unknown
}

const decodeStep = Schema.decodeUnknownEither(StepDefinition)
const decodeLocation = Schema.decodeUnknownEither(LocationDefinition)
const decodeStaged = Schema.decodeUnknownOption(StagedInputs)
const decodeLimits = Schema.decodeUnknownOption(Schema.Struct({ resources: IrResources, timeoutSeconds: Schema.NullOr(Schema.Number) }))
const decodeConfig = Schema.decodeUnknownEither(Schema.Record({ key: Schema.String, value: IrJson }))

export const loadRunContexts = (
  runIds: ReadonlyArray<number>
): Effect.Effect<ReadonlyArray<RunContext | RunDefinitionUnreadable>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    if (runIds.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<Row>`
      SELECT r.id, r.status, p.name AS pipeline, s.name AS step, r.sub_group_key, r.reason, r.retry_count, r.attempt, r.marked_at, r.submit_deferrals, r.staged_inputs,
        ARRAY(SELECT e.reason FROM run_event e WHERE e.run_id = r.id AND e.to_status = 'FAILED' ORDER BY e.id) AS failure_history, r.resources, r.software_version,
        r.image, r.config, r.run_dir, r.job_name, r.backend_job_id, s.definition AS step_definition, l.definition AS location_definition
      FROM executed_reduction_step r
      JOIN reduction_step s ON s.id = r.step_id
      JOIN pipeline p ON p.id = s.pipeline_id
      JOIN location l ON l.id = p.location_id
      WHERE r.id IN ${sql.in(runIds)}
      ORDER BY r.id`
    return rows.map((r): RunContext | RunDefinitionUnreadable => {
      const runId = Number(r.id)
      const step = decodeStep(r.step_definition)
      const location = decodeLocation(r.location_definition)
      const config = decodeConfig(r.config)
      const target = { pipeline: r.pipeline, step: r.step, subGroupKey: r.sub_group_key }
      if (step._tag === "Left") return new RunDefinitionUnreadable({ runId, target, reason: step.left.message.split("\n")[0]! })
      if (location._tag === "Left") return new RunDefinitionUnreadable({ runId, target, reason: location.left.message.split("\n")[0]! })
      if (config._tag === "Left") return new RunDefinitionUnreadable({ runId, target, reason: "its config is not plain data" })
      return {
        runId,
        status: r.status,
        pipeline: r.pipeline,
        step: r.step,
        subGroupKey: r.sub_group_key,
        reason: r.reason,
        retryCount: r.retry_count,
        attempt: r.attempt,
        markedAt: r.marked_at === null ? null : new Date(r.marked_at),
        submitDeferrals: r.submit_deferrals,
        failureHistory: r.failure_history ?? [],
        attemptLimits: r.resources === null ? null : Option.getOrNull(decodeLimits(r.resources)),
        stagedInputs: r.staged_inputs === null ? null : Option.getOrNull(decodeStaged(r.staged_inputs)),
        softwareVersion: r.software_version,
        image: r.image,
        config: config.right,
        runDir: r.run_dir,
        jobName: r.job_name,
        backendJobId: r.backend_job_id,
        definition: step.right,
        location: location.right
      }
    })
  })
