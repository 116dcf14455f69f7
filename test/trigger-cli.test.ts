import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { planCommand } from "../src/cli/plan-command.ts"
import { runCommand } from "../src/cli/run-command.ts"
import { whyCommand } from "../src/cli/why-command.ts"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo, seedMore } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { runCaptured } from "./support/cli-capture.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { loadCcatFiles, repoRoot } from "./support/workspace.ts"

// `ccat plan` (its trigger section), `ccat run` and `ccat why` as a person uses them, on both
// database backends: what they print, their exit codes, and that plan and why change nothing.

const scratch: Array<string> = []
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})

const commands = {
  plan: Command.run(planCommand, { name: "ccat plan", version: "test" }),
  run: Command.run(runCommand, { name: "ccat run", version: "test" }),
  why: Command.run(whyCommand, { name: "ccat why", version: "test" })
}

const ccat = (name: keyof typeof commands, ...args: Array<string>) => runCaptured(commands[name], args, name)

/** Row counts of everything a pass could write. */
const footprint = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<Record<string, number>>`
    SELECT (SELECT count(*)::int FROM executed_reduction_step) AS runs, (SELECT count(*)::int FROM run_input) AS inputs,
           (SELECT count(*)::int FROM run_event) AS events, (SELECT count(*)::int FROM trigger_request) AS requests,
           (SELECT count(*)::int FROM definitions_generation) AS generations`
  return row!
})

const chai = join(repoRoot, "pipelines", "chai")

for (const backend of testBackends) {
  describe(`trigger commands on ${backend}`, () => {
    layer(Layer.merge(testDatabase(backend), NodeContext.layer), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("plan shows the runs the trigger would create now, by step and reason, and writes nothing", () =>
        Effect.gen(function* () {
          const archiveDir = mkdtempSync(join(tmpdir(), "ccat-trigger-cli-"))
          scratch.push(archiveDir)
          yield* seedDemo({ archiveDir })
          const before = yield* footprint
          // Nothing applied yet: the preview applies the files first, then evaluates.
          const plan = yield* ccat("plan", chai)
          expect(plan.code).toBe(0)
          expect(plan.stdout).toContain("Runs the trigger would create now (as of ")
          expect(plan.stdout).toMatch(
            / {2}chai_standing\n {4}calibrate +193 runs {3}NEW_DATA 193\n {4}baseline +0 runs {3}held: WAITING_UPSTREAM 193\n {4}map +0 runs {3}held: WAITING_UPSTREAM \d+\n/
          )
          expect(plan.stdout).toContain("ngc253_co43_outflow: not triggered: manual (`ccat run ngc253_co43_outflow` requests a run)")
          expect(plan.stdout).toMatch(/193 runs would be created\.$/)
          expect(yield* footprint).toEqual(before)

          const json = yield* ccat("plan", chai, "--json")
          const document = JSON.parse(json.stdout) as {
            trigger: {
              runs: number
              steps: Array<{
                pipeline: string
                step: string
                triggered: boolean
                runs: number
                items: Array<{ subGroupKey: string; action: string; reason: string; inputCount: number }>
              }>
            }
          }
          expect(document.trigger.runs).toBe(193)
          const calibrate = document.trigger.steps.find((s) => s.step === "calibrate")!
          expect(calibrate.items).toHaveLength(193)
          expect(new Set(calibrate.items.map((i) => `${i.action} ${i.reason}`))).toEqual(new Set(["create NEW_DATA"]))
          expect(calibrate.items.every((i) => i.inputCount >= 1 && /^[0-9a-f-]{36}$/.test(i.subGroupKey))).toBe(true)
          expect(document.trigger.steps.find((s) => s.pipeline === "ngc253_co43_outflow")!.triggered).toBe(false)

          // --out saves the same document.
          const out = join(archiveDir, "plan.json")
          expect((yield* ccat("plan", chai, "--out", out)).code).toBe(0)
          expect((JSON.parse(readFileSync(out, "utf8")) as typeof document).trigger.runs).toBe(193)
          expect(yield* footprint).toEqual(before)
        })
      )

      it.effect("why explains a step, one sub-group, a sub-group that is not there, and a cooldown", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* applyWorkspace(compileSources(loadCcatFiles(chai)).ir!, { createdBy: "test" })
          const before = yield* footprint

          const summary = yield* ccat("why", "chai_standing.calibrate")
          expect(summary.code).toBe(0)
          expect(summary.stdout).toMatch(
            /^chai_standing\.calibrate: 193 sub-groups \(group_by executed_obs_unit\); 193 runs would be created now\.\n {2}NEW_DATA +193 {2}new or changed input data\n/
          )
          const key = /e\.g\. ([0-9a-f-]{36})/.exec(summary.stdout)![1]!

          const one = yield* ccat("why", "chai_standing.calibrate", key)
          expect(one.stdout.split("\n")).toEqual([
            `chai_standing.calibrate ${key}: a run would be created now (NEW_DATA: new or changed input data).`,
            expect.stringMatching(/^ {2}inputs: 2 raw packages, identity [0-9a-f]{12}$/),
            "  no earlier run of this sub-group"
          ])

          const waiting = yield* ccat("why", "chai_standing.baseline", key)
          expect(waiting.stdout).toContain("no run now (WAITING_UPSTREAM")
          // The calibration it waits for is one the same pass creates: named, never by the id it had in the rolled-back preview.
          expect(waiting.stdout).toContain(
            `waits for 1 upstream run still pending or running, or that would be created now:\n    a run that would be created now (chai_standing.calibrate ${key})`
          )
          expect(waiting.stdout).not.toMatch(/\brun \d+/)

          // A cube waits for the calibrations of its scans, two steps up.
          const cube = yield* ccat("why", "chai_standing.map", "NGC253__CO43")
          expect(cube.stdout).toContain("chai_standing.map NGC253__CO43: no run now (WAITING_UPSTREAM")
          expect(cube.stdout).toMatch(
            /waits for \d+ upstream runs still pending or running, or that would be created now:\n {4}a run that would be created now \(chai_standing\.calibrate [0-9a-f-]{36}\)\n/
          )
          // A Prime-Cam source/line: the grouping's rules say which one leaves it out.
          const [primecam] = yield* sql<{ key: string }>`
            SELECT s.name || '__' || u.line_id AS key FROM raw_data_package p
            JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id JOIN obs_unit u ON u.id = e.obs_unit_id
            JOIN source s ON s.id = u.source_id JOIN instrument_module m ON m.id = p.instrument_module_id
            JOIN instrument i ON i.id = m.instrument_id
            WHERE i.name = 'Prime-Cam' AND s.name ~ '^[A-Za-z0-9-]+$' AND u.line_id ~ '^[A-Za-z0-9-]+$'
              AND NOT EXISTS (SELECT 1 FROM obs_unit u2 JOIN executed_obs_unit e2 ON e2.obs_unit_id = u2.id
                JOIN raw_data_package p2 ON p2.executed_obs_unit_id = e2.id JOIN instrument_module m2 ON m2.id = p2.instrument_module_id
                JOIN instrument i2 ON i2.id = m2.instrument_id WHERE u2.source_id = s.id AND u2.line_id = u.line_id AND i2.name = 'CHAI')
            LIMIT 1`
          expect(primecam).toBeDefined()
          const excluded = yield* ccat("why", "chai_standing.map", primecam!.key)
          expect(excluded.stdout).toContain(`chai_standing.map has no sub-group \`${primecam!.key}\` now.`)
          expect(excluded.stdout).toMatch(/\d+ raw packages? ha(s|ve) this key; 0 of them are selected by grouping `chai_archived`\./)
          expect(excluded.stdout).toMatch(/rule `Instrument\.name == "CHAI"` \(pipelines\/chai\/groupings\.ccat:\d+:\d+\) excludes \d+/)
          const nothing = yield* ccat("why", "chai_standing.calibrate", "no-such-scan")
          expect(nothing.stdout).toContain("No raw package at all has the sub-group key `no-such-scan` under group_by executed_obs_unit.")

          // After the runs exist and one completed, a change to its inputs waits for the cooldown.
          yield* evaluatePass({})
          yield* sql`UPDATE executed_reduction_step SET status = 'COMPLETED' WHERE sub_group_key = ${key}`
          yield* sql`UPDATE raw_data_package SET checksum = 'changed' WHERE id IN (SELECT raw_data_package_id FROM run_input r JOIN executed_reduction_step e ON e.id = r.run_id WHERE e.sub_group_key = ${key} LIMIT 1)`
          const cooling = yield* ccat("why", "chai_standing.calibrate", key)
          expect(cooling.stdout).toContain("no run now (COOLDOWN")
          expect(cooling.stdout).toMatch(/since then 1 added, 1 gone|same input set/)
          // Less than the minute of cooldown is left: the moment to the second, the time left in
          // seconds (rounded up: 59.4 s left reads "1m").
          expect(cooling.stdout).toMatch(/cooldown 1m: the next run may start at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in (\d+s|1m)\)\./)
          expect((yield* footprint).requests).toBe(before.requests)

          expect((yield* ccat("why", "chai_standng.calibrate")).code).toBe(1)
          const typo = yield* ccat("why", "chai_standing.calibrte")
          expect(typo.code).toBe(1)
          expect(typo.stderr).toBe("error: no step `calibrte` in pipeline `chai_standing`; did you mean `calibrate`?")
          const usage = yield* ccat("why", "chai_standing")
          expect(usage.code).toBe(2)
          expect(usage.stderr).toContain("expected <pipeline>.<step>")
        })
      )

      it.effect("run records a request for the next pass; unknown names are refused with a suggestion", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const manual = yield* ccat("why", "ngc253_co43_outflow.map")
          expect(manual.stdout).toContain("ngc253_co43_outflow is triggered by hand; after `ccat run ngc253_co43_outflow`:")
          expect(manual.stdout).toContain("1 run would be created now.")

          const r = yield* ccat("run", "ngc253_co43_outflow", "--force")
          expect(r.code).toBe(0)
          expect(r.stdout).toMatch(/^Recorded trigger request \d+ for ngc253_co43_outflow \(every step, forced\)\./)
          const [request] = yield* sql<{ kind: string; force: boolean; step_name: string | null; consumed_at: Date | null }>`
            SELECT kind, force, step_name, consumed_at FROM trigger_request WHERE kind = 'manual' ORDER BY id DESC LIMIT 1`
          expect(request).toEqual({ kind: "manual", force: true, step_name: null, consumed_at: null })
          const pass = yield* evaluatePass({})
          const map = pass.steps.find((s) => s.pipeline === "ngc253_co43_outflow")!
          expect(map.counts).toEqual({ MANUAL: 1 })
          const [tag] = yield* sql<{ request_tag: string }>`
            SELECT r.request_tag FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id
            JOIN pipeline p ON p.id = s.pipeline_id WHERE p.name = 'ngc253_co43_outflow'`
          expect(tag!.request_tag).toMatch(/^request-\d+$/)

          const bad = yield* ccat("run", "ngc253_co43_outflw")
          expect(bad.code).toBe(1)
          expect(bad.stderr).toContain("no pipeline `ngc253_co43_outflw` in the applied definitions; did you mean `ngc253_co43_outflow`?")
          const badStep = yield* ccat("run", "chai_standing", "--step", "mapp")
          expect(badStep.code).toBe(1)
          expect(badStep.stderr).toContain("no step `mapp` in pipeline `chai_standing` in the applied definitions; did you mean `map`?")
        })
      )

      it.effect("plan starts from what the trigger loop remembers, decides what a full evaluation decides, and says so", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* evaluatePass({ remember: true })
          yield* seedMore({ scans: 3 })
          const memory = sql`
            SELECT (SELECT json_agg(t ORDER BY step_id) FROM trigger_step_state t) AS steps,
                   (SELECT count(*)::int FROM trigger_sub_group_state) AS sub_groups`
          const before = { rows: yield* footprint, memory: yield* memory }
          const plan = yield* ccat("plan", chai)
          expect(plan.code).toBe(0)
          expect(plan.stdout).toContain(
            "From the trigger loop's memory: chai_standing.calibrate, chai_standing.baseline, chai_standing.map (only sub-groups changed since its last pass were decided again; `ccat plan --json` decides every one)."
          )
          // --json decides every sub-group: the text's counts are the same.
          const json = yield* ccat("plan", chai, "--json")
          expect(json.stdout).not.toContain("From the trigger loop's memory")
          const document = JSON.parse(json.stdout) as {
            trigger: { runs: number; steps: Array<{ pipeline: string; step: string; counts: Record<string, number> }> }
          }
          const calibrate = document.trigger.steps.find((s) => s.pipeline === "chai_standing" && s.step === "calibrate")!
          expect(calibrate.counts.NEW_DATA).toBeGreaterThan(0)
          for (const step of document.trigger.steps.filter((s) => s.pipeline === "chai_standing")) {
            const line = plan.stdout.split("\n").find((l) => l.startsWith(`    ${step.step} `))!
            for (const [reason, n] of Object.entries(step.counts)) expect(line, step.step).toContain(`${reason} ${n}`)
          }
          expect(plan.stdout).toMatch(new RegExp(`\\n${document.trigger.runs} runs? would be created\\.\\n`))
          expect({ rows: yield* footprint, memory: yield* memory }).toEqual(before)
        })
      )
    })
  })
}
