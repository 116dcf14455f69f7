import { Args, Command } from "@effect/cli"
import { Clock, Console, Effect } from "effect"
import { currentUser } from "../definitions/apply.ts"
import { renderTable, utcSeconds } from "../runtime/ops/format.ts"
import { createToken, listTokens, revokeToken, type TokenInfo } from "../runtime/ops/tokens.ts"
import { oneLineErrors } from "./command-failure.ts"
import { usageError } from "./command-failure.ts"
import { jsonOption } from "./run-arguments.ts"

/*
 * `ccat token create <name>`, `ccat token list [--json]`, `ccat token revoke <name|id>`: the
 * bearer tokens the HTTP API of `ccat serve` asks for before an action (src/runtime/ops/tokens.ts).
 *
 * `create` prints the token alone on standard output, so `TOKEN=$(ccat token create ci)` keeps
 * just the token, and on standard error that it will not be shown again and how to send it.
 * Exit 0 done; 1 a name already in use, an unknown or already revoked token, database error;
 * 2 usage (a name that is not 1 to 64 of letters, digits and `. _ @ -`, or only digits).
 *
 * `list --json`: `{ "tokens": [ { "id", "name", "createdAt", "createdBy", "revokedAt",
 * "lastUsedAt" } ] }`, times in ISO 8601 UTC, absent ones null. Revoked tokens are listed too.
 */

const nameArg = Args.text({ name: "name" }).pipe(
  Args.withDescription("What the token is for or whose it is (ops-alice, ci.nightly): 1 to 64 of letters, digits and . _ @ -.")
)
const nameOrIdArg = Args.text({ name: "name|id" }).pipe(Args.withDescription("The token's name or id, as `ccat token list` shows them."))

const createUsage = "ccat token create <name>"

export const tokenJson = (t: TokenInfo) => ({
  id: t.id,
  name: t.name,
  createdAt: t.createdAt.toISOString(),
  createdBy: t.createdBy,
  revokedAt: t.revokedAt?.toISOString() ?? null,
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null
})

export const renderTokens = (tokens: ReadonlyArray<TokenInfo>): string =>
  renderTable(
    ["ID", "NAME", "CREATED", "BY", "LAST USED", "STATUS"],
    tokens.map((t) => [
      String(t.id),
      t.name,
      utcSeconds(t.createdAt),
      t.createdBy,
      utcSeconds(t.lastUsedAt),
      t.revokedAt === null ? "active" : `revoked ${utcSeconds(t.revokedAt)}`
    ]),
    ["right"]
  )

const tokenCreateCommand = Command.make("create", { name: nameArg }, ({ name }) =>
  oneLineErrors(
    Effect.gen(function* () {
      const createdBy = yield* currentUser
      const now = new Date(yield* Clock.currentTimeMillis)
      const created = yield* createToken({ name, createdBy, now }).pipe(
        Effect.catchTag("InvalidTokenName", (e) => usageError(e.message, createUsage))
      )
      yield* Console.log(created.token)
      yield* Console.error(
        [
          `Created token ${created.name} (id ${created.id}). It will not be shown again: keep it where secrets belong.`,
          `Send it with each API action as the header  Authorization: Bearer <token>`,
          `Revoke it with  ccat token revoke ${created.name}`
        ].join("\n")
      )
    })
  )
).pipe(
  Command.withDescription(
    "Make a bearer token for the HTTP API's actions and print it once (only its hash is stored). Exit 0: made; 1: the name is in use, or database error; 2: usage."
  )
)

const tokenListCommand = Command.make("list", { json: jsonOption("the tokens") }, ({ json }) =>
  oneLineErrors(
    Effect.gen(function* () {
      const tokens = yield* listTokens
      if (json) {
        yield* Console.log(JSON.stringify({ tokens: tokens.map(tokenJson) }, null, 2))
        return
      }
      yield* Console.log(tokens.length === 0 ? "No tokens yet: `ccat token create <name>` makes one." : renderTokens(tokens))
    })
  )
).pipe(
  Command.withDescription(
    "List the API tokens, revoked ones too: id, name, created, by whom, last used, status. Exit 0: listed; 1: database error."
  )
)

const tokenRevokeCommand = Command.make("revoke", { token: nameOrIdArg }, ({ token }) =>
  oneLineErrors(
    Effect.gen(function* () {
      if (token.trim() === "") return yield* usageError("expected a token's name or id, got an empty string", "ccat token revoke <name|id>")
      const now = new Date(yield* Clock.currentTimeMillis)
      const revoked = yield* revokeToken(token, now)
      yield* Console.log(`Revoked token ${revoked.name} (id ${revoked.id}): requests presenting it are refused from now on.`)
    })
  )
).pipe(
  Command.withDescription(
    "Revoke an API token by name or id; it is refused from then on and stays listed. Exit 0: revoked; 1: no such token, already revoked, or database error; 2: usage."
  )
)

export const tokenCommand = Command.make("token").pipe(
  Command.withDescription("Bearer tokens for the HTTP API's actions in `ccat serve`: create, list, revoke."),
  Command.withSubcommands([tokenCreateCommand, tokenListCommand, tokenRevokeCommand])
)
