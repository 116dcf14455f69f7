import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * Bearer tokens for the HTTP API's actions (issue 21; src/runtime/ops/tokens.ts):
 *
 * - a token is `ccat_<id>_<secret>`; only the SHA-256 of the secret is kept (`secret_hash`), so
 *   the table leaks nothing a client could send. The id is not secret: it finds the row.
 * - `revoked_at`: a revoked token stays as history (who made it, when it was last used) and is
 *   never accepted again. A name belongs to at most one token that is not revoked, so a name can
 *   be used again after its token was revoked. A name is never only digits: `ccat token revoke 12`
 *   means the token with id 12.
 * - `last_used_at`: when a request last presented it, to the minute (written at most once a
 *   minute per token, so verifying does not write on every request).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE api_token (
      id bigserial PRIMARY KEY,
      name text NOT NULL CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$' AND name !~ '^[0-9]+$'),
      secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by text NOT NULL,
      revoked_at timestamptz,
      last_used_at timestamptz
    )`
  yield* sql`CREATE UNIQUE INDEX api_token_active_name ON api_token (name) WHERE revoked_at IS NULL`
})
