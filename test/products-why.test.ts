import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"
import { whyCommand } from "../src/cli/why-command.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import type { WhyReport } from "../src/runtime/explain/why.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { reasonDescriptions } from "../src/runtime/gaps/reasons.ts"
import { productFile } from "../src/runtime/ops/product-file.ts"
import { findProduct, listProducts, type ProductFilter, type ProductPage } from "../src/runtime/ops/products.ts"
import { runCaptured } from "./support/cli-capture.ts"
import { seededTestDatabase, testBackends } from "./support/databases.ts"
import { fixtureWithPipeline } from "./support/gaps-fixture.ts"
import { completeRun, failRun, inFlightRunsOf } from "./support/runs.ts"
import { scratchDirs } from "./support/scratch.ts"

/*
 * What the API's product endpoints and `ccat why --json` answer (issue 21), on both database
 * backends: products newest first in pages, one product with its copies, a product's file served
 * only from inside its location's folder, and `why` as JSON with the same words and codes as its
 * text. The state is made by the real trigger and the test stand-ins for the loops; the files
 * and physical copies are laid out as the collect loop records them. Tests share one database
 * and run in order.
 */

const tempDir = scratchDirs("ccat-products-why")

const pipelineText = `
pipeline prod {
  data few_sources
  location cluster
  trigger continuous
  step calibrate {
    run chai_calibration ^2.4
    group_by executed_obs_unit
    config { calibration_mode = "hot_cold"  tsys_max_k = 4000 }
  }
  step map {
    after calibrate
    run chai_gridding ~0.10
    group_by source, line
    config { pixel_arcsec = 10.0 }
  }
}
`

const calibrationProducts = [
  { type: "INTERMEDIATE", path: "workspace/calibrate/calibrated.fits" },
  { type: "PLOT", path: "workspace/calibrate/tsys.png" }
] as const

const whyCli = Command.run(whyCommand, { name: "ccat why", version: "test" })
const why = (...args: Array<string>) => runCaptured(whyCli, args)

const page = (filter: Partial<ProductFilter>) =>
  listProducts({ runId: null, type: null, pipeline: null, step: null, before: null, limit: 50, ...filter })

interface Layout {
  /** The processing location's folder, as its real path. */
  readonly base: string
  readonly runDirs: Map<number, string>
  /** Product ids by run, in the order of calibrationProducts. */
  readonly products: Map<number, ReadonlyArray<number>>
  readonly failedKey: string
}

for (const backend of testBackends) {
  describe(`products and why on ${backend}`, () => {
    layer(Layer.merge(seededTestDatabase(backend, tempDir(`archive-${backend}`)), NodeContext.layer), {
      timeout: 120_000,
      excludeTestServices: true
    })((it) => {
      let layout: Layout | undefined
      const outside = realpathSync(tempDir(`outside-${backend}`))

      /** A product of a run put straight into the table, with one PRESENT copy at `copyPath` (default: as the collect loop writes it). */
      const addProduct = (runId: number, relativePath: string, copyPath?: string) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { base, runDirs } = layout!
          const [row] = yield* sql<{ id: string }>`
            INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum)
            VALUES (${runId}, 'LOG', ${relativePath}, 1, 'c') RETURNING id`
          const path =
            copyPath ??
            relative(base, join(runDirs.get(runId)!, relativePath))
              .split(sep)
              .join("/")
          yield* sql`
            INSERT INTO physical_copy (data_location_id, data_product_id, path, status)
            SELECT id, ${row!.id}, ${path}, 'PRESENT' FROM data_location WHERE name = 'processing:cluster'`
          return Number(row!.id)
        })

      it.effect("products are listed newest first, in pages by id, filtered by run, type, pipeline and step", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          expect(
            (yield* applyWorkspace(fixtureWithPipeline("test/products/pipeline.ccat", pipelineText), { createdBy: "test" }))._tag
          ).toBe("Applied")
          yield* evaluatePass({})
          const calibrations = yield* inFlightRunsOf("prod", "calibrate")
          expect(calibrations).toHaveLength(8)
          // Six complete with two products each, one fails for good, one stays in flight.
          const base = realpathSync(tempDir(`base-${backend}`))
          yield* sql`
            INSERT INTO data_location (id, name, location_type, storage_type, site, root_path)
            VALUES (gen_random_uuid(), 'processing:cluster', 'PROCESSING', 'DISK', 'ccat', ${base})`
          const runDirs = new Map<number, string>()
          const products = new Map<number, ReadonlyArray<number>>()
          for (const run of calibrations.slice(0, 6)) {
            const runDir = join(base, "prod", "calibrate", run.sub_group_key, `run-${run.id}`, "attempt-1")
            runDirs.set(run.id, runDir)
            yield* sql`UPDATE executed_reduction_step SET run_dir = ${runDir} WHERE id = ${run.id}`
            yield* completeRun(run.id, calibrationProducts)
            const rows = yield* sql<{
              id: string
              relative_path: string
            }>`SELECT id, relative_path FROM data_product WHERE run_id = ${run.id}`
            products.set(
              run.id,
              calibrationProducts.map((p) => Number(rows.find((r) => r.relative_path === p.path)!.id))
            )
            for (const p of calibrationProducts) {
              const file = join(runDir, p.path)
              mkdirSync(dirname(file), { recursive: true })
              writeFileSync(file, `${p.type} of run ${run.id}\n`)
            }
            // As the collect loop records them: relative to the location's folder.
            const copies = rows.map((r) => ({
              product: Number(r.id),
              path: relative(base, join(runDir, r.relative_path)).split(sep).join("/")
            }))
            yield* sql`
              INSERT INTO physical_copy (data_location_id, data_product_id, path, status)
              SELECT l.id, v.product, v.path, 'PRESENT'
              FROM data_location l, jsonb_to_recordset(${JSON.stringify(copies)}::jsonb) AS v(product bigint, path text)
              WHERE l.name = 'processing:cluster'`
          }
          yield* failRun(calibrations[6]!.id, { final: true })
          layout = { base, runDirs, products, failedKey: calibrations[6]!.sub_group_key }

          const all = [...products.values()].flat().sort((a, b) => b - a)
          const seen: Array<number> = []
          let before: number | null = null
          let pages = 0
          do {
            const next: ProductPage = yield* page({ limit: 5, before })
            seen.push(...next.products.map((p) => p.id))
            before = next.nextCursor
            pages++
          } while (before !== null)
          expect(seen).toEqual(all)
          expect(pages).toBe(3)

          const plots = yield* page({ type: "PLOT" })
          expect(plots.products.map((p) => p.type)).toEqual(Array(6).fill("PLOT"))
          expect(plots.nextCursor).toBeNull()
          const first = calibrations[0]!
          const ofRun = yield* page({ runId: first.id })
          expect(ofRun.products.map((p) => [p.relativePath, p.pipeline, p.step, p.subGroupKey])).toEqual([
            ["workspace/calibrate/tsys.png", "prod", "calibrate", first.sub_group_key],
            ["workspace/calibrate/calibrated.fits", "prod", "calibrate", first.sub_group_key]
          ])
          expect(ofRun.products[0]!.createdAt).toBeInstanceOf(Date)
          expect((yield* page({ pipeline: "prod", step: "calibrate" })).products).toHaveLength(12)
          expect((yield* page({ step: "map" })).products).toEqual([])
          expect(yield* page({ pipeline: "no_such_pipeline" })).toEqual({ products: [], nextCursor: null })
        })
      )

      it.effect("one product: its quality, every physical copy and its run's software version; an unknown id is refused", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const [runId, [fits]] = [...layout!.products.entries()][0]!
          yield* sql`UPDATE data_product SET quality = '{"rms_k": 0.12}'::jsonb WHERE id = ${fits!}`
          const [archive] = yield* sql<{ name: string }>`SELECT name FROM data_location WHERE location_type = 'LONG_TERM_ARCHIVE' LIMIT 1`
          yield* sql`
            INSERT INTO physical_copy (data_location_id, data_product_id, path, status)
            SELECT id, ${fits!}, 'products/calibrated.fits', 'DELETED' FROM data_location WHERE name = ${archive!.name}`
          const [run] = yield* sql<{ software_version: string }>`SELECT software_version FROM executed_reduction_step WHERE id = ${runId}`

          const product = yield* findProduct(fits!)
          expect(product).toMatchObject({
            id: fits,
            runId,
            type: "INTERMEDIATE",
            relativePath: "workspace/calibrate/calibrated.fits",
            quality: { rms_k: 0.12 },
            softwareVersion: run!.software_version
          })
          expect(product.copies).toEqual([
            {
              location: "processing:cluster",
              path: relative(layout!.base, join(layout!.runDirs.get(runId)!, "workspace/calibrate/calibrated.fits")),
              status: "PRESENT"
            },
            { location: archive!.name, path: "products/calibrated.fits", status: "DELETED" }
          ])
          const unknown = yield* Effect.flip(findProduct(999_999))
          expect(unknown._tag).toBe("UnknownProduct")
          expect(unknown.message).toBe("no data product 999999")
        })
      )

      it.effect("a product's file is served from inside its location's folder, by its real path, with its media type", () =>
        Effect.gen(function* () {
          const [runId, [fits, png]] = [...layout!.products.entries()][1]!
          const runDir = layout!.runDirs.get(runId)!
          expect(yield* productFile(png!)).toEqual({
            path: join(runDir, "workspace/calibrate/tsys.png"),
            sizeBytes: `PLOT of run ${runId}\n`.length,
            contentType: "image/png",
            fileName: "tsys.png"
          })
          expect((yield* productFile(fits!)).contentType).toBe("application/fits")
          // A symbolic link that stays inside the folder is followed.
          symlinkSync(join(runDir, "workspace/calibrate/tsys.png"), join(runDir, "workspace/calibrate/same.png"))
          const linked = yield* addProduct(runId, "workspace/calibrate/same.png")
          expect((yield* productFile(linked)).path).toBe(join(runDir, "workspace/calibrate/tsys.png"))
        })
      )

      it.effect("a stored path with `..` or an absolute one, and a link out of the folder, are refused unopened", () =>
        Effect.gen(function* () {
          const [runId] = [...layout!.products.keys()]
          const runDir = layout!.runDirs.get(runId!)!
          writeFileSync(join(outside, "secret.txt"), "not a product\n")
          const climbing = yield* addProduct(runId!, `${"../".repeat(8)}${relative("/", outside)}/secret.txt`)
          const badCopy = yield* addProduct(runId!, "output/logs/fine.log", `../${relative(dirname(layout!.base), outside)}/secret.txt`)
          const absolute = yield* addProduct(runId!, "output/logs/abs.log", join(outside, "secret.txt"))
          mkdirSync(join(runDir, "output/logs"), { recursive: true })
          symlinkSync(join(outside, "secret.txt"), join(runDir, "output/logs/link.log"))
          const linked = yield* addProduct(runId!, "output/logs/link.log")
          for (const id of [climbing, badCopy, absolute, linked]) {
            const refused = yield* Effect.flip(productFile(id))
            expect(refused._tag, `product ${id}`).toBe("UnsafeProductPath")
            expect(refused.message).toMatch(/^UNSAFE_PATH: the file of data product \d+ .* would leave the folder /)
          }
        })
      )

      it.effect("a file that is not there, or a product whose copies were purged, is unavailable with a reason", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const [runId, [, png]] = [...layout!.products.entries()][2]!
          const file = join(layout!.runDirs.get(runId)!, "workspace/calibrate/tsys.png")
          rmSync(file)
          const missing = yield* Effect.flip(productFile(png!))
          expect(missing._tag).toBe("ProductFileUnavailable")
          expect(missing.message).toContain(`data product ${png} has no file on this machine: not found at ${file}`)

          const [, [fits]] = [...layout!.products.entries()][3]!
          yield* sql`UPDATE physical_copy SET status = 'DELETED' WHERE data_product_id = ${fits!}`
          const purged = yield* Effect.flip(productFile(fits!))
          expect(purged._tag).toBe("ProductFileUnavailable")
          expect(purged.message).toContain(`data product ${fits} has no file any more: its copies are DELETED`)
          expect((yield* Effect.flip(productFile(999_999)))._tag).toBe("UnknownProduct")
        })
      )

      it.effect("`ccat why --json` for a step: the lines are the text, the counts the codes the text lists", () =>
        Effect.gen(function* () {
          const text = yield* why("prod.calibrate")
          const json = yield* why("prod.calibrate", "--json")
          expect(json.code).toBe(0)
          const report = JSON.parse(json.stdout) as WhyReport
          expect(report.lines.join("\n")).toBe(text.stdout)
          const listed = text.stdout.split("\n").flatMap((l) => [...(/^ {2}([A-Z_]+) +(\d+) {2}/.exec(l) ?? [])].slice(1))
          const codes = Object.fromEntries(Array.from({ length: listed.length / 2 }, (_, n) => [listed[2 * n], Number(listed[2 * n + 1])]))
          expect(report.counts).toEqual(codes)
          expect(report.counts).toEqual({ UP_TO_DATE: 6, IN_FLIGHT: 1, FAILED_FINAL: 1 })
          expect(report).toMatchObject({ pipeline: "prod", step: "calibrate", subGroupKey: null })
          expect(report.decisions).toHaveLength(8)
          for (const d of report.decisions) expect(d.description).toBe(reasonDescriptions[d.reason])
        })
      )

      it.effect("`ccat why --json` for one sub-group: its one decision; none for a sub-group the step does not have", () =>
        Effect.gen(function* () {
          const key = layout!.failedKey
          const text = yield* why("prod.calibrate", key)
          const report = JSON.parse((yield* why("prod.calibrate", key, "--json")).stdout) as WhyReport
          expect(report.lines.join("\n")).toBe(text.stdout)
          expect(report.decisions).toEqual([
            { subGroupKey: key, reason: "FAILED_FINAL", creates: false, description: reasonDescriptions.FAILED_FINAL }
          ])
          expect(report.counts).toEqual({ FAILED_FINAL: 1 })
          expect(text.stdout.split("\n")[0]).toBe(`prod.calibrate ${key}: no run now (FAILED_FINAL: ${reasonDescriptions.FAILED_FINAL}).`)

          const none = JSON.parse((yield* why("prod.calibrate", "no-such-scan", "--json")).stdout) as WhyReport
          expect(none).toMatchObject({ subGroupKey: "no-such-scan", decisions: [], counts: {} })
          expect(none.lines[0]).toBe("prod.calibrate has no sub-group `no-such-scan` now.")
        })
      )
    })
  })
}
