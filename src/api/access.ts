import { HttpServerRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import { tokenActor, verifyToken } from "../runtime/ops/tokens.ts"
import { ActionAccess, ReadAccess } from "./api.ts"
import { databaseUnavailable } from "./errors.ts"
import { Unauthorized } from "./schemas.ts"

/*
 * Who may call the API. Actions always need a bearer token (`ccat token create`); reads need
 * one only when the server says so (`--read-token`, required to listen beyond loopback). A
 * browser's EventSource cannot send headers, so a GET may carry the token as `access_token`
 * in its query instead. Every refusal is the same 401, whatever was wrong with the token.
 */

export interface ApiAccessSettings {
  readonly readsNeedToken: boolean
}

export class ApiAccess extends Context.Tag("ccat/api/ApiAccess")<ApiAccess, ApiAccessSettings>() {}

const refused = (needed: string) =>
  new Unauthorized({
    code: "UNAUTHORIZED",
    message: `${needed} needs a valid bearer token (Authorization: Bearer <token>; \`ccat token create <name>\` makes one)`
  })

/** The token presented by the header, else by `?access_token=` on a GET; empty when none. */
const presentedToken = (bearer: Redacted.Redacted<string>) =>
  Effect.gen(function* () {
    const fromHeader = Redacted.value(bearer).trim()
    if (fromHeader !== "") return fromHeader
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.method !== "GET") return ""
    const search = yield* HttpServerRequest.ParsedSearchParams
    const query = search["access_token"]
    return typeof query === "string" ? query.trim() : ""
  })

const check = (sql: SqlClient.SqlClient, bearer: Redacted.Redacted<string>, needed: string) =>
  Effect.gen(function* () {
    const presented = yield* presentedToken(bearer)
    if (presented === "") return yield* refused(needed)
    const now = new Date(yield* Clock.currentTimeMillis)
    // A database that does not answer is said as such: a good token is not "invalid" then.
    const token = yield* verifyToken(presented, now).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      Effect.catchTag("SqlError", databaseUnavailable)
    )
    if (token === null) return yield* refused(needed)
    return { actor: tokenActor(token) }
  })

export const ReadAccessLive = Layer.effect(
  ReadAccess,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const settings = yield* ApiAccess
    return {
      bearer: (bearer) =>
        settings.readsNeedToken
          ? check(sql, bearer, "reading on this server")
          : Effect.succeed({ actor: Redacted.value(bearer).trim() === "" ? "anonymous" : "anonymous (token not checked for reads)" })
    }
  })
)

export const ActionAccessLive = Layer.effect(
  ActionAccess,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return { bearer: (bearer) => check(sql, bearer, "this action") }
  })
)
