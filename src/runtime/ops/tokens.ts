import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { utcMinutes } from "../time-format.ts"

/*
 * Bearer tokens for the HTTP API's actions (`ccat token create/list/revoke`; table api_token,
 * migration 13). A token reads `ccat_<id>_<secret>`: the id finds the row without a scan, the
 * secret is 32 random bytes (base64url, 43 characters). Only the SHA-256 of the secret is stored,
 * so a copy of the database lets nobody act; the full token is shown once, when it is made.
 *
 * Verifying compares hashes in constant time (`timingSafeEqual`), and answers null for every
 * kind of refusal alike (malformed, unknown id, revoked, wrong secret), so a client learns
 * nothing about which. A well-formed token costs one read, plus a write of `last_used_at` at
 * most once a minute per token. The secret is never logged and never sent to the database.
 *
 * Names: 1 to 64 of letters, digits and `. _ @ -`, not only digits (a number given to
 * `ccat token revoke` is the id). A name belongs to one token at a time; after its token is
 * revoked it can be given to a new one.
 *
 * Revoking is not idempotent: revoking a token again fails with UnknownToken, saying when it was
 * revoked, so a typo or a second person's earlier revoke is visible rather than silently "done".
 */

export interface CreatedToken {
  readonly id: number
  readonly name: string
  /** The whole token, `ccat_<id>_<secret>`: shown once, never stored. */
  readonly token: string
}

export interface TokenInfo {
  readonly id: number
  readonly name: string
  readonly createdAt: Date
  readonly createdBy: string
  readonly revokedAt: Date | null
  readonly lastUsedAt: Date | null
}

export interface VerifiedToken {
  readonly id: number
  readonly name: string
}

const namePattern = /^[A-Za-z0-9._@-]{1,64}$/
const tokenPattern = /^ccat_([1-9][0-9]{0,14})_([A-Za-z0-9_-]{43})$/
const secretBytes = 32
/** `last_used_at` is written when it is older than this: verifying need not write on every request. */
const lastUsedResolutionMs = 60_000

/** Text a person typed, shown so that control characters and blanks are visible. */
const shown = (text: string): string => (namePattern.test(text) ? `\`${text}\`` : JSON.stringify(text))

export class InvalidTokenName extends Data.TaggedError("InvalidTokenName")<{ readonly name: string }> {
  override get message(): string {
    const why = /^[0-9]+$/.test(this.name)
      ? "a name must not be only digits (a number names a token by its id)"
      : "use 1 to 64 letters, digits and . _ @ - (for example ops-alice or ci.nightly)"
    return `invalid token name ${shown(this.name)}: ${why}`
  }
}

export class TokenNameTaken extends Data.TaggedError("TokenNameTaken")<{ readonly name: string; readonly id: number | null }> {
  override get message(): string {
    const id = this.id === null ? "" : ` (id ${this.id})`
    return `a token named ${shown(this.name)} exists already${id}: choose another name, or \`ccat token revoke ${this.name}\` first`
  }
}

export class UnknownToken extends Data.TaggedError("UnknownToken")<{ readonly what: string; readonly revokedAt: Date | null }> {
  override get message(): string {
    return this.revokedAt === null
      ? `no token ${shown(this.what)} (\`ccat token list\` lists them)`
      : `token ${shown(this.what)} was already revoked at ${utcMinutes(this.revokedAt)}; nothing changed`
  }
}

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** The database refused a second live token of a name: index api_token_active_name. */
const isNameTaken = (e: SqlError.SqlError): boolean => {
  const cause = e.cause as { readonly code?: unknown; readonly constraint?: unknown; readonly message?: unknown } | undefined
  return (
    cause?.code === "23505" &&
    (cause.constraint === "api_token_active_name" || (typeof cause.message === "string" && cause.message.includes("api_token_active_name")))
  )
}

export const createToken = (request: {
  readonly name: string
  readonly createdBy: string
  readonly now: Date
}): Effect.Effect<CreatedToken, TokenNameTaken | InvalidTokenName | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const { name } = request
    if (!namePattern.test(name) || /^[0-9]+$/.test(name)) return yield* new InvalidTokenName({ name })
    const sql = yield* SqlClient.SqlClient
    const [live] = yield* sql<{ id: string }>`SELECT id FROM api_token WHERE name = ${name} AND revoked_at IS NULL`
    if (live !== undefined) return yield* new TokenNameTaken({ name, id: Number(live.id) })
    const secret = randomBytes(secretBytes).toString("base64url")
    const rows = yield* sql<{ id: string }>`
      INSERT INTO api_token (name, secret_hash, created_at, created_by)
      VALUES (${name}, ${sha256(secret)}, ${request.now}, ${request.createdBy})
      RETURNING id`.pipe(Effect.catchIf(isNameTaken, () => Effect.fail(new TokenNameTaken({ name, id: null }))))
    const id = Number(rows[0]!.id)
    return { id, name, token: `ccat_${id}_${secret}` }
  })

/** Every token, revoked ones included (as history), oldest first. */
export const listTokens: Effect.Effect<ReadonlyArray<TokenInfo>, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{
    id: string
    name: string
    created_at: Date
    created_by: string
    revoked_at: Date | null
    last_used_at: Date | null
  }>`SELECT id, name, created_at, created_by, revoked_at, last_used_at FROM api_token ORDER BY id`
  return rows.map(
    (r): TokenInfo => ({
      id: Number(r.id),
      name: r.name,
      createdAt: new Date(r.created_at),
      createdBy: r.created_by,
      revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
      lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at)
    })
  )
})

/** Revoke the live token with this name, or with this id when `nameOrId` is a number. */
export const revokeToken = (
  nameOrId: string,
  now: Date
): Effect.Effect<VerifiedToken, UnknownToken | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const text = nameOrId.trim()
    const byId = /^[0-9]{1,15}$/.test(text)
    const which = byId ? sql`id = ${Number(text)}` : sql`name = ${text}`
    const [revoked] = yield* sql<{ id: string; name: string }>`
      UPDATE api_token SET revoked_at = ${now} WHERE ${which} AND revoked_at IS NULL RETURNING id, name`
    if (revoked !== undefined) return { id: Number(revoked.id), name: revoked.name }
    const [before] = yield* sql<{ revoked_at: Date }>`
      SELECT revoked_at FROM api_token WHERE ${which} AND revoked_at IS NOT NULL ORDER BY revoked_at DESC LIMIT 1`
    return yield* new UnknownToken({ what: text, revokedAt: before === undefined ? null : new Date(before.revoked_at) })
  })

/**
 * The token a request presented (the text after `Bearer `), if it is a live token: its id and
 * name; null when it is not, whatever the reason.
 */
export const verifyToken = (presented: string, now: Date): Effect.Effect<VerifiedToken | null, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const parsed = tokenPattern.exec(presented)
    if (parsed === null) return null
    const id = Number(parsed[1])
    const secret = parsed[2]!
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ name: string; secret_hash: Uint8Array; last_used_at: Date | null }>`
      SELECT name, secret_hash, last_used_at FROM api_token WHERE id = ${id} AND revoked_at IS NULL`
    if (row === undefined) return null
    const stored = Buffer.from(row.secret_hash)
    const given = sha256(secret)
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return null
    const staleBefore = new Date(now.getTime() - lastUsedResolutionMs)
    if (row.last_used_at === null || new Date(row.last_used_at) < staleBefore) {
      // The condition again in SQL: concurrent requests with one token write once.
      yield* sql`
        UPDATE api_token SET last_used_at = ${now}
        WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < ${staleBefore})`
    }
    return { id, name: row.name }
  })

/** Who an API action was, in a run's events: `token ops-alice`. */
export const tokenActor = (token: { readonly name: string }): string => `token ${token.name}`
