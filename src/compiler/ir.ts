import { Schema } from "effect"

/*
 * The typed IR: the compiler's output and the only thing the runtime reads. Plain data with an
 * Effect Schema for decoding and encoding. Bump `IR_VERSION` on any change a reader of an older
 * IR would misread.
 */

export const IR_VERSION = 1

// A struct, not a class: there is one per IR node, and plain objects are cheap to make.
export const IrSpan = Schema.Struct({
  file: Schema.String,
  start: Schema.Number,
  end: Schema.Number,
  startLine: Schema.Number,
  startColumn: Schema.Number,
  endLine: Schema.Number,
  endColumn: Schema.Number
})
export type IrSpan = typeof IrSpan.Type

export type IrJson = string | number | boolean | null | ReadonlyArray<IrJson> | { readonly [key: string]: IrJson }
export const IrJson: Schema.Schema<IrJson> = Schema.Union(
  Schema.String,
  Schema.Number,
  Schema.Boolean,
  Schema.Null,
  Schema.Array(Schema.suspend(() => IrJson)),
  Schema.Record({ key: Schema.String, value: Schema.suspend(() => IrJson) })
)

export const IrFilterValue = Schema.Union(
  Schema.Struct({ type: Schema.Literal("string"), value: Schema.String }),
  Schema.Struct({ type: Schema.Literal("number"), value: Schema.Number }),
  Schema.Struct({ type: Schema.Literal("boolean"), value: Schema.Boolean }),
  Schema.Struct({ type: Schema.Literal("timestamp"), value: Schema.String }),
  Schema.Struct({ type: Schema.Literal("date"), value: Schema.String })
)
export type IrFilterValue = typeof IrFilterValue.Type

const column = { table: Schema.String, column: Schema.String, jsonPath: Schema.Array(Schema.String) }

export type IrFilter =
  | { readonly kind: "and" | "or"; readonly operands: ReadonlyArray<IrFilter>; readonly span: IrSpan }
  | { readonly kind: "not"; readonly operand: IrFilter; readonly span: IrSpan }
  | {
      readonly kind: "compare"
      readonly table: string
      readonly column: string
      readonly jsonPath: ReadonlyArray<string>
      readonly operator: "==" | "!=" | "<" | "<=" | ">" | ">="
      readonly value: IrFilterValue
      readonly span: IrSpan
    }
  | {
      readonly kind: "in"
      readonly table: string
      readonly column: string
      readonly jsonPath: ReadonlyArray<string>
      readonly negated: boolean
      readonly values: ReadonlyArray<IrFilterValue>
      readonly span: IrSpan
    }
  | {
      readonly kind: "like"
      readonly table: string
      readonly column: string
      readonly jsonPath: ReadonlyArray<string>
      readonly negated: boolean
      readonly pattern: string
      readonly span: IrSpan
    }

interface IrFilterEncoded {
  readonly kind: string
  readonly [key: string]: unknown
}

export const IrFilter: Schema.Schema<IrFilter, IrFilterEncoded> = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("and", "or"), operands: Schema.Array(Schema.suspend(() => IrFilter)), span: IrSpan }),
  Schema.Struct({ kind: Schema.Literal("not"), operand: Schema.suspend(() => IrFilter), span: IrSpan }),
  Schema.Struct({
    kind: Schema.Literal("compare"),
    ...column,
    operator: Schema.Literal("==", "!=", "<", "<=", ">", ">="),
    value: IrFilterValue,
    span: IrSpan
  }),
  Schema.Struct({ kind: Schema.Literal("in"), ...column, negated: Schema.Boolean, values: Schema.Array(IrFilterValue), span: IrSpan }),
  Schema.Struct({ kind: Schema.Literal("like"), ...column, negated: Schema.Boolean, pattern: Schema.String, span: IrSpan })
) as unknown as Schema.Schema<IrFilter, IrFilterEncoded>

const Hash = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))

export class IrLocation extends Schema.Class<IrLocation>("IrLocation")({
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  site: Schema.NullOr(Schema.String),
  backend: Schema.Struct({
    kind: Schema.String,
    options: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number) })
  }),
  baseDir: Schema.NullOr(Schema.String),
  purgeAbovePercent: Schema.NullOr(Schema.Number),
  containerRuntime: Schema.Literal("apptainer", "none"),
  hash: Hash,
  span: IrSpan
}) {}

export class IrSoftware extends Schema.Class<IrSoftware>("IrSoftware")({
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  image: Schema.String,
  /** Ascending semver order. */
  versions: Schema.Array(Schema.String),
  command: Schema.String,
  hash: Hash,
  span: IrSpan
}) {}

export class IrGrouping extends Schema.Class<IrGrouping>("IrGrouping")({
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  from: Schema.NullOr(Schema.String),
  /** Its own `where` clauses, ANDed. */
  where: Schema.NullOr(IrFilter),
  /** What it selects: inherited rules ANDed with its own; `null` selects every package. */
  selection: Schema.NullOr(IrFilter),
  hash: Hash,
  span: IrSpan
}) {}

export const IrStepSoftware = Schema.Struct({
  name: Schema.String,
  range: Schema.String,
  /** The newest declared version the range allows, at compile time. */
  version: Schema.String,
  /** The image with `{version}` filled in. */
  image: Schema.String,
  /** The part of the version that enters the fingerprint under the step's policy. */
  fingerprintVersion: Schema.String
})
export type IrStepSoftware = typeof IrStepSoftware.Type

export const IrResources = Schema.Struct({
  cpus: Schema.NullOr(Schema.Int),
  memoryBytes: Schema.NullOr(Schema.Number),
  timeSeconds: Schema.NullOr(Schema.Number),
  partition: Schema.NullOr(Schema.String),
  gpus: Schema.NullOr(Schema.Int)
})
export type IrResources = typeof IrResources.Type

/**
 * One rule of a step's `outputs` block: a run must produce at least `min` files of `kind`, of
 * those matching `pattern` (a glob, src/compiler/output-pattern.ts) when it is not null.
 */
export const IrOutputRule = Schema.Struct({
  kind: Schema.Literal("science", "qa", "plots", "statistics", "logs"),
  pattern: Schema.NullOr(Schema.String),
  min: Schema.Int
})
export type IrOutputRule = typeof IrOutputRule.Type

/**
 * The reasons a run attempt fails with: the first word of its `failure_reason` (`EXIT_CODE 3`,
 * `STAGING_FAILED: …`). A step's `retries N on …` names some of them; the order here is the
 * order the IR lists them in.
 */
export const retryReasons = [
  "EXIT_CODE",
  "TIMEOUT",
  "OOM",
  "NODE_FAIL",
  "LOST",
  "CANCELLED_BY_BACKEND",
  "STAGING_FAILED",
  "SUBMIT_REJECTED",
  "COLLECT_FAILED",
  "INPUT_MODIFIED",
  "NO_OUTPUTS"
] as const
export type RetryReason = (typeof retryReasons)[number]
export const IrRetryReason = Schema.Literal(...retryReasons)

/** The resources a retry may grow, in the order the IR lists a step's adjustments. */
export const growableResources = ["cpus", "memory", "time"] as const
export type GrowableResource = (typeof growableResources)[number]

/**
 * `on OOM memory x2` in a step's `retries … { }`: each failed attempt of the reason multiplies the
 * resource by the factor (above 1, at most 16) for the attempts after it.
 */
export const IrRetryAdjustment = Schema.Struct({
  reason: IrRetryReason,
  resource: Schema.Literal(...growableResources),
  factor: Schema.Number
})
export type IrRetryAdjustment = typeof IrRetryAdjustment.Type

export class IrStep extends Schema.Class<IrStep>("IrStep")({
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  after: Schema.Array(Schema.String),
  software: IrStepSoftware,
  command: Schema.String,
  groupBy: Schema.Array(Schema.String),
  cooldownSeconds: Schema.NullOr(Schema.Number),
  config: Schema.Record({ key: Schema.String, value: IrJson }),
  resources: IrResources,
  retries: Schema.Int,
  /**
   * `retries N on A, B`: only failures of these reasons are retried, in `retryReasons` order.
   * Absent, any failure is. Left out rather than null, like `outputs`, so that steps without it
   * keep the IR and hashes they had before it existed. In the hash, not the fingerprint.
   */
  retryOn: Schema.optional(Schema.Array(IrRetryReason)),
  /** What grows on a retry, by reason then resource; absent when nothing does. In the hash, not the fingerprint. */
  retryAdjust: Schema.optional(Schema.Array(IrRetryAdjustment)),
  timeoutSeconds: Schema.NullOr(Schema.Number),
  versionPolicy: Schema.Literal("compatible", "exact"),
  final: Schema.Boolean,
  fanOut: Schema.Boolean,
  /**
   * Present exactly when the step has an `outputs` block, in a fixed order (kind, then pattern).
   * Absent, the runtime requires one science file. Left out rather than null so that steps
   * without the block keep the IR, hashes and stored definitions they had before it existed.
   */
  outputs: Schema.optional(Schema.Array(IrOutputRule)),
  /** What determines the step's outputs: software identity under the policy, command, config. */
  fingerprint: Hash,
  hash: Hash,
  span: IrSpan
}) {}

export const IrTrigger = Schema.Struct({
  mode: Schema.Literal("continuous", "cron", "manual"),
  cron: Schema.NullOr(Schema.String),
  timezone: Schema.NullOr(Schema.String)
})
export type IrTrigger = typeof IrTrigger.Type

export class IrPipeline extends Schema.Class<IrPipeline>("IrPipeline")({
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  data: Schema.String,
  location: Schema.String,
  trigger: IrTrigger,
  priority: Schema.Int,
  enabled: Schema.Boolean,
  /** Upstream before downstream; ties by name. */
  steps: Schema.Array(IrStep),
  hash: Hash,
  span: IrSpan
}) {}

export class IrWorkspace extends Schema.Class<IrWorkspace>("IrWorkspace")({
  irVersion: Schema.Literal(IR_VERSION),
  locations: Schema.Array(IrLocation),
  software: Schema.Array(IrSoftware),
  groupings: Schema.Array(IrGrouping),
  pipelines: Schema.Array(IrPipeline),
  /** Hash of every entity's hash: equal workspaces have equal hashes. */
  hash: Hash
}) {}

export const decodeIrWorkspace = Schema.decodeUnknownEither(IrWorkspace)
export const encodeIrWorkspace = Schema.encodeSync(IrWorkspace)
