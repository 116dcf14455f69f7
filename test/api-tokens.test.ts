import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { tokenCommand } from "../src/cli/token-command.ts"
import { createToken, listTokens, revokeToken, type TokenInfo, tokenActor, verifyToken } from "../src/runtime/ops/tokens.ts"
import { runCaptured } from "./support/cli-capture.ts"
import { testBackends, testDatabase } from "./support/databases.ts"

// The API's bearer tokens (issue 21): made, listed, verified and revoked on both databases, and
// `ccat token` as a person uses it. Tests in a layer share one database and run in order.

const t0 = new Date("2026-12-01T10:00:00Z")
const later = (ms: number) => new Date(t0.getTime() + ms)

type Cli = (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, SqlClient.SqlClient | NodeContext.NodeContext>
const tokenCli = Command.run(tokenCommand, { name: "ccat token", version: "test" }) as unknown as Cli
const ccatToken = (...args: Array<string>) =>
  runCaptured(tokenCli, args, "token").pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CCAT_USER", "ops-tester"]]))))

const secretOf = (token: string) => token.replace(/^ccat_\d+_/, "")

for (const backend of testBackends) {
  describe(`API tokens on ${backend}`, () => {
    layer(Layer.merge(testDatabase(backend), NodeContext.layer), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("a token made is accepted as its own name, and its use recorded as that name", () =>
        Effect.gen(function* () {
          const made = yield* createToken({ name: "ops-alice", createdBy: "alice", now: t0 })
          expect(made.token).toMatch(new RegExp(`^ccat_${made.id}_[A-Za-z0-9_-]{43}$`))
          const verified = yield* verifyToken(made.token, later(1000))
          expect(verified).toEqual({ id: made.id, name: "ops-alice" })
          expect(tokenActor(verified!)).toBe("token ops-alice")
        })
      )

      it.effect("refuses a wrong secret, a malformed token, another token's id with this secret, and a revoked token", () =>
        Effect.gen(function* () {
          const a = yield* createToken({ name: "ci.nightly", createdBy: "ops", now: t0 })
          const b = yield* createToken({ name: "robot@lab", createdBy: "ops", now: t0 })
          const wrong = `ccat_${a.id}_${"A".repeat(43)}`
          for (const presented of [
            wrong,
            "",
            "ccat_",
            `ccat_${a.id}_`,
            `ccat_${a.id}_${secretOf(a.token)}x`,
            `Bearer ${a.token}`,
            `${a.token} `,
            `ccat_0${a.id}_${secretOf(a.token)}`,
            `ccat_${b.id}_${secretOf(a.token)}`
          ]) {
            expect(yield* verifyToken(presented, t0), presented).toBeNull()
          }
          expect(yield* verifyToken(b.token, t0)).toEqual({ id: b.id, name: "robot@lab" })
          expect(yield* revokeToken("robot@lab", later(5000))).toEqual({ id: b.id, name: "robot@lab" })
          expect(yield* verifyToken(b.token, later(6000))).toBeNull()
        })
      )

      it.effect("lists tokens with when each was last used, written at most once a minute", () =>
        Effect.gen(function* () {
          const byName = (tokens: ReadonlyArray<TokenInfo>, name: string) => tokens.find((t) => t.name === name)
          const alice = byName(yield* listTokens, "ops-alice")!
          expect(alice).toEqual({
            id: alice.id,
            name: "ops-alice",
            createdAt: t0,
            createdBy: "alice",
            revokedAt: null,
            lastUsedAt: later(1000)
          })
          expect(byName(yield* listTokens, "robot@lab")).toMatchObject({ revokedAt: later(5000), lastUsedAt: t0 })
          const made = yield* createToken({ name: "dashboard", createdBy: "ops", now: t0 })
          expect(byName(yield* listTokens, "dashboard")?.lastUsedAt).toBeNull()
          yield* verifyToken(made.token, later(10_000))
          yield* verifyToken(made.token, later(30_000))
          expect(byName(yield* listTokens, "dashboard")?.lastUsedAt).toEqual(later(10_000))
          yield* verifyToken(made.token, later(80_000))
          expect(byName(yield* listTokens, "dashboard")?.lastUsedAt).toEqual(later(80_000))
        })
      )

      it.effect("stores the SHA-256 of the secret, never the token or the secret", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const made = yield* createToken({ name: "hash-check", createdBy: "ops", now: t0 })
          const secret = secretOf(made.token)
          const [row] = yield* sql<{ secret_hash: Uint8Array; whole: string }>`
            SELECT secret_hash, t::text AS whole FROM api_token t WHERE id = ${made.id}`
          expect(Buffer.from(row!.secret_hash).equals(createHash("sha256").update(secret).digest())).toBe(true)
          expect(row!.whole).not.toContain(secret)
          expect(row!.whole).not.toContain(Buffer.from(secret).toString("hex"))
        })
      )

      it.effect("refuses bad and taken names, gives a revoked token's name again, and says when a token was already revoked", () =>
        Effect.gen(function* () {
          for (const name of ["", "has space", "x".repeat(65), "12", "ops/alice"]) {
            const error = yield* Effect.flip(createToken({ name, createdBy: "ops", now: t0 }))
            expect(error._tag, name).toBe("InvalidTokenName")
          }
          const taken = yield* Effect.flip(createToken({ name: "ops-alice", createdBy: "ops", now: t0 }))
          expect(taken.message).toMatch(
            /^a token named `ops-alice` exists already \(id \d+\): choose another name, or `ccat token revoke ops-alice` first$/
          )
          const again = yield* createToken({ name: "robot@lab", createdBy: "ops", now: t0 })
          expect(yield* verifyToken(again.token, t0)).toEqual({ id: again.id, name: "robot@lab" })
          const first = (yield* listTokens).find((t) => t.name === "ci.nightly")!
          yield* revokeToken(String(first.id), later(60_000))
          expect((yield* Effect.flip(revokeToken("ci.nightly", t0))).message).toBe(
            "token `ci.nightly` was already revoked at 2026-12-01 10:01 UTC; nothing changed"
          )
          expect((yield* Effect.flip(revokeToken("nobody", t0))).message).toBe("no token `nobody` (`ccat token list` lists them)")
        })
      )

      it.effect("ccat token create, list and revoke: output and exit codes", () =>
        Effect.gen(function* () {
          const created = yield* ccatToken("create", "cli-made")
          expect(created.code).toBe(0)
          expect(created.stdout).toMatch(/^ccat_\d+_[A-Za-z0-9_-]{43}$/)
          const id = Number(/^ccat_(\d+)_/.exec(created.stdout)![1])
          expect(created.stderr).toBe(
            [
              `Created token cli-made (id ${id}). It will not be shown again: keep it where secrets belong.`,
              "Send it with each API action as the header  Authorization: Bearer <token>",
              "Revoke it with  ccat token revoke cli-made"
            ].join("\n")
          )
          expect(yield* verifyToken(created.stdout, new Date())).toEqual({ id, name: "cli-made" })

          const listed = yield* ccatToken("list")
          expect(listed.code).toBe(0)
          const lines = listed.stdout.split("\n")
          expect(lines[0]).toMatch(/^\s*ID {2}NAME\s+CREATED\s+BY\s+LAST USED\s+STATUS$/)
          expect(lines.find((l) => l.includes("cli-made"))).toMatch(
            new RegExp(`^\\s*${id}  cli-made\\s+\\S+Z  ops-tester\\s+\\S+Z  active$`)
          )
          expect(lines.find((l) => l.includes("ci.nightly"))).toMatch(/ revoked 2026-12-01T10:01:00Z$/)
          const json = JSON.parse((yield* ccatToken("list", "--json")).stdout) as { tokens: Array<Record<string, unknown>> }
          expect(json.tokens.find((t) => t["name"] === "cli-made")).toMatchObject({ id, createdBy: "ops-tester", revokedAt: null })
          expect(JSON.stringify(json)).not.toContain(created.stdout)

          expect(yield* ccatToken("revoke", "cli-made")).toEqual({
            code: 0,
            stdout: `Revoked token cli-made (id ${id}): requests presenting it are refused from now on.`,
            stderr: ""
          })
          expect(yield* ccatToken("revoke", String(id))).toMatchObject({
            code: 1,
            stdout: "",
            stderr: expect.stringMatching(new RegExp(`^error: token \`${id}\` was already revoked at .* UTC; nothing changed$`))
          })
          expect(yield* ccatToken("create", "ops-alice")).toMatchObject({ code: 1, stdout: "" })
          expect(yield* ccatToken("create", "no good")).toEqual({
            code: 2,
            stdout: "",
            stderr:
              'error: invalid token name "no good": use 1 to 64 letters, digits and . _ @ - (for example ops-alice or ci.nightly)\nusage: ccat token create <name>'
          })
        })
      )
    })
  })
}
