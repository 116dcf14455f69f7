import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, LogLevel } from "effect"
import { httpServer } from "../../src/api/http-server.ts"
import { ApiBackendAccess } from "../../src/api/handlers/actions.ts"
import { seedDemo } from "../../src/db/seed/index.ts"
import { applyWorkspace } from "../../src/definitions/apply.ts"
import { noBackendAccess } from "../../src/runtime/ops/cancel.ts"
import { createToken } from "../../src/runtime/ops/tokens.ts"
import type { TestBackend } from "./databases.ts"
import { compileExecution, demoPrograms } from "./execution.ts"
import { localServeSetup } from "./local-serve.ts"

/*
 * A `ccat serve` HTTP server on a database with runs in every status, for the API and dashboard
 * tests. The completed runs are real: the demo programs take DR21's scans through calibrate →
 * baseline → map under the real loops (products, files, lineage, logs as the collect loop writes
 * them). The loops then stop, and one run per other status is put straight into the table, each
 * in a sub-group of its own, as a stand-in for the moments the loops pass through; none has a
 * backend job, so cancelling one needs no backend. Then only the HTTP server runs, on a free
 * port, so nothing moves unless a test moves it.
 */

export const otherStatuses = ["PENDING", "STAGING_DATA", "SUBMITTED", "RUNNING", "COLLECTING_RESULTS", "FAILED", "CANCELLED"] as const

export interface ApiTestServer {
  readonly baseUrl: string
  /** A valid token (`ccat token create api-test`). */
  readonly token: string
  /** The run put in each status other than COMPLETED. */
  readonly runIn: Readonly<Record<(typeof otherStatuses)[number], number>>
  readonly pipeline: string
}

export class ApiServer extends Context.Tag("test/ApiServer")<ApiServer, ApiTestServer>() {}

const insertRunIn = (status: string, now: Date) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [map] = yield* sql<{ id: string; software_version: string; image: string; config: unknown }>`
      SELECT r.step_id AS id, r.software_version, r.image, r.config FROM executed_reduction_step r
      JOIN reduction_step s ON s.id = r.step_id WHERE s.name = 'map' ORDER BY r.id DESC LIMIT 1`
    const finished = status === "FAILED" || status === "CANCELLED"
    const [row] = yield* sql<{ id: string }>`
      INSERT INTO executed_reduction_step (step_id, sub_group_key, input_identity, fingerprint, status, reason, software_version, image, config,
        failure_reason, finished_at, created_at)
      VALUES (${map!.id}, ${`api-test-${status.toLowerCase()}`}, ${`api-test-${status}`}, 'fp', ${status}, 'MANUAL', ${map!.software_version},
        ${map!.image}, ${JSON.stringify(map!.config)}::jsonb, ${status === "FAILED" ? "EXIT_CODE: the program exited with code 3" : null},
        ${finished ? now : null}, ${now})
      RETURNING id`
    const id = Number(row!.id)
    yield* sql`INSERT INTO run_event (run_id, actor, from_status, to_status, reason, at) VALUES (${id}, 'trigger', NULL, 'PENDING', 'MANUAL', ${now})`
    if (status !== "PENDING")
      yield* sql`INSERT INTO run_event (run_id, actor, from_status, to_status, reason, at) VALUES (${id}, 'test', 'PENDING', ${status}, 'set by the test', ${now})`
    return id
  })

/** The server, on `backend`, for as long as the layer lives. `readsNeedToken` as `--read-token`. */
export const apiServerLayer = (
  tempDir: (name: string) => string,
  backend: TestBackend,
  options: { readonly readsNeedToken?: boolean } = {}
) => {
  const { layers, serveUntilIdle } = localServeSetup(tempDir, backend, {
    config: { softwarePath: [demoPrograms] },
    logLevel: LogLevel.Error
  })
  const server = Layer.scoped(
    ApiServer,
    Effect.gen(function* () {
      yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
      yield* applyWorkspace(compileExecution(), { createdBy: "test" })
      yield* serveUntilIdle
      const now = new Date()
      const runIn = {} as Record<(typeof otherStatuses)[number], number>
      for (const status of otherStatuses) runIn[status] = yield* insertRunIn(status, now)
      const { token } = yield* createToken({ name: "api-test", createdBy: "test", now })
      const port = yield* httpServer({ host: "127.0.0.1", port: 0, readsNeedToken: options.readsNeedToken ?? false }).pipe(
        Effect.provideService(ApiBackendAccess, noBackendAccess)
      )
      const [pipeline] = yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ name: string }>`SELECT name FROM pipeline ORDER BY id LIMIT 1`
      )
      return { baseUrl: `http://127.0.0.1:${port}`, token, runIn, pipeline: pipeline!.name }
    })
  )
  return Layer.provideMerge(server, layers)
}
