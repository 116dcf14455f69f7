import { Command } from "@effect/cli"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import { ConfigProvider, Effect } from "effect"
import { lineageCommand } from "../src/cli/lineage-command.ts"
import { runsCommand } from "../src/cli/runs-command.ts"
import { serveCommand } from "../src/cli/serve-command.ts"
import { statusCommand } from "../src/cli/status-command.ts"
import { whyCommand } from "../src/cli/why-command.ts"
import { httpServer, openApiDocument } from "../src/api/http-server.ts"
import { ApiBackendAccess } from "../src/api/handlers/actions.ts"
import { noBackendAccess } from "../src/runtime/ops/cancel.ts"
import { ApiServer, apiServerLayer } from "./support/api-server.ts"
import { runCaptured } from "./support/cli-capture.ts"
import { testBackends } from "./support/databases.ts"
import { scratchDirs } from "./support/scratch.ts"

// The HTTP API of `ccat serve` as a client sees it, on both databases: the same answers as the
// CLI (`ccat runs --json`, `ccat why --json`, `ccat lineage --json`), actions only with a token
// and recorded as who did them, hostile input refused with a 4xx, a code and nothing changed,
// and an OpenAPI document that a validator accepts. The runs are real (test/support/api-server.ts).

const tempDir = scratchDirs("ccat-api")

type Cli = (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, SqlClient.SqlClient>
const cli = <N extends string, R, E, A>(command: Command.Command<N, R, E, A>) =>
  Command.run(command, { name: "ccat", version: "test" }) as unknown as Cli
const ccatJson = (command: Cli, args: ReadonlyArray<string>) =>
  Effect.map(runCaptured(command, args), (r) => {
    expect(r.code).toBe(0)
    return JSON.parse(r.stdout) as unknown
  })

interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers: Headers
}

const request = (url: string, init: RequestInit = {}): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // A text answer (a log, an event stream): kept as text.
    }
    return { status: response.status, body, headers: response.headers }
  })

const post = (url: string, token: string | null, body: unknown = {}) =>
  request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const statusOf = (runId: number) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ status: string }>`SELECT status FROM executed_reduction_step WHERE id = ${runId}`
  ).pipe(Effect.map(([row]) => row!.status))

/** The first `count` events of an event stream, then the connection closed. */
const firstEvents = (url: string, count: number, during: Effect.Effect<unknown> = Effect.void) =>
  Effect.gen(function* () {
    const controller = new AbortController()
    const reading = yield* Effect.promise(async () => {
      const response = await fetch(url, { signal: controller.signal })
      const reader = response.body!.getReader()
      const events: Array<{ event: string; data: unknown }> = []
      let buffer = ""
      const decoder = new TextDecoder()
      while (events.length < count) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        let end = buffer.indexOf("\n\n")
        while (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) })
          end = buffer.indexOf("\n\n")
        }
      }
      controller.abort()
      return events
    }).pipe(Effect.fork)
    yield* during
    return yield* reading.await.pipe(Effect.flatten)
  })

for (const backend of testBackends) {
  describe(`the HTTP API of ccat serve, ${backend}`, () => {
    layer(apiServerLayer(tempDir, backend), { timeout: 240_000, excludeTestServices: true })((it) => {
      it.effect("runs, one run, why and lineage answer what the CLI prints", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* ApiServer
          const api = `${baseUrl}/api/v1`
          const viaCli = (yield* ccatJson(cli(runsCommand), ["--json", "--limit", "5"])) as { runs: Array<unknown> }
          const page = yield* request(`${api}/runs?limit=5`)
          expect(page.status).toBe(200)
          expect((page.body as { runs: Array<unknown> }).runs).toEqual(viaCli.runs)

          // Every run exactly once across cursor pages, newest first.
          const all = (yield* ccatJson(cli(runsCommand), ["--json", "--limit", "500"])) as { runs: Array<{ id: number }> }
          const seen: Array<number> = []
          let cursor: number | null = null
          do {
            const next: Answer = yield* request(`${api}/runs?limit=4${cursor === null ? "" : `&cursor=${cursor}`}`)
            const body = next.body as { runs: Array<{ id: number }>; nextCursor: number | null }
            seen.push(...body.runs.map((r) => r.id))
            cursor = body.nextCursor
          } while (cursor !== null)
          expect(seen).toEqual(all.runs.map((r) => r.id))

          const filtered = yield* request(`${api}/runs?status=FAILED&step=map`)
          expect((filtered.body as { runs: Array<{ status: string }> }).runs.map((r) => r.status)).toEqual(["FAILED"])

          const map = (all.runs as Array<{ id: number; step: string; status: string }>).find(
            (r) => r.step === "map" && r.status === "COMPLETED"
          )!
          const detail = yield* request(`${api}/runs/${map.id}`)
          const run = detail.body as {
            events: Array<{ to: string }>
            inputs: Array<{ kind: string }>
            products: Array<{ id: number; type: string }>
          }
          expect(run.events.map((e) => e.to)).toContain("COMPLETED")
          expect(run.inputs.every((i) => i.kind === "product")).toBe(true)
          const plot = run.products.find((p) => p.type === "PLOT")!
          const file = yield* Effect.promise(() => fetch(`${api}/products/${plot.id}/file`))
          expect(file.headers.get("content-type")).toBe("image/png")
          const bytes = new Uint8Array(yield* Effect.promise(() => file.arrayBuffer()))
          expect([...bytes.slice(1, 4)]).toEqual([0x50, 0x4e, 0x47])

          const science = run.products.find((p) => p.type === "SCIENCE")!
          const lineage = (yield* request(`${api}/products/${science.id}/lineage`)).body as {
            nodes: Array<{ kind: string }>
            prov: unknown
          }
          expect(lineage.prov).toEqual(yield* ccatJson(cli(lineageCommand), [String(science.id), "--json"]))
          expect(new Set(lineage.nodes.map((n) => n.kind))).toEqual(new Set(["product", "run", "package"]))

          const why = yield* request(`${api}/pipelines/${(yield* ApiServer).pipeline}/steps/map/why`)
          expect(why.body).toEqual(yield* ccatJson(cli(whyCommand), [`${(yield* ApiServer).pipeline}.map`, "--json"]))

          const overview = (yield* request(`${api}/pipelines`)).body as {
            pipelines: Array<{
              name: string
              steps: Array<{ name: string; after: Array<string>; runs: unknown; gap: unknown; gapByReason: unknown }>
            }>
          }
          expect(overview.pipelines[0]!.steps.map((s) => [s.name, s.after])).toEqual([
            ["calibrate", []],
            ["baseline", ["calibrate"]],
            ["map", ["baseline"]]
          ])
          // Runs by status and the gap per step are `ccat status --json`'s.
          const status = (yield* ccatJson(cli(statusCommand), ["--json"])) as {
            steps: Array<{ pipeline: string; step: string; runs: unknown; gap: unknown; gapByReason: unknown }>
          }
          expect(overview.pipelines.flatMap((p) => p.steps.map((s) => [p.name, s.name, s.runs, s.gap, s.gapByReason]))).toEqual(
            status.steps.map((s) => [s.pipeline, s.step, s.runs, s.gap, s.gapByReason])
          )
          const log = yield* request(`${api}/runs/${map.id}/log/stdout`)
          expect(log.status).toBe(200)
          expect(String(log.body)).not.toBe("")
          const followed = yield* firstEvents(`${api}/runs/${map.id}/log/stdout/events`, 2)
          expect(followed.map((e) => e.event)).toEqual(["append", "end"])
          expect(followed[1]!.data).toEqual({ status: "COMPLETED" })
        })
      )

      it.effect("actions need a token; with one they act, record who, and tell open event streams", () =>
        Effect.gen(function* () {
          const { baseUrl, token, runIn } = yield* ApiServer
          const api = `${baseUrl}/api/v1`
          for (const presented of [null, "wrong", `${token}x`, token.replace(/^ccat_\d+_/, "ccat_999_")]) {
            const refused = yield* post(`${api}/runs/${runIn.PENDING}/cancel`, presented)
            expect(refused.status).toBe(401)
            expect(refused.body).toMatchObject({ code: "UNAUTHORIZED" })
          }
          expect(yield* statusOf(runIn.PENDING)).toBe("PENDING")

          const events = yield* firstEvents(
            `${api}/events`,
            2,
            Effect.gen(function* () {
              yield* Effect.sleep("1500 millis")
              const cancelled = yield* post(`${api}/runs/${runIn.PENDING}/cancel`, token, { reason: "wrong calibration" })
              expect(cancelled.status).toBe(200)
              expect(cancelled.body).toMatchObject({ runId: runIn.PENDING, from: "PENDING", actor: "token api-test" })
            })
          )
          expect(events.map((e) => e.event)).toEqual(["runs", "runs"])
          expect(yield* statusOf(runIn.PENDING)).toBe("CANCELLED")
          const detail = (yield* request(`${api}/runs/${runIn.PENDING}`)).body as { events: Array<{ actor: string; reason: string }> }
          expect(detail.events.at(-1)).toMatchObject({
            actor: "token api-test",
            reason: "CANCEL requested by token api-test: wrong calibration"
          })

          const again = yield* post(`${api}/runs/${runIn.PENDING}/cancel`, token)
          expect(again).toMatchObject({ status: 409, body: { code: "NOT_CANCELLABLE" } })
          const retried = yield* post(`${api}/runs/${runIn.FAILED}/retry`, token)
          expect(retried).toMatchObject({ status: 200, body: { from: "FAILED", actor: "token api-test" } })
          expect(yield* statusOf(runIn.FAILED)).toBe("PENDING")

          const bulk = yield* post(`${api}/runs/cancel`, token, { status: "PENDING", subGroup: "api-test-failed" })
          expect(bulk).toMatchObject({ status: 200, body: { matched: 1, succeeded: 1, failed: 0 } })
          expect(yield* statusOf(runIn.FAILED)).toBe("CANCELLED")
          const everything = yield* post(`${api}/runs/cancel`, token, {})
          expect(everything).toMatchObject({ status: 400, body: { code: "FILTER_REQUIRED" } })

          const requested = yield* post(`${api}/pipelines/${(yield* ApiServer).pipeline}/run`, token, { step: "map", force: true })
          expect(requested).toMatchObject({ status: 200, body: { step: "map", force: true, actor: "token api-test" } })
          const [row] = yield* Effect.flatMap(
            SqlClient.SqlClient,
            (sql) => sql<{ requested_by: string }>`SELECT requested_by FROM trigger_request ORDER BY id DESC LIMIT 1`
          )
          expect(row!.requested_by).toBe("token api-test")
        })
      )

      it.effect("hostile input gets a 4xx with a code and changes nothing", () =>
        Effect.gen(function* () {
          const { baseUrl, token, runIn } = yield* ApiServer
          const api = `${baseUrl}/api/v1`
          const cases: Array<[string, Effect.Effect<Answer>, number, string]> = [
            ["an unknown status", request(`${api}/runs?status=BOGUS`), 400, "BAD_REQUEST"],
            ["a huge limit", request(`${api}/runs?limit=1000000`), 400, "BAD_REQUEST"],
            ["a cursor that is not a number", request(`${api}/runs?cursor=1;DROP TABLE run_event`), 400, "BAD_REQUEST"],
            ["an unknown pipeline", request(`${api}/runs?pipeline=nope`), 404, "UNKNOWN_PIPELINE"],
            ["an unknown run", request(`${api}/runs/999999`), 404, "UNKNOWN_RUN"],
            ["`..` as a product id", request(`${api}/products/..%2F..%2Fetc%2Fpasswd/file`), 400, "BAD_REQUEST"],
            ["a body that is not JSON", post(`${api}/runs/${runIn.RUNNING}/cancel`, token, "cancel it"), 400, "BAD_BODY"],
            ["a body of the wrong shape", post(`${api}/runs/cancel`, token, { status: 12 }), 400, "BAD_REQUEST"],
            [
              "a body too large",
              post(`${api}/runs/${runIn.RUNNING}/cancel`, token, { reason: "x".repeat(200_000) }),
              413,
              "BODY_TOO_LARGE"
            ],
            ["an unknown endpoint", request(`${api}/runs/1/explode`), 404, "NOT_FOUND"]
          ]
          for (const [what, answer, status, code] of cases) {
            const got = yield* answer
            expect({ what, status: got.status, code: (got.body as { code?: string }).code }).toEqual({ what, status, code })
            expect(JSON.stringify(got.body)).not.toMatch(/at .*\.ts:\d+/)
          }
          expect(yield* statusOf(runIn.RUNNING)).toBe("RUNNING")

          // A product whose stored path climbs out of its folder is never served.
          const sql = yield* SqlClient.SqlClient
          const [product] = yield* sql<{ id: string }>`SELECT id FROM data_product WHERE product_type = 'PLOT' ORDER BY id LIMIT 1`
          yield* sql`UPDATE data_product SET relative_path = '../../../../../../etc/passwd' WHERE id = ${product!.id}`
          const escaped = yield* request(`${api}/products/${product!.id}/file`)
          expect(escaped).toMatchObject({ status: 400, body: { code: "UNSAFE_PATH" } })
          expect(JSON.stringify(escaped.body)).not.toContain("root:")
        })
      )

      it.effect("the OpenAPI document validates; reads can need a token; serve refuses to listen beyond loopback without one", () =>
        Effect.gen(function* () {
          const validator = new Validator()
          const result = yield* Effect.promise(() =>
            validator.validate(JSON.parse(JSON.stringify(openApiDocument)) as Parameters<Validator["validate"]>[0])
          )
          expect(result.errors ?? []).toEqual([])
          expect(result.valid).toBe(true)
          const { baseUrl, token } = yield* ApiServer
          const served = yield* request(`${baseUrl}/api/v1/openapi.json`)
          expect(served.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)))
          const page = yield* request(`${baseUrl}/api/v1/docs`)
          expect(page.headers.get("content-security-policy")).toContain("script-src 'self'")
          expect(String(page.body)).toContain("/api/v1/runs/{id}/cancel")

          const guarded = yield* httpServer({ host: "127.0.0.1", port: 0, readsNeedToken: true }).pipe(
            Effect.provideService(ApiBackendAccess, noBackendAccess)
          )
          const closed = yield* request(`http://127.0.0.1:${guarded}/api/v1/runs`)
          expect(closed).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } })
          const open = yield* request(`http://127.0.0.1:${guarded}/api/v1/runs`, { headers: { authorization: `Bearer ${token}` } })
          expect(open.status).toBe(200)

          const refused = yield* runCaptured(cli(serveCommand), ["--listen", "0.0.0.0:0"]).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
          )
          expect(refused.code).toBe(2)
          expect(refused.stderr).toContain("needs --read-token")
        }).pipe(Effect.scoped)
      )
    })
  })
}
