import { HttpApiBuilder, HttpIncomingMessage, HttpServer, HttpServerRequest, HttpServerResponse, OpenApi } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { SqlClient } from "@effect/sql"
import { Cause, Data, Effect, Layer, Option } from "effect"
import { createServer } from "node:http"
import type { BackendCalls } from "../runtime/backends/execution-backend.ts"
import type { ServeState } from "../runtime/serve/serve-state.ts"
import { ActionAccessLive, ApiAccess, ReadAccessLive } from "./access.ts"
import { CcatApi } from "./api.ts"
import { dashboardFolder, makeDashboardFiles } from "./dashboard-files.ts"
import { ActionsHandlers, ApiBackendAccess } from "./handlers/actions.ts"
import { PipelinesHandlers } from "./handlers/pipelines.ts"
import { ProductsHandlers } from "./handlers/products.ts"
import { RunsHandlers } from "./handlers/runs.ts"
import { healthz, metrics } from "./health.ts"
import { referencePage, referenceStylesheet } from "./reference-page.ts"
import { RunEventsFeedLive } from "./run-events-feed.ts"

/*
 * The one HTTP port of `ccat serve`: /healthz and /metrics, the API under /api/v1 (its OpenAPI
 * document and reference page too) and the dashboard at every other path. Every answer carries
 * a Content-Security-Policy without inline script; every error is JSON with a code and a
 * message, never a stack trace.
 */

export interface HttpListen {
  readonly host: string
  readonly port: number
  readonly readsNeedToken: boolean
}

export class HttpPortUnavailable extends Data.TaggedError("HttpPortUnavailable")<{ readonly address: string; readonly reason: string }> {
  override get message(): string {
    return `cannot serve HTTP on ${this.address}: ${this.reason} (set CCAT_HTTP_PORT, --port or --listen; or --no-http)`
  }
}

const securityHeaders = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY"
}

/** A request body larger than this is refused (413): the API's bodies are a few fields. */
const maxBodyBytes = 64 * 1024

const jsonError = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson({ _tag: code === "NOT_FOUND" ? "NotFound" : "Error", code, message }, { status })

const textDecoder = new TextDecoder()

/** The framework's own 400 (a request that does not fit the schema) in the API's error shape. */
const withErrorCode = (response: HttpServerResponse.HttpServerResponse): HttpServerResponse.HttpServerResponse => {
  if (response.status !== 400 || response.body._tag !== "Uint8Array") return response
  try {
    const body = JSON.parse(textDecoder.decode(response.body.body)) as { _tag?: string; message?: string; issues?: unknown }
    if (body._tag !== "HttpApiDecodeError") return response
    const issues = Array.isArray(body.issues) ? (body.issues as ReadonlyArray<{ path?: ReadonlyArray<unknown>; message?: string }>) : []
    const said = issues.map((i) => `${(i.path ?? []).join(".") || "request"}: ${i.message ?? "invalid"}`)
    return HttpServerResponse.unsafeJson(
      {
        _tag: "BadRequest",
        code: "BAD_REQUEST",
        message: `the request does not fit the API (see /api/v1/docs): ${said.length > 0 ? said.join("; ") : (body.message ?? "invalid")}`,
        issues: body.issues
      },
      { status: 400, headers: response.headers }
    )
  } catch {
    return response
  }
}

export const openApiDocument = OpenApi.fromApi(CcatApi)

/** Serves HTTP until the scope closes; the port it listens on (0 picks a free one). */
export const httpServer = (listen: HttpListen) =>
  Effect.gen(function* () {
    const apiLayer = HttpApiBuilder.api(CcatApi).pipe(
      Layer.provide([PipelinesHandlers, RunsHandlers, ProductsHandlers, ActionsHandlers]),
      Layer.provide([ReadAccessLive, ActionAccessLive, RunEventsFeedLive, NodeHttpServer.layerContext]),
      Layer.provide(Layer.succeed(ApiAccess, { readsNeedToken: listen.readsNeedToken }))
    )
    const apiContext = yield* Layer.build(Layer.mergeAll(apiLayer, HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer))
    const apiApp = yield* Effect.provide(HttpApiBuilder.httpApp, apiContext)
    const dashboard = makeDashboardFiles(dashboardFolder())
    const reference = referencePage(openApiDocument)
    const app = Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const pathname = new URL(request.url, "http://localhost").pathname
      if (pathname === "/healthz") return yield* healthz
      if (pathname === "/metrics") return yield* metrics
      if (pathname === "/api/v1/openapi.json") return HttpServerResponse.unsafeJson(openApiDocument)
      if (pathname === "/api/v1/docs") return HttpServerResponse.html(reference)
      if (pathname === "/api/v1/docs.css") return HttpServerResponse.text(referenceStylesheet, { contentType: "text/css; charset=utf-8" })
      if (pathname === "/api" || pathname.startsWith("/api/")) {
        // Said before a byte of it is read; a body that lies about its length stops at the limit below.
        if (Number(request.headers["content-length"] ?? 0) > maxBodyBytes)
          return jsonError(413, "BODY_TOO_LARGE", `the request body must be at most ${maxBodyBytes / 1024} KiB`)
        return yield* apiApp.pipe(
          Effect.map(withErrorCode),
          Effect.catchAllCause((cause) => {
            const failure = Cause.squash(cause)
            const tag = typeof failure === "object" && failure !== null && "_tag" in failure ? failure._tag : null
            if (tag === "RouteNotFound")
              return Effect.succeed(jsonError(404, "NOT_FOUND", `no API endpoint ${request.method} ${pathname}: see /api/v1/docs`))
            // The body could not be read: not JSON, or longer than the API accepts.
            if (tag === "RequestError")
              return Effect.succeed(
                jsonError(400, "BAD_BODY", `the request body must be a JSON object of at most ${maxBodyBytes / 1024} KiB; see /api/v1/docs`)
              )
            // A client that left (an event stream closed) is not a failure.
            if (Cause.isInterruptedOnly(cause)) return Effect.succeed(jsonError(499, "CLIENT_GONE", "the client closed the request"))
            return Effect.logError("API: request failed", cause).pipe(
              Effect.as(jsonError(500, "INTERNAL", "the server could not answer this request; its log says why"))
            )
          })
        )
      }
      if (request.method !== "GET" && request.method !== "HEAD")
        return jsonError(405, "METHOD_NOT_ALLOWED", "the dashboard's pages are read with GET")
      return yield* dashboard(pathname)
    }).pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)),
      Effect.map((response) => HttpServerResponse.setHeaders(response, securityHeaders)),
      Effect.catchAllCause((cause) =>
        (Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("HTTP: request failed", cause)).pipe(
          Effect.as(HttpServerResponse.setHeaders(jsonError(500, "INTERNAL", "the server could not answer this request"), securityHeaders))
        )
      )
    )
    const address = `${listen.host}:${listen.port}`
    const serverContext = yield* Layer.build(NodeHttpServer.layer(() => createServer(), { port: listen.port, host: listen.host })).pipe(
      Effect.mapError((e) => new HttpPortUnavailable({ address, reason: e.cause instanceof Error ? e.cause.message : String(e.cause) }))
    )
    yield* Layer.build(HttpServer.serve(app)).pipe(Effect.provide(serverContext))
    const bound = yield* HttpServer.HttpServer.pipe(Effect.provide(serverContext))
    return bound.address._tag === "TcpAddress" ? bound.address.port : listen.port
  })

export type HttpServerServices = SqlClient.SqlClient | ServeState | BackendCalls | ApiBackendAccess
