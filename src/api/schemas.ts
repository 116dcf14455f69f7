import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { runStatuses } from "../runtime/execution/run-status.ts"

/*
 * The shapes of the HTTP API's requests and responses (src/api/api.ts declares the endpoints).
 * Times are ISO 8601 UTC strings, absent values null, ids of runs and products numbers (they
 * will not pass 2^53), raw package ids UUID strings. The run and lineage documents are the ones
 * `ccat runs --json` and `ccat lineage --json` print, so a script can switch between the two.
 */

/** Any JSON value (a config, a definition, a PROV document); described where it is used. */
const Json = (description: string) =>
  Schema.Unknown.annotations({
    jsonSchema: { type: ["object", "array", "string", "number", "boolean", "null"], description }
  })

const Time = Schema.String.annotations({ description: "An instant, ISO 8601 UTC (`2026-12-07T10:00:00.000Z`)." })
const NullableTime = Schema.NullOr(Time)

export const RunStatusSchema = Schema.Literal(...runStatuses).annotations({ identifier: "RunStatus" })

export const ProductTypeSchema = Schema.Literal("SCIENCE", "QA_METRIC", "PLOT", "STATISTICS", "LOG", "INTERMEDIATE").annotations({
  identifier: "ProductType"
})

// ------------------------------------------------------------------ errors

/*
 * Every error is `{ "_tag", "code", "message" }`: `code` a stable word a script can test,
 * `message` a sentence a person can act on. Never a stack trace.
 */
const errorFields = { code: Schema.String, message: Schema.String }

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", errorFields, HttpApiSchema.annotations({ status: 400 })) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  errorFields,
  HttpApiSchema.annotations({ status: 401 })
) {}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", errorFields, HttpApiSchema.annotations({ status: 404 })) {}
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", errorFields, HttpApiSchema.annotations({ status: 409 })) {}
export class Unavailable extends Schema.TaggedError<Unavailable>()(
  "Unavailable",
  errorFields,
  HttpApiSchema.annotations({ status: 503 })
) {}

// ------------------------------------------------------------------ runs

export const RunSchema = Schema.Struct({
  id: Schema.Number,
  pipeline: Schema.String,
  step: Schema.String,
  subGroupKey: Schema.String,
  status: RunStatusSchema,
  reason: Schema.String.annotations({ description: "Why the run was created: a reason code of `ccat why` (NEW_DATA, …)." }),
  attempt: Schema.Number,
  retryCount: Schema.Number,
  softwareVersion: Schema.String,
  jobName: Schema.NullOr(Schema.String),
  backendJobId: Schema.NullOr(Schema.String),
  runDir: Schema.NullOr(Schema.String),
  createdAt: Time,
  finishedAt: NullableTime,
  failureReason: Schema.NullOr(Schema.String)
}).annotations({ identifier: "Run" })

export const RunPageSchema = Schema.Struct({
  runs: Schema.Array(RunSchema),
  nextCursor: Schema.NullOr(Schema.Number).annotations({ description: "Pass as `cursor` for the next (older) page; null at the end." })
}).annotations({ identifier: "RunPage" })

const positiveInt = Schema.NumberFromString.pipe(Schema.int(), Schema.positive())

export const RunQuerySchema = Schema.Struct({
  pipeline: Schema.optional(Schema.String),
  step: Schema.optional(Schema.String),
  status: Schema.optional(RunStatusSchema),
  subGroup: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
  since: Schema.optional(Schema.DateFromString.annotations({ description: "Only runs created at or after this instant (ISO 8601)." })),
  until: Schema.optional(Schema.DateFromString.annotations({ description: "Only runs created before this instant (ISO 8601)." })),
  cursor: Schema.optional(positiveInt.annotations({ description: "From `nextCursor` of the page before." })),
  limit: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)).annotations({ description: "1 to 500; 50 when absent." })
  )
})

export const RunEventSchema = Schema.Struct({
  at: Time,
  actor: Schema.String,
  from: Schema.NullOr(Schema.String),
  to: Schema.String,
  reason: Schema.String
}).annotations({ identifier: "RunEvent" })

export const RunInputSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("package"), id: Schema.String, name: Schema.String, checksum: Schema.NullOr(Schema.String) }),
  Schema.Struct({
    kind: Schema.Literal("product"),
    id: Schema.Number,
    relativePath: Schema.String,
    type: Schema.String,
    runId: Schema.Number,
    checksum: Schema.NullOr(Schema.String)
  })
).annotations({ identifier: "RunInput" })

export const RunProductSchema = Schema.Struct({
  id: Schema.Number,
  type: Schema.String,
  relativePath: Schema.String,
  sizeBytes: Schema.Number,
  checksum: Schema.String,
  createdAt: Time
}).annotations({ identifier: "RunProduct" })

export const RunDetailSchema = Schema.Struct({
  run: RunSchema,
  events: Schema.Array(RunEventSchema).annotations({ description: "The status history, oldest first." }),
  inputs: Schema.Array(RunInputSchema),
  products: Schema.Array(RunProductSchema),
  metrics: Schema.Struct({
    exitCode: Schema.NullOr(Schema.Number),
    wallSeconds: Schema.NullOr(Schema.Number),
    cpuHours: Schema.NullOr(Schema.Number),
    peakMemoryBytes: Schema.NullOr(Schema.Number),
    submittedAt: NullableTime
  }),
  job: Schema.Struct({
    backend: Schema.NullOr(Schema.String),
    name: Schema.NullOr(Schema.String),
    id: Schema.NullOr(Schema.String),
    location: Schema.String
  }),
  image: Schema.String,
  config: Json("The step's config as the run was created with it."),
  attempts: Schema.Number
}).annotations({ identifier: "RunDetail" })

export const LogStreamSchema = Schema.Literal("stdout", "stderr")

// ------------------------------------------------------------------ actions

export const CancelBodySchema = Schema.Struct({
  reason: Schema.optional(Schema.String.pipe(Schema.maxLength(1000)))
})

export const CancelOutcomeSchema = Schema.Struct({
  runId: Schema.Number,
  from: RunStatusSchema,
  job: Schema.NullOr(
    Schema.Struct({ id: Schema.String, backend: Schema.String, outcome: Schema.Literal("cancelled", "ended", "unknown") })
  ),
  actor: Schema.String
}).annotations({ identifier: "CancelOutcome" })

export const RetryOutcomeSchema = Schema.Struct({
  runId: Schema.Number,
  from: RunStatusSchema,
  attempt: Schema.Number,
  newerRunId: Schema.NullOr(Schema.Number),
  actor: Schema.String
}).annotations({ identifier: "RetryOutcome" })

export const BulkFilterSchema = Schema.Struct({
  pipeline: Schema.optional(Schema.String),
  step: Schema.optional(Schema.String),
  status: Schema.optional(RunStatusSchema),
  subGroup: Schema.optional(Schema.String),
  limit: Schema.optional(
    Schema.Int.pipe(Schema.between(1, 10_000)).annotations({ description: "At most this many runs; 1000 when absent." })
  )
}).annotations({ identifier: "BulkFilter", description: "At least one of pipeline, step, status and subGroup." })

export const BulkOutcomeSchema = Schema.Struct({
  matched: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  results: Schema.Array(Schema.Struct({ runId: Schema.Number, ok: Schema.Boolean, message: Schema.String }))
}).annotations({ identifier: "BulkOutcome" })

export const RunRequestBodySchema = Schema.Struct({
  step: Schema.optional(Schema.String),
  force: Schema.optional(Schema.Boolean)
})

export const RunRequestOutcomeSchema = Schema.Struct({
  requestId: Schema.Number,
  pipeline: Schema.String,
  step: Schema.NullOr(Schema.String),
  force: Schema.Boolean,
  actor: Schema.String
}).annotations({ identifier: "RunRequestOutcome" })

// ------------------------------------------------------------------ pipelines

export const StepOverviewSchema = Schema.Struct({
  name: Schema.String,
  stepId: Schema.Number,
  after: Schema.Array(Schema.String).annotations({ description: "The steps it reads from; empty for a root step." }),
  runs: Schema.Record({ key: RunStatusSchema, value: Schema.Number }),
  gap: Schema.NullOr(Schema.Number).annotations({
    description: "Sub-groups with work due now or soon; null when the step is not evaluated (a cron or manual pipeline without a request)."
  }),
  gapByReason: Schema.Record({ key: Schema.String, value: Schema.Number }),
  notTriggered: Schema.NullOr(Schema.Literal("no-request", "outside-request")),
  oldestWaiting: Schema.NullOr(Schema.Struct({ at: Time, kind: Schema.Literal("raw_package.archived_at", "data_product.created_at") }))
}).annotations({ identifier: "StepOverview" })

export const PipelineOverviewSchema = Schema.Struct({
  name: Schema.String,
  enabled: Schema.Boolean,
  trigger: Schema.Struct({ mode: Schema.String, cron: Schema.NullOr(Schema.String) }),
  priority: Schema.Number,
  location: Schema.String,
  data: Schema.String.annotations({ description: "The data grouping it reduces." }),
  steps: Schema.Array(StepOverviewSchema)
}).annotations({ identifier: "PipelineOverview" })

export const OverviewSchema = Schema.Struct({
  at: Time,
  generation: Schema.NullOr(Schema.Number).annotations({
    description: "The applied definitions' generation; null before the first apply."
  }),
  pipelines: Schema.Array(PipelineOverviewSchema)
}).annotations({ identifier: "Overview" })

export const PipelineDefinitionSchema = Schema.Struct({
  name: Schema.String,
  generation: Schema.Number,
  definition: Json("The pipeline as applied (its IR, as `ccat compile` writes it)."),
  overview: Schema.NullOr(PipelineOverviewSchema).annotations({ description: "Null for a disabled pipeline." })
}).annotations({ identifier: "PipelineDefinition" })

// ------------------------------------------------------------------ why

export const WhySchema = Schema.Struct({
  pipeline: Schema.String,
  step: Schema.String,
  subGroupKey: Schema.NullOr(Schema.String),
  lines: Schema.Array(Schema.String).annotations({ description: "Exactly what `ccat why` prints." }),
  decisions: Schema.Array(
    Schema.Struct({ subGroupKey: Schema.String, reason: Schema.String, creates: Schema.Boolean, description: Schema.String })
  ),
  counts: Schema.Record({ key: Schema.String, value: Schema.Number })
}).annotations({ identifier: "Why" })

// ------------------------------------------------------------------ products and lineage

export const ProductSchema = Schema.Struct({
  id: Schema.Number,
  runId: Schema.Number,
  pipeline: Schema.String,
  step: Schema.String,
  subGroupKey: Schema.String,
  type: Schema.String,
  relativePath: Schema.String,
  sizeBytes: Schema.Number,
  checksum: Schema.String,
  createdAt: Time
}).annotations({ identifier: "Product" })

export const ProductPageSchema = Schema.Struct({
  products: Schema.Array(ProductSchema),
  nextCursor: Schema.NullOr(Schema.Number)
}).annotations({ identifier: "ProductPage" })

export const ProductQuerySchema = Schema.Struct({
  run: Schema.optional(positiveInt),
  type: Schema.optional(ProductTypeSchema),
  pipeline: Schema.optional(Schema.String),
  step: Schema.optional(Schema.String),
  cursor: Schema.optional(positiveInt),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)))
})

export const ProductDetailSchema = Schema.Struct({
  ...ProductSchema.fields,
  quality: Json("The quality figures the program reported for the product."),
  softwareVersion: Schema.String,
  copies: Schema.Array(Schema.Struct({ location: Schema.String, path: Schema.String, status: Schema.String }))
}).annotations({ identifier: "ProductDetail" })

export const LineageNodeSchema = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("product"),
    id: Schema.String,
    productId: Schema.Number,
    type: Schema.String,
    relativePath: Schema.String,
    checksum: Schema.String,
    sizeBytes: Schema.Number,
    createdAt: Time
  }),
  Schema.Struct({
    kind: Schema.Literal("run"),
    id: Schema.String,
    runId: Schema.Number,
    pipeline: Schema.String,
    step: Schema.String,
    subGroupKey: Schema.String,
    status: Schema.String,
    software: Schema.String,
    softwareVersion: Schema.String,
    image: Schema.String,
    config: Json("The step's config the run was made with.")
  }),
  Schema.Struct({
    kind: Schema.Literal("package"),
    id: Schema.String,
    packageId: Schema.String,
    name: Schema.String,
    checksum: Schema.NullOr(Schema.String),
    sizeBytes: Schema.Number,
    archivedAt: NullableTime
  })
).annotations({ identifier: "LineageNode" })

export const LineageSchema = Schema.Struct({
  root: Schema.String.annotations({ description: "The node id of the product asked about." }),
  nodes: Schema.Array(LineageNodeSchema).annotations({
    description: "Products (`product-<id>`), the runs that made them (`run-<id>`) and raw packages (`package-<uuid>`)."
  }),
  edges: Schema.Array(
    Schema.Struct({ from: Schema.String, to: Schema.String, kind: Schema.Literal("generated", "used") }).annotations({
      description: "`generated`: run → product; `used`: input (product or package) → run."
    })
  ),
  prov: Json("The same graph as the W3C PROV-JSON document `ccat lineage --json` prints.")
}).annotations({ identifier: "Lineage" })

// ------------------------------------------------------------------ tokens

export const ActorSchema = Schema.Struct({
  actor: Schema.String.annotations({ description: "Who the API took the caller for: `token <name>`, or `anonymous` when reads are open." })
})
