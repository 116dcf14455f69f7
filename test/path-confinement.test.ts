import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either, Logger, LogLevel } from "effect"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, relative, sep } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { confinedPath, isWithin } from "../src/runtime/execution/confined-path.ts"
import { purgeCycle } from "../src/runtime/execution/purge.ts"
import { shouldRetry } from "../src/runtime/execution/retry-policy.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { retryRun } from "../src/runtime/ops/retry.ts"
import { removeStagedInputs } from "../src/runtime/execution/staged-inputs.ts"
import { testBackends } from "./support/databases.ts"
import { runsOfMode, type ModeRun } from "./support/runs-of-mode.ts"
import { capturingLogs } from "./support/capture-logs.ts"
import { scratchDirs } from "./support/scratch.ts"
import { localServeSetup } from "./support/local-serve.ts"
import { repoRoot } from "./support/workspace.ts"

// No name read from the database leaves its folder (the hardening issue, item 1): an archive
// file or package name, a sub-group key or a product path with `..` fails the run for good with
// UNSAFE_PATH and creates nothing outside; purge deletes nothing outside its location's folder.

const tempDir = scratchDirs("ccat-confinement")
const fixture = readFileSync(join(repoRoot, "test", "fixtures", "execution", "confinement.ccat"), "utf8")

/** A name that climbs from any run folder to `absolute` (more `..` than any folder is deep). */
const climbingTo = (absolute: string): string => `${"../".repeat(40)}${absolute.slice(1)}`

describe("confinedPath", () => {
  const folder = "/srv/runs/p/s"

  it("gives the resolved path of a name below its folder, or of the folder itself", () => {
    expect(confinedPath(folder, "a/b.fits", "x")).toEqual(Either.right("/srv/runs/p/s/a/b.fits"))
    expect(confinedPath(folder, "a/../b", "x")).toEqual(Either.right("/srv/runs/p/s/b"))
    expect(confinedPath(folder, "..hidden", "x")).toEqual(Either.right("/srv/runs/p/s/..hidden"))
    expect(confinedPath(folder, "", "x")).toEqual(Either.right(folder))
    expect(confinedPath(folder, ".", "x")).toEqual(Either.right(folder))
  })

  it("refuses a name that climbs out, even half-way or into a sibling that shares the folder's prefix", () => {
    for (const name of ["..", "../x", "a/../../x", "../s-evil/x", climbingTo("/tmp/x")]) {
      const result = confinedPath(folder, name, "the name of raw data package 7")
      expect(Either.isLeft(result), name).toBe(true)
      expect(Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value.message : ""))).toBe(
        `UNSAFE_PATH: the name of raw data package 7 ${JSON.stringify(name)} would leave the folder ${folder}`
      )
    }
  })

  it("refuses absolute names, even ones inside the folder, and names with a NUL byte", () => {
    const messages = ["/tmp/x", `${folder}/a`, "a\0b"].map((name) =>
      Either.match(confinedPath(folder, name, "the step name"), { onLeft: (e) => e.message, onRight: () => "allowed" })
    )
    expect(messages).toEqual([
      `UNSAFE_PATH: the step name "/tmp/x" is absolute, outside the folder ${folder}`,
      `UNSAFE_PATH: the step name "${folder}/a" is absolute, outside the folder ${folder}`,
      `UNSAFE_PATH: the step name "a\\u0000b" has a NUL byte, not allowed below the folder ${folder}`
    ])
  })

  it("isWithin compares whole path segments", () => {
    expect(isWithin("/a/b", "/a/b")).toBe(true)
    expect(isWithin("/a/b", "/a/b/c")).toBe(true)
    expect(isWithin("/a/b", "/a/bc")).toBe(false)
    expect(isWithin("/a/b", "/a")).toBe(false)
  })

  it("a staging failure for an escaping name is not retried, whatever retries remain; other staging failures are", () => {
    const step = { retries: 3 }
    expect(shouldRetry(step, 0, 'STAGING_FAILED: UNSAFE_PATH: the name of raw data package 7 "../x" would leave the folder /r')).toBe(false)
    expect(
      shouldRetry(
        { retries: 3, retryOn: ["STAGING_FAILED"] },
        0,
        'STAGING_FAILED: UNSAFE_PATH: the sub-group key of run 3 ".." would leave the folder /r'
      )
    ).toBe(false)
    expect(shouldRetry(step, 0, "STAGING_FAILED: no present copy of p/f at any archive location")).toBe(true)
  })
})

/** The fixture with a test's own mode (to tell its runs apart), and other replacements. */
const compile = (mode: string, state: string, replace: ReadonlyArray<readonly [string, string]> = []) => {
  let text = fixture.replace(
    'config { mode = "good"  state = "STATE" }',
    `config { mode = ${JSON.stringify(mode)}  state = ${JSON.stringify(state)} }`
  )
  for (const [from, to] of replace) text = text.replace(from, to)
  const result = compileSources([{ path: "confinement.ccat", text }])
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("\n"))
  return result.ir
}

/** The first of DR21's archived CHAI packages, by name, and its first file. */
const firstPackage = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ package_id: string; package_name: string; file_id: string; file_name: string }>`
    SELECT p.id AS package_id, p.name AS package_name, f.id AS file_id, f.name AS file_name
    FROM raw_data_package p
    JOIN raw_data_file f ON f.raw_data_package_id = p.id
    JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id JOIN obs_unit o ON o.id = e.obs_unit_id JOIN source s ON s.id = o.source_id
    JOIN instrument_module m ON m.id = p.instrument_module_id JOIN instrument i ON i.id = m.instrument_id
    WHERE s.name = 'DR21' AND i.name = 'CHAI' AND p.state = 'ARCHIVED'
    ORDER BY p.name, f.name LIMIT 1`
  return row!
})

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const untilTheEnd = "; nothing was staged: correct it in the database, then `ccat retry "

for (const backend of testBackends) {
  describe(`no name read from the database leaves its folder, ${backend}`, () => {
    const { baseDir, config, layers, serveUntilIdle } = localServeSetup(tempDir, backend)
    const archiveDir = tempDir(`archive-${backend}`)
    /** The demo observatory (seeded once: a second seed changes nothing), each test's first step. */
    const seeded = seedDemo({ archiveDir })
    const inputFolder = (run: ModeRun) => join(baseDir, "confinement", "reduce", run.sub_group_key, `run-${run.id}`, "attempt-1", "input")

    layer(layers, { timeout: 180_000, excludeTestServices: true })((it) => {
      it.effect("a raw data file named ../../… fails its run for good with UNSAFE_PATH, and nothing is created where the name points", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seeded
          const target = tempDir(`file-target-${backend}`)
          const hostile = climbingTo(join(target, "escaped", "file.fits"))
          const chosen = yield* firstPackage
          yield* sql`UPDATE raw_data_file SET name = ${hostile} WHERE id = ${chosen.file_id}`
          yield* applyWorkspace(compile("file-name", tempDir(`file-state-${backend}`)), { createdBy: "test" })
          yield* serveUntilIdle
          yield* sql`UPDATE raw_data_file SET name = ${chosen.file_name} WHERE id = ${chosen.file_id}`

          const runs = yield* runsOfMode("file-name")
          expect(runs.map((r) => r.status).sort()).toEqual(["COMPLETED", "FAILED"])
          const failed = runs.find((r) => r.status === "FAILED")!
          // Not retried (the step has `retries 1`): the same name would escape again.
          expect(failed).toMatchObject({ retry_count: 0, run_dir: null })
          expect(failed.failure_reason).toBe(
            `STAGING_FAILED: UNSAFE_PATH: the name of raw data file ${chosen.file_id} (package ${JSON.stringify(chosen.package_name)}) ${JSON.stringify(hostile)} ` +
              `would leave the folder ${join(inputFolder(failed), chosen.package_name)}${untilTheEnd}${failed.id}\``
          )
          expect(existsSync(join(target, "escaped"))).toBe(false)
          // Nothing of the attempt was made either: the check comes before the first folder.
          expect(existsSync(join(inputFolder(failed), ".."))).toBe(false)
        })
      )

      it.effect(
        "a raw data package named ../../… fails its run for good with UNSAFE_PATH, and nothing is created where the name points",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* seeded
            const target = tempDir(`package-target-${backend}`)
            const hostile = climbingTo(join(target, "escaped", "package"))
            const chosen = yield* firstPackage
            yield* sql`UPDATE raw_data_package SET name = ${hostile} WHERE id = ${chosen.package_id}`
            yield* applyWorkspace(compile("package-name", tempDir(`package-state-${backend}`)), { createdBy: "test" })
            yield* serveUntilIdle
            yield* sql`UPDATE raw_data_package SET name = ${chosen.package_name} WHERE id = ${chosen.package_id}`

            const runs = yield* runsOfMode("package-name")
            expect(runs.map((r) => r.status).sort()).toEqual(["COMPLETED", "FAILED"])
            const failed = runs.find((r) => r.status === "FAILED")!
            expect(failed).toMatchObject({ retry_count: 0, run_dir: null })
            expect(failed.failure_reason).toBe(
              `STAGING_FAILED: UNSAFE_PATH: the name of raw data package ${chosen.package_id} ${JSON.stringify(hostile)} ` +
                `would leave the folder ${inputFolder(failed)}${untilTheEnd}${failed.id}\``
            )
            expect(existsSync(join(target, "escaped"))).toBe(false)
          })
      )

      it.effect("a run whose sub-group key in the database climbs out fails for good with UNSAFE_PATH; its run folder is not made", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seeded
          const target = tempDir(`key-target-${backend}`)
          const hostile = climbingTo(join(target, "escaped", "key"))
          yield* applyWorkspace(compile("key-in-database", tempDir(`key-state-${backend}`)), { createdBy: "test" })
          yield* evaluatePass({})
          const [first] = yield* runsOfMode("key-in-database")
          yield* sql`UPDATE executed_reduction_step SET sub_group_key = ${hostile} WHERE id = ${first!.id}`
          yield* serveUntilIdle

          const [run] =
            yield* sql<ModeRun>`SELECT id, status, retry_count, attempt, exit_code, failure_reason, run_dir, sub_group_key FROM executed_reduction_step WHERE id = ${first!.id}`
          expect(run).toMatchObject({ status: "FAILED", retry_count: 0, run_dir: null })
          expect(run!.failure_reason).toBe(
            `STAGING_FAILED: UNSAFE_PATH: the sub-group key of run ${run!.id} ${JSON.stringify(hostile)} would leave the folder ${join(baseDir, "confinement", "reduce")}${untilTheEnd}${run!.id}\``
          )
          expect(existsSync(join(target, "escaped"))).toBe(false)
        })
      )

      // Keys are path-safe by construction (sub-group-key.ts escapes `/` and a leading `.`): this
      // holds today too; it guards the encoding the confinement check relies on not to fire.
      it.effect("a source named ../../… gives a one-segment sub-group key: its run completes in a folder below its step's", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seeded
          const target = tempDir(`source-target-${backend}`)
          const hostile = climbingTo(join(target, "escaped", "source"))
          yield* sql`UPDATE source SET name = ${hostile} WHERE name = 'DR21'`
          yield* applyWorkspace(
            compile("source-name", tempDir(`source-state-${backend}`), [
              ['Source.name == "DR21"', `Source.name == ${JSON.stringify(hostile)}`],
              ["group_by executed_obs_unit", "group_by source"]
            ]),
            { createdBy: "test" }
          )
          yield* serveUntilIdle
          yield* sql`UPDATE source SET name = 'DR21' WHERE name = ${hostile}`

          const runs = yield* runsOfMode("source-name")
          expect(runs).toHaveLength(1)
          const run = runs[0]!
          expect(run.status).toBe("COMPLETED")
          expect(run.sub_group_key).not.toContain("/")
          expect(run.sub_group_key.startsWith(".")).toBe(false)
          expect(relative(join(baseDir, "confinement", "reduce"), run.run_dir!).split(sep)).toEqual([
            run.sub_group_key,
            `run-${run.id}`,
            "attempt-1"
          ])
          expect(existsSync(join(target, "escaped"))).toBe(false)
        })
      )

      it.effect(
        "purge deletes nothing outside its location's folder: a copy whose path climbs out or is absolute is reported and kept (disk pressure faked)",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* seeded
            const [done] = (yield* runsOfMode("package-name")).filter((r) => r.status === "COMPLETED")
            const victims = tempDir(`purge-victims-${backend}`)
            const victim = (name: string) => {
              const path = join(victims, name)
              writeFileSync(path, "not the pipeline's\n")
              return path
            }
            const ordinary = join(done!.run_dir!, "workspace", "reduce", "purgeable.fits")
            mkdirSync(join(done!.run_dir!, "workspace", "reduce"), { recursive: true })
            writeFileSync(ordinary, "an intermediate\n")
            const copies = [
              { name: "ordinary", path: relative(baseDir, ordinary), status: "PRESENT" },
              { name: "climbing", path: climbingTo(victim("climbing")), status: "PRESENT" },
              { name: "absolute", path: victim("absolute"), status: "PRESENT" },
              // A purge that died after marking it: the next cycle finishes it, and must not follow it either.
              { name: "marked", path: climbingTo(victim("marked")), status: "DELETION_IN_PROGRESS" }
            ]
            const [location] = yield* sql<{ id: string }>`SELECT id FROM data_location WHERE name = 'processing:here'`
            for (const c of copies) {
              const [product] = yield* sql<{ id: string }>`
              INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum)
              VALUES (${done!.id}, 'INTERMEDIATE', ${`workspace/reduce/${c.name}.fits`}, 16, ${"0".repeat(64)}) RETURNING id`
              yield* sql`
              INSERT INTO physical_copy (data_location_id, data_product_id, path, status)
              VALUES (${location!.id}, ${product!.id}, ${c.path}, ${c.status})`
            }

            const { result, lines } = yield* capturingLogs(purgeCycle(config, { percentUsed: () => 99 }))
            expect(result).toMatchObject({ purged: 1, refused: 3 })
            const refusals = lines.filter((l) => l.includes("not deleting"))
            expect(refusals).toHaveLength(3)
            expect(refusals).toContainEqual(
              expect.stringMatching(
                new RegExp(
                  `^purge: processing:here: not deleting: UNSAFE_PATH: the path of physical copy \\d+ ${escapeRegExp(JSON.stringify(copies[1]!.path))} would leave the folder ${escapeRegExp(baseDir)}; correct`
                )
              )
            )
            expect(existsSync(ordinary)).toBe(false)
            for (const name of ["climbing", "absolute", "marked"]) expect(existsSync(join(victims, name)), name).toBe(true)
            const statuses = yield* sql<{ relative_path: string; status: string }>`
            SELECT p.relative_path, c.status FROM physical_copy c JOIN data_product p ON p.id = c.data_product_id
            WHERE p.run_id = ${done!.id} AND p.product_type = 'INTERMEDIATE' ORDER BY p.relative_path`
            expect(statuses.map((s) => [s.relative_path, s.status])).toEqual([
              ["workspace/reduce/absolute.fits", "PRESENT"],
              ["workspace/reduce/climbing.fits", "PRESENT"],
              ["workspace/reduce/marked.fits", "DELETION_IN_PROGRESS"],
              ["workspace/reduce/ordinary.fits", "DELETED"]
            ])
          })
      )

      it.effect(
        "staged inputs are removed only below the location's folder: a run folder read back from the database elsewhere is left alone",
        () =>
          Effect.gen(function* () {
            const makeRunFolder = (root: string) => {
              for (const dir of ["input/p", "workspace/upstream", "workspace/reduce"]) mkdirSync(join(root, dir), { recursive: true })
              for (const file of ["input/p/f.fits", "workspace/upstream/u.fits", "workspace/reduce/own.fits"])
                writeFileSync(join(root, file), "x\n")
              return root
            }
            const elsewhere = makeRunFolder(tempDir(`elsewhere-${backend}`))
            const inside = makeRunFolder(join(baseDir, "confinement", "reduce", "k", "run-999999", "attempt-1"))
            yield* removeStagedInputs({ runId: 999999, step: "reduce" }, elsewhere, baseDir).pipe(
              Logger.withMinimumLogLevel(LogLevel.Error)
            )
            yield* removeStagedInputs({ runId: 999999, step: "reduce" }, inside, baseDir)
            expect(
              ["input/p/f.fits", "workspace/upstream/u.fits", "workspace/reduce/own.fits"].map((f) => existsSync(join(elsewhere, f)))
            ).toEqual([true, true, true])
            // Below it, as before: the inputs go, the step's own output stays.
            expect(
              ["input/p/f.fits", "workspace/upstream/u.fits", "workspace/reduce/own.fits"].map((f) => existsSync(join(inside, f)))
            ).toEqual([false, false, true])
          })
      )

      // (Last: its downstream step makes the products of `reduce` no longer purgeable.)
      it.effect(
        "an upstream product whose recorded path climbs out fails the downstream run for good with UNSAFE_PATH; nothing is staged outside",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* seeded
            const target = tempDir(`product-target-${backend}`)
            // A downstream step whose program fails, so that it can be retried after the upstream
            // product's path was changed under it.
            const downstream = `retries 1
  }

  step combine {
    after reduce
    run test_program
    group_by source
    config { mode = "fail"  state = ${JSON.stringify(tempDir(`combine-state-${backend}`))} }
  }
}`
            yield* applyWorkspace(compile("product-path", tempDir(`product-state-${backend}`), [["retries 1\n  }\n}", downstream]]), {
              createdBy: "test"
            })
            yield* serveUntilIdle
            const [combine] = yield* runsOfMode("fail")
            expect(combine).toMatchObject({ status: "FAILED", failure_reason: "EXIT_CODE 3" })
            const [upstream] = yield* sql<{ id: string; run_id: string; relative_path: string; run_dir: string }>`
            SELECT p.id, p.run_id, p.relative_path, r.run_dir FROM run_input i
            JOIN data_product p ON p.id = i.data_product_id JOIN executed_reduction_step r ON r.id = p.run_id
            WHERE i.run_id = ${combine!.id} ORDER BY p.id LIMIT 1`
            const hostile = `workspace/reduce/${climbingTo(join(target, "escaped", "product.fits"))}`
            yield* sql`UPDATE data_product SET relative_path = ${hostile} WHERE id = ${upstream!.id}`
            yield* retryRun({ runId: Number(combine!.id), actor: "test", now: new Date() })
            yield* serveUntilIdle

            const [again] = yield* runsOfMode("fail")
            expect(again!.status).toBe("FAILED")
            expect(again!.failure_reason).toBe(
              `STAGING_FAILED: UNSAFE_PATH: the path of upstream product ${upstream!.id} (run ${upstream!.run_id}) ${JSON.stringify(hostile)} ` +
                `would leave the folder ${upstream!.run_dir}${untilTheEnd}${again!.id}\``
            )
            expect(existsSync(join(target, "escaped"))).toBe(false)
          })
      )
    })
  })
}
