import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { renderChaiFiles } from "../src/db/seed/chai-data.ts"
import { demoNights } from "../src/db/seed/nights.ts"
import { packageFolder } from "../src/db/seed/rows.ts"
import { planNight, type PlannedPackage } from "../src/db/seed/schedule.ts"

// The demo reduction programs of pipelines/software/ (chai-calibrate, chai-baseline, chai-grid)
// run as the runtime runs them: child processes, a hand-built manifest.json, WORKFLOW_OUTPUT_DIR.
// The raw data are the demo archive's own files: rendered by the seed's pure functions into a
// temporary archive (byte for byte what `ccat db seed --demo` writes there, without a database).

const bin = (name: string): string => resolve("pipelines/software/bin", name)

const root = mkdtempSync(join(tmpdir(), "ccat-demo-software-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const archive = join(root, "archive")

interface Seeded {
  readonly pkg: PlannedPackage
  readonly folder: string
}

/** Two successful Orion-KL CO(4-3) scans of the 2026-05-03 commissioning night (LFA only). */
const seeded: Array<Seeded> = []

beforeAll(() => {
  const night = demoNights.find((n) => n.date === "2026-05-03")!
  const scans = planNight(night).filter((s) => s.obsUnit.name === "CHAI_Orion-KL_CO43" && s.status === "SUCCESS")
  for (const scan of scans.slice(0, 2)) {
    for (const pkg of scan.packages) {
      if (pkg.state !== "ARCHIVED" || pkg.model.kind !== "chai") continue
      const folder = join(archive, packageFolder(scan, pkg))
      mkdirSync(folder, { recursive: true })
      for (const f of renderChaiFiles(pkg.context, pkg.model)) writeFileSync(join(folder, f.name), f.bytes)
      seeded.push({ pkg, folder })
    }
  }
})

// ---------------------------------------------------------------------------------------------
// Running a program

interface Product {
  readonly path: string
}

const manifest = (
  dir: string,
  step: string,
  config: Record<string, unknown>,
  packages: ReadonlyArray<Seeded>,
  products: ReadonlyArray<Product>
): string => {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${step}.manifest.json`)
  const m = {
    manifestVersion: 1,
    run: { id: 1, pipeline: "chai_dev", step, subGroupKey: "test", reason: "new", attempt: 1, final: false },
    software: { name: `demo_${step}`, version: "1.0.0", image: "none", argv: [] },
    config,
    inputs: {
      packages: packages.map(({ pkg, folder }) => ({
        id: pkg.id,
        name: pkg.name,
        checksum: null,
        path: folder,
        files: ["loads.json", "sky.json"].map((name) => ({ name, path: join(folder, name), sizeBytes: 0, checksum: "" }))
      })),
      products: products.map((p, i) => ({
        id: i + 1,
        step: "upstream",
        runId: 1,
        subGroupKey: "test",
        type: "SCIENCE",
        path: p.path,
        sizeBytes: 0,
        checksum: ""
      }))
    },
    paths: { input: archive, workspace: dir, output: join(dir, "output"), logs: join(dir, "logs"), manifest: path }
  }
  writeFileSync(path, JSON.stringify(m))
  return path
}

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

const run = (program: string, args: ReadonlyArray<string>, env: Record<string, string | undefined>): Ran => {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CCAT_DEMO_") && !k.startsWith("WORKFLOW_")))
  const started = Date.now()
  const r = spawnSync(bin(program), [...args], { env: { ...clean, ...env }, encoding: "utf8", timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started }
}

const walk = (dir: string): Array<string> =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    : []

const files = (dir: string, folder: string): Array<string> =>
  walk(join(dir, folder))
    .map((f) => relative(join(dir, folder), f))
    .sort()

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T

/** The whole chain into `base`: calibrate both scans, baseline them, grid them. */
const chain = (base: string) => {
  const calOut = join(base, "calibrate")
  const cal = run("chai-calibrate", ["--mode", "hot_cold", "--tsys-max", "4000"], {
    WORKFLOW_MANIFEST: manifest(base, "calibrate", { calibration_mode: "hot_cold", tsys_max_k: 4000 }, seeded, []),
    WORKFLOW_OUTPUT_DIR: calOut
  })
  const calProducts = walk(calOut)
    .sort()
    .map((path) => ({ path }))
  const baseOut = join(base, "baseline")
  const bl = run("chai-baseline", ["--order", "3", "--despike", "5.0"], {
    WORKFLOW_MANIFEST: manifest(base, "baseline", { order: 3, despike_sigma: 5.0 }, [], calProducts),
    WORKFLOW_OUTPUT_DIR: baseOut
  })
  const gridOut = join(base, "grid")
  const grid = run("chai-grid", ["--pixel", "10", "--kernel", "gauss", "--channel", "1.0"], {
    WORKFLOW_MANIFEST: manifest(
      base,
      "map",
      { pixel_arcsec: 10, kernel: "gauss", channel_kms: 1.0 },
      [],
      walk(baseOut)
        .sort()
        .map((path) => ({ path }))
    ),
    WORKFLOW_OUTPUT_DIR: gridOut
  })
  return { cal, bl, grid, calOut, baseOut, gridOut }
}

// ---------------------------------------------------------------------------------------------
// PNG checks: signature, IHDR first, every chunk's CRC, IEND last

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const checkPng = (path: string): { width: number; height: number } => {
  const b = readFileSync(path)
  expect([...b.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const types: Array<string> = []
  let offset = 8
  while (offset < b.length) {
    const length = b.readUInt32BE(offset)
    const type = b.toString("ascii", offset + 4, offset + 8)
    const crc = b.readUInt32BE(offset + 8 + length)
    expect(crc32(b.subarray(offset + 4, offset + 8 + length)), `${path}: CRC of ${type}`).toBe(crc)
    types.push(type)
    offset += 12 + length
  }
  expect(offset).toBe(b.length)
  expect(types[0]).toBe("IHDR")
  expect(types).toContain("IDAT")
  expect(types[types.length - 1]).toBe("IEND")
  const width = b.readUInt32BE(16)
  const height = b.readUInt32BE(20)
  expect(b[24]).toBe(8) // bit depth
  expect([0, 2]).toContain(b[25]) // grayscale or RGB
  return { width, height }
}

// ---------------------------------------------------------------------------------------------
// The cube: "CCATCUBE", uint32 LE header length, JSON header, float32 LE data

interface CubeHeader {
  readonly format: string
  readonly source: string
  readonly line_id: string
  readonly data: { readonly offset_bytes: number }
  readonly axes: {
    readonly x: { readonly n: number; readonly first_arcsec: number; readonly step_arcsec: number }
    readonly y: { readonly n: number; readonly first_arcsec: number; readonly step_arcsec: number }
    readonly velocity: { readonly n: number; readonly first_kms: number; readonly step_kms: number }
  }
}

const readCube = (path: string) => {
  const b = readFileSync(path)
  expect(b.toString("ascii", 0, 8)).toBe("CCATCUBE")
  const headerLength = b.readUInt32LE(8)
  const header = JSON.parse(b.toString("utf8", 12, 12 + headerLength)) as CubeHeader
  expect(header.format).toBe("ccat-chai-cube/1")
  expect(header.data.offset_bytes).toBe(12 + headerLength)
  const { x, y, velocity } = header.axes
  expect(b.length).toBe(header.data.offset_bytes + x.n * y.n * velocity.n * 4)
  const at = (ix: number, iy: number, c: number): number => b.readFloatLE(header.data.offset_bytes + ((c * y.n + iy) * x.n + ix) * 4)
  return { header, at }
}

// ---------------------------------------------------------------------------------------------

interface CalProduct {
  readonly format: string
  readonly package: string
  readonly source: string
  readonly line_id: string
  readonly module: string
  readonly scan: string
  readonly axis: { readonly channels: number; readonly velocity_kms: ReadonlyArray<number> }
  readonly pixels: ReadonlyArray<{
    readonly pixel: number
    readonly tsys_k: number | null
    readonly flagged: boolean
    readonly flags: ReadonlyArray<string>
    readonly spectrum: ReadonlyArray<number | null> | null
  }>
}

interface BaseQa {
  readonly pixels: ReadonlyArray<{
    readonly pixel: number
    readonly flagged: boolean
    readonly rms_before_k: number
    readonly rms_after_k: number
  }>
}

interface CubeStats {
  readonly spectra: number
  readonly scans: number
  readonly peak_k: { readonly value: number; readonly x_arcsec: number; readonly y_arcsec: number; readonly velocity_kms: number }
  readonly rms_k: number
  readonly moment0: { readonly centroid_arcsec: readonly [number, number] }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const h = s.length >> 1
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2
}

describe("demo reduction programs", () => {
  let first: ReturnType<typeof chain>

  beforeAll(() => {
    expect(seeded.length).toBe(2)
    first = chain(join(root, "first"))
  })

  it("chai-calibrate: chopper-wheel calibration, T_sys, dead pixels flagged", () => {
    const { cal, calOut } = first
    expect(cal.stderr).toBe("")
    expect(cal.status).toBe(0)
    expect(cal.stdout).toContain("chai-calibrate: done")
    const names = seeded.map((s) => s.pkg.name).sort()
    expect(files(calOut, "science")).toEqual(names.map((n) => `${n}.cal.json`))
    expect(files(calOut, "qa")).toEqual(names.map((n) => `${n}.cal.qa.json`))
    expect(files(calOut, "statistics")).toEqual(names.map((n) => `${n}.cal.stats.json`))
    expect(files(calOut, "plots")).toHaveLength(2)
    expect(files(calOut, "logs")).toEqual(["chai-calibrate.log"])
    expect(readFileSync(join(calOut, "logs", "chai-calibrate.log"), "utf8")).toBe(cal.stdout)
    for (const { pkg } of seeded) {
      const p = readJson<CalProduct>(join(calOut, "science", `${pkg.name}.cal.json`))
      expect(p).toMatchObject({ format: "ccat-chai-cal/1", package: pkg.name, source: "Orion-KL", line_id: "CO43", module: "LFA" })
      expect(p.scan).toMatch(/^2026-05-03\/\d{3}$/)
      expect(p.axis.velocity_kms).toHaveLength(p.axis.channels)
      // The LFA's dead pixels (hardware: 13 and 42) are flagged and carry no spectrum.
      const dead = p.pixels.filter((x) => x.flags.includes("dead")).map((x) => x.pixel)
      expect(dead).toEqual(expect.arrayContaining([13, 42]))
      for (const x of p.pixels.filter((x) => x.flags.includes("dead"))) expect(x.spectrum).toBeNull()
      // System temperatures: plausible, and the seed's own median (its metadata) within 5 %.
      const live = p.pixels.filter((x) => !x.flagged).map((x) => x.tsys_k!)
      expect(live.length).toBeGreaterThanOrEqual(60)
      const tsys = median(live)
      expect(tsys).toBeGreaterThan(100)
      expect(tsys).toBeLessThan(5000)
      expect(pkg.model.kind === "chai" ? Math.abs(tsys - pkg.model.tsysK) / pkg.model.tsysK : 1).toBeLessThan(0.05)
      // Antenna temperatures: Orion-KL's CO(4-3) peaks at about 110 K near the source; the line is near 9 km/s.
      let peak = { t: -Infinity, v: 0 }
      for (const x of p.pixels) {
        if (x.flagged || x.spectrum === null) continue
        x.spectrum.forEach((t, c) => {
          if (t !== null && t > peak.t) peak = { t, v: p.axis.velocity_kms[c]! }
        })
      }
      expect(peak.t).toBeGreaterThan(60)
      expect(peak.t).toBeLessThan(160)
      expect(Math.abs(peak.v - 9)).toBeLessThan(4)
    }
    for (const png of files(calOut, "plots")) checkPng(join(calOut, "plots", png))
  })

  it("chai-baseline: subtracting the polynomial lowers the line-free rms", () => {
    const { bl, baseOut } = first
    expect(bl.stderr).toBe("")
    expect(bl.status).toBe(0)
    const names = seeded.map((s) => s.pkg.name).sort()
    expect(files(baseOut, "science")).toEqual(names.map((n) => `${n}.base.json`))
    expect(files(baseOut, "qa")).toEqual(names.map((n) => `${n}.base.qa.json`))
    expect(files(baseOut, "statistics")).toEqual(names.map((n) => `${n}.base.stats.json`))
    expect(files(baseOut, "plots")).toHaveLength(2)
    expect(files(baseOut, "logs")).toEqual(["chai-baseline.log"])
    for (const name of names) {
      const qa = readJson<BaseQa>(join(baseOut, "qa", `${name}.base.qa.json`))
      const usable = qa.pixels.filter((p) => !p.flagged)
      expect(usable.length).toBeGreaterThanOrEqual(60)
      // A least-squares fit with a constant term can only lower the rms about the mean.
      for (const p of usable) expect(p.rms_after_k).toBeLessThanOrEqual(p.rms_before_k + 1e-4)
      expect(median(usable.map((p) => p.rms_after_k / p.rms_before_k))).toBeLessThan(0.95)
    }
    for (const png of files(baseOut, "plots")) checkPng(join(baseOut, "plots", png))
  })

  it("chai-grid: the cube peaks at the source's position and velocity", () => {
    const { grid, gridOut } = first
    expect(grid.stderr).toBe("")
    expect(grid.status).toBe(0)
    expect(files(gridOut, "science")).toEqual(["Orion-KL__CO43.cube", "Orion-KL__CO43.mom0.json"])
    expect(files(gridOut, "qa")).toEqual(["Orion-KL__CO43.cube.qa.json"])
    expect(files(gridOut, "statistics")).toEqual(["Orion-KL__CO43.cube.stats.json"])
    expect(files(gridOut, "plots")).toEqual(["Orion-KL__CO43.mom0.png"])
    expect(files(gridOut, "logs")).toEqual(["chai-grid.log"])
    const stats = readJson<CubeStats>(join(gridOut, "statistics", "Orion-KL__CO43.cube.stats.json"))
    expect(stats.scans).toBe(2)
    expect(stats.spectra).toBeGreaterThanOrEqual(120)
    // Orion-KL (v_LSR 9 km/s, FWHM 8 km/s) at offset (0, 0): within a pixel spacing of the array (28") and a quarter FWHM.
    expect(Math.hypot(stats.peak_k.x_arcsec, stats.peak_k.y_arcsec)).toBeLessThanOrEqual(28)
    expect(Math.abs(stats.peak_k.velocity_kms - 9)).toBeLessThanOrEqual(2)
    expect(stats.peak_k.value).toBeGreaterThan(60)
    expect(stats.peak_k.value / stats.rms_k).toBeGreaterThan(50)
    expect(Math.hypot(...stats.moment0.centroid_arcsec)).toBeLessThan(15)
    // The binary cube agrees with the statistics.
    const { header, at } = readCube(join(gridOut, "science", "Orion-KL__CO43.cube"))
    expect(header).toMatchObject({ source: "Orion-KL", line_id: "CO43" })
    expect(header.axes.x.step_arcsec).toBe(10)
    expect(header.axes.velocity.step_kms).toBe(1)
    const { x, y, velocity } = header.axes
    const ix = Math.round((stats.peak_k.x_arcsec - x.first_arcsec) / x.step_arcsec)
    const iy = Math.round((stats.peak_k.y_arcsec - y.first_arcsec) / y.step_arcsec)
    const c = Math.round((stats.peak_k.velocity_kms - velocity.first_kms) / velocity.step_kms)
    expect(at(ix, iy, c)).toBeCloseTo(stats.peak_k.value, 3)
    const { width, height } = checkPng(join(gridOut, "plots", "Orion-KL__CO43.mom0.png"))
    expect(width).toBeGreaterThan(x.n)
    expect(height).toBeGreaterThan(y.n)
  })

  it("same inputs give byte-identical outputs", () => {
    const second = chain(join(root, "second"))
    expect([second.cal.status, second.bl.status, second.grid.status]).toEqual([0, 0, 0])
    for (const step of ["calibrate", "baseline", "grid"]) {
      const a = walk(join(root, "first", step))
        .map((f) => relative(join(root, "first", step), f))
        .sort()
      const b = walk(join(root, "second", step))
        .map((f) => relative(join(root, "second", step), f))
        .sort()
      expect(b).toEqual(a)
      for (const f of a)
        expect(readFileSync(join(root, "second", step, f)).equals(readFileSync(join(root, "first", step, f))), `${step}/${f}`).toBe(true)
    }
  })

  it("arguments are inert data: a hostile value is a usage error and nothing runs or is written", () => {
    const out = join(root, "hostile", "output")
    const pwned = join(root, "pwned")
    const m = manifest(join(root, "hostile"), "calibrate", {}, seeded, [])
    const hostile: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
      ["chai-calibrate", ["--mode", `$(touch ${pwned})`, "--tsys-max", "4000"]],
      ["chai-calibrate", ["--mode", "hot_cold", "--tsys-max", `4000; touch ${pwned}`]],
      ["chai-calibrate", ["--mode", "hot_cold", "--tsys-max", "`touch " + pwned + "`"]],
      ["chai-baseline", ["--order", "3\ntouch " + pwned, "--despike", "5"]],
      ["chai-baseline", ["--order", "3", "--despike", "5' && touch '" + pwned]],
      ["chai-grid", ["--pixel", "10", "--kernel", `gauss"; touch "${pwned}`, "--channel", "1"]],
      ["chai-grid", ["--pixel", "10", "--kernel", "gauss", "--channel", "1", "--extra", "x"]]
    ]
    for (const [program, args] of hostile) {
      const r = run(program, args, { WORKFLOW_MANIFEST: m, WORKFLOW_OUTPUT_DIR: out })
      expect(r.status, `${program} ${JSON.stringify(args)}: ${r.stderr}`).toBe(2)
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(new RegExp(`^${program}: (invalid|unknown option)`))
    }
    expect(existsSync(pwned)).toBe(false)
    expect(existsSync(out)).toBe(false)
  })

  it("exit codes: missing manifest 2, bad data 1, CCAT_DEMO_FAIL 3, CCAT_DEMO_SLEEP_SECONDS sleeps", () => {
    const dir = join(root, "errors")
    const out = join(dir, "output")
    const missing = run("chai-calibrate", ["--mode", "hot_cold", "--tsys-max", "4000"], {
      WORKFLOW_MANIFEST: join(dir, "nope.json"),
      WORKFLOW_OUTPUT_DIR: out
    })
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(/^chai-calibrate: cannot read the manifest/)

    // A truncated sky.json.
    const broken = join(dir, "archive", "chai_lfa_broken")
    mkdirSync(broken, { recursive: true })
    writeFileSync(join(broken, "loads.json"), readFileSync(join(seeded[0]!.folder, "loads.json")))
    writeFileSync(join(broken, "sky.json"), readFileSync(join(seeded[0]!.folder, "sky.json")).subarray(0, 500))
    const bad = run("chai-calibrate", ["--mode", "hot_cold", "--tsys-max", "4000"], {
      WORKFLOW_MANIFEST: manifest(dir, "calibrate", {}, [{ pkg: { ...seeded[0]!.pkg, name: "chai_lfa_broken" }, folder: broken }], []),
      WORKFLOW_OUTPUT_DIR: out
    })
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/^chai-calibrate: bad input data: .*sky\.json is not JSON/)
    expect(bad.stderr.trimEnd().split("\n")).toHaveLength(1)
    expect(existsSync(out)).toBe(false)

    // No baselined products among the inputs.
    const none = run("chai-grid", ["--pixel", "10", "--kernel", "gauss", "--channel", "1"], {
      WORKFLOW_MANIFEST: manifest(dir, "map", {}, [], []),
      WORKFLOW_OUTPUT_DIR: out
    })
    expect(none.status).toBe(1)
    expect(none.stderr).toMatch(/^chai-grid: bad input data: no baselined spectra/)

    const failed = run("chai-baseline", ["--order", "3", "--despike", "5"], {
      CCAT_DEMO_FAIL: "baseline",
      WORKFLOW_MANIFEST: join(dir, "nope.json")
    })
    expect(failed.status).toBe(3)
    expect(failed.stdout).toContain("CCAT_DEMO_FAIL=baseline")
    // Another step's name does not affect this program.
    expect(
      run("chai-baseline", ["--order", "3", "--despike", "5"], { CCAT_DEMO_FAIL: "grid", WORKFLOW_MANIFEST: join(dir, "nope.json") }).status
    ).toBe(2)

    const slept = run("chai-grid", ["--help"], { CCAT_DEMO_SLEEP_SECONDS: "0.3" })
    expect(slept.status).toBe(0)
    expect(slept.ms).toBeGreaterThanOrEqual(300)
    expect(slept.stdout).toContain("usage: chai-grid")
    expect(run("chai-grid", ["--help"], { CCAT_DEMO_SLEEP_SECONDS: "$(reboot)" }).status).toBe(2)
  })
})
