import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { testBackends } from "./support/databases.ts"
import { scratchDirs } from "./support/scratch.ts"
import { localServeSetup } from "./support/local-serve.ts"
import { repoRoot } from "./support/workspace.ts"

// Retries by failure reason (issue 19): a step retries only the reasons its policy names, and
// what the policy grows on retry reaches the next attempt, recorded in the attempt's event. On
// the local backend (whose `timeout` is enforced by coreutils timeout), on both databases.

const tempDir = scratchDirs("ccat-retry-reason")
const fixture = readFileSync(join(repoRoot, "test", "fixtures", "execution", "integrity.ccat"), "utf8")

const compile = (mode: string, seconds: number, policy: string) => {
  const text = fixture
    .replace(
      'config { mode = "good"  state = "STATE"  bytes = 1024 }',
      `config { mode = "${mode}"  state = ${JSON.stringify(tempDir(mode))}  bytes = ${seconds} }`
    )
    .replace("retries 1", policy)
  const result = compileSources([{ path: "retry.ccat", text }])
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("\n"))
  return result
}

for (const backend of testBackends) {
  describe(`retries by failure reason, ${backend}`, () => {
    const { layers, serveUntilIdle } = localServeSetup(tempDir, backend)
    const runsOf = (mode: string) =>
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{
          id: string
          status: string
          retry_count: number
          failure_reason: string | null
          submissions: ReadonlyArray<string>
        }>`
          SELECT r.id, r.status, r.retry_count, r.failure_reason,
            ARRAY(SELECT e.reason FROM run_event e WHERE e.run_id = r.id AND e.to_status = 'SUBMITTED' ORDER BY e.id) AS submissions
          FROM executed_reduction_step r WHERE r.config->>'mode' = ${mode} ORDER BY r.id`
      )

    layer(layers, { timeout: 180_000, excludeTestServices: true })((it) => {
      it.effect("a failure whose reason the policy does not name fails at once, whatever the count", () =>
        Effect.gen(function* () {
          yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
          yield* applyWorkspace(compile("fail", 1, "retries 2 on TIMEOUT, NODE_FAIL").ir!, { createdBy: "test" })
          yield* serveUntilIdle
          const runs = yield* runsOf("fail")
          expect(runs.map((r) => [r.status, r.retry_count, r.failure_reason, r.submissions.length])).toEqual([
            ["FAILED", 0, "EXIT_CODE 3", 1],
            ["FAILED", 0, "EXIT_CODE 3", 1]
          ])
        })
      )

      it.effect("a timeout is retried with the time the policy grows it to, and each attempt's event says what it asked for", () =>
        Effect.gen(function* () {
          // 3 s of work under a 2 s timeout: the first attempt times out; the second has 4 s.
          const compiled = compile("sleep", 3, "retries 1 on TIMEOUT { on TIMEOUT time x2 }\n    timeout 2s")
          // The step's `timeout` is a base for `time` to grow from: no W009.
          expect(compiled.diagnostics.filter((d) => d.code === "W009")).toEqual([])
          yield* applyWorkspace(compiled.ir!, { createdBy: "test" })
          yield* serveUntilIdle
          const runs = yield* runsOf("sleep")
          expect(runs).toHaveLength(2)
          for (const run of runs) {
            expect(run).toMatchObject({ status: "COMPLETED", retry_count: 1, failure_reason: null })
            expect(run.submissions.map((s) => s.replace(/job \S+/, "job J"))).toEqual([
              "submitted local job J (attempt 1; timeout 2s)",
              "submitted local job J (attempt 2; timeout 4s)"
            ])
          }
        })
      )
    })
  })
}
