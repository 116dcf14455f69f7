import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Context, Schema } from "effect"
import {
  ActorSchema,
  BadRequest,
  BulkFilterSchema,
  BulkOutcomeSchema,
  CancelBodySchema,
  CancelOutcomeSchema,
  Conflict,
  LineageSchema,
  LogStreamSchema,
  NotFound,
  OverviewSchema,
  PipelineDefinitionSchema,
  ProductDetailSchema,
  ProductPageSchema,
  ProductQuerySchema,
  RetryOutcomeSchema,
  RunDetailSchema,
  RunPageSchema,
  RunQuerySchema,
  RunRequestBodySchema,
  RunRequestOutcomeSchema,
  Unauthorized,
  Unavailable,
  WhySchema
} from "./schemas.ts"
import { ccatVersion } from "../version.ts"

/*
 * The HTTP API of `ccat serve`, under /api/v1, declared once: the server (src/api/handlers/),
 * the OpenAPI document at /api/v1/openapi.json and the reference page at /api/v1/docs all come
 * from this declaration. Reads are open on loopback unless the server requires a token for them
 * (`ReadAccess`); actions always need a bearer token (`ActionAccess`, `ccat token create`).
 */

/** Who is calling, as the run events record it: `token <name>`, or `anonymous` for an open read. */
export class CurrentActor extends Context.Tag("ccat/api/CurrentActor")<CurrentActor, { readonly actor: string }>() {}

/** A token that is not valid, or a database that cannot say whether it is. */
const accessFailure = Schema.Union(Unauthorized, Unavailable)

export class ReadAccess extends HttpApiMiddleware.Tag<ReadAccess>()("ccat/api/ReadAccess", {
  failure: accessFailure,
  provides: CurrentActor,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export class ActionAccess extends HttpApiMiddleware.Tag<ActionAccess>()("ccat/api/ActionAccess", {
  failure: accessFailure,
  provides: CurrentActor,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

const idParam = HttpApiSchema.param("id", Schema.NumberFromString.pipe(Schema.int(), Schema.positive()))
const nameParam = <const N extends string>(name: N) => HttpApiSchema.param(name, Schema.String)

const eventStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" }),
  Schema.annotations({ description: "Server-Sent Events." })
)

export class PipelinesGroup extends HttpApiGroup.make("pipelines")
  .add(
    HttpApiEndpoint.get("overview", "/pipelines")
      .addSuccess(OverviewSchema)
      .annotate(
        OpenApi.Summary,
        "Every enabled pipeline with its steps: runs by status, the gap, the oldest waiting input (as `ccat status`)."
      )
  )
  .add(
    HttpApiEndpoint.get("pipeline")`/pipelines/${nameParam("pipeline")}`
      .addSuccess(PipelineDefinitionSchema)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "One pipeline: its applied definition, generation and steps.")
  )
  .add(
    HttpApiEndpoint.get("why")`/pipelines/${nameParam("pipeline")}/steps/${nameParam("step")}/why`
      .setUrlParams(Schema.Struct({ subGroup: Schema.optional(Schema.String) }))
      .addSuccess(WhySchema)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "What the trigger decides for a step or one sub-group, and why (as `ccat why --json`).")
  )
  .add(
    HttpApiEndpoint.get("events", "/events")
      .addSuccess(eventStream)
      .annotate(
        OpenApi.Summary,
        "Server-Sent Events: `runs` with `{ lastEvent }` whenever a run changes status (at most once a second), `ping` every 15 s."
      )
  )
  .middleware(ReadAccess)
  .annotate(OpenApi.Title, "Pipelines") {}

export class RunsGroup extends HttpApiGroup.make("runs")
  .add(
    HttpApiEndpoint.get("list", "/runs")
      .setUrlParams(RunQuerySchema)
      .addSuccess(RunPageSchema)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Runs, newest first, filtered and paged by cursor (as `ccat runs --json`).")
  )
  .add(
    HttpApiEndpoint.get("run")`/runs/${idParam}`
      .addSuccess(RunDetailSchema)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "One run: status history, inputs, products, metrics, the backend job.")
  )
  .add(
    HttpApiEndpoint.get("log")`/runs/${idParam}/log/${HttpApiSchema.param("stream", LogStreamSchema)}`
      .addSuccess(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain" })))
      .addError(NotFound)
      .annotate(OpenApi.Summary, "The run's standard output or error as its job wrote it so far.")
  )
  .add(
    HttpApiEndpoint.get("followLog")`/runs/${idParam}/log/${HttpApiSchema.param("stream", LogStreamSchema)}/events`
      .addSuccess(eventStream)
      .addError(NotFound)
      .annotate(
        OpenApi.Summary,
        "The log as Server-Sent Events: `append` events with new text until the run ends, then `end` with its status."
      )
  )
  .middleware(ReadAccess)
  .annotate(OpenApi.Title, "Runs") {}

export class ProductsGroup extends HttpApiGroup.make("products")
  .add(
    HttpApiEndpoint.get("list", "/products")
      .setUrlParams(ProductQuerySchema)
      .addSuccess(ProductPageSchema)
      .annotate(OpenApi.Summary, "Data products, newest first, by run, type, pipeline or step; paged by cursor.")
  )
  .add(
    HttpApiEndpoint.get("product")`/products/${idParam}`
      .addSuccess(ProductDetailSchema)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "One product: metadata, quality, copies.")
  )
  .add(
    HttpApiEndpoint.get("file")`/products/${idParam}/file`
      .addSuccess(Schema.Uint8ArrayFromSelf.pipe(HttpApiSchema.withEncoding({ kind: "Uint8Array" })))
      .addError(NotFound)
      .addError(BadRequest)
      .annotate(OpenApi.Summary, "The product's file, only from inside its location's folders.")
  )
  .add(
    HttpApiEndpoint.get("lineage")`/products/${idParam}/lineage`
      .addSuccess(LineageSchema)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "The product's lineage back to the raw packages, as nodes and edges and as PROV-JSON.")
  )
  .middleware(ReadAccess)
  .annotate(OpenApi.Title, "Products") {}

export class ActionsGroup extends HttpApiGroup.make("actions")
  .add(
    HttpApiEndpoint.get("whoami", "/whoami")
      .addSuccess(ActorSchema)
      .annotate(OpenApi.Summary, "Checks a token: who the API takes the caller for.")
  )
  .add(
    HttpApiEndpoint.post("cancel")`/runs/${idParam}/cancel`
      .setPayload(CancelBodySchema)
      .addSuccess(CancelOutcomeSchema)
      .addError(NotFound)
      .addError(Conflict)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Cancel a pending, staging, submitted or running run (as `ccat cancel`).")
  )
  .add(
    HttpApiEndpoint.post("retry")`/runs/${idParam}/retry`
      .addSuccess(RetryOutcomeSchema)
      .addError(NotFound)
      .addError(Conflict)
      .annotate(OpenApi.Summary, "Put a FAILED or CANCELLED run back to PENDING (as `ccat retry`).")
  )
  .add(
    HttpApiEndpoint.post("cancelMany", "/runs/cancel")
      .setPayload(BulkFilterSchema)
      .addSuccess(BulkOutcomeSchema)
      .addError(BadRequest)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Cancel every run that matches a filter (as `ccat cancel --pipeline … --yes`).")
  )
  .add(
    HttpApiEndpoint.post("retryMany", "/runs/retry")
      .setPayload(BulkFilterSchema)
      .addSuccess(BulkOutcomeSchema)
      .addError(BadRequest)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Retry every run that matches a filter (as `ccat retry --pipeline … --yes`).")
  )
  .add(
    HttpApiEndpoint.post("request")`/pipelines/${nameParam("pipeline")}/run`
      .setPayload(RunRequestBodySchema)
      .addSuccess(RunRequestOutcomeSchema)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Record a trigger request (as `ccat run`).")
  )
  .middleware(ActionAccess)
  .annotate(OpenApi.Title, "Actions")
  .annotate(OpenApi.Description, "Every action needs a bearer token (`ccat token create <name>`); each use is recorded as who did it.") {}

export class CcatApi extends HttpApi.make("ccat")
  .add(PipelinesGroup)
  .add(RunsGroup)
  .add(ProductsGroup)
  .add(ActionsGroup)
  .addError(BadRequest)
  .addError(NotFound)
  .addError(Unavailable)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "ccat operations API")
  .annotate(OpenApi.Version, ccatVersion)
  .annotate(
    OpenApi.Description,
    "The API of `ccat serve`: pipelines, runs, data products, lineage and actions. Errors are `{ _tag, code, message }`."
  ) {}
