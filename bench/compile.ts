/*
 * Compiler throughput benchmark. Generates realistic workspaces of about 10k and 100k lines in
 * memory, splits them into files of about 500 lines and times the whole compiler
 * (`compileSources`: lex + parse + check + IR) against lex + parse alone (`parseText`).
 *
 *   npx tsx bench/compile.ts
 *
 * Nothing is asserted about time; the numbers are printed for people to compare. The target is
 * at least 200k lines/s for the full compile (see bench/README.md).
 */
import { performance } from "node:perf_hooks"
import { compileSources, type SourceInput } from "../src/compiler/compile.ts"
import { parseText } from "../src/compiler/parser.ts"
import { skySources } from "./sky-sources.ts"

const RUNS = 5
const SIZES = [10_000, 100_000] as const
const LINES_PER_FILE = 500

// ---------------------------------------------------------------------------------------------
// Workspace generator. Deterministic (a seeded PRNG), so runs compare like with like.
// ---------------------------------------------------------------------------------------------

const rng = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sources = skySources
const lines = ["CO43", "CO76", "CI10", "CI21", "NII205", "CO65"]
const programs = ["GEco", "Cal", "DSS", "EoR", "PCS", "CHAIGal"]
const sites = ["cologne", "ccat", "us"]

/** One top-level declaration as text, with how many lines it spans. */
interface Block {
  readonly text: string
  readonly lines: number
}

const block = (text: string): Block => ({ text, lines: text.split("\n").length })

interface Family {
  /** Which instrument it reduces, so groupings and steps stay consistent. */
  readonly instrument: "CHAI" | "Prime-Cam"
  readonly index: number
}

export const generateWorkspace = (targetLines: number, seed: number): ReadonlyArray<SourceInput> => {
  const random = rng(seed)
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(random() * xs.length)]!
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))
  const blocks: Array<Block> = []
  let total = 0
  const push = (b: Block): void => {
    blocks.push(b)
    total += b.lines + 1
  }

  // A "family" is one group of declarations that reference each other and nothing else: one
  // location, three to five pieces of software, two groupings and two pipelines. About 150
  // lines; families are added until the target size is reached.
  for (let f = 0; total < targetLines; f++) {
    const family: Family = { instrument: f % 3 === 2 ? "Prime-Cam" : "CHAI", index: f }
    for (const b of generateFamily(family, { pick, int, random })) push(b)
  }

  // Split into files of about LINES_PER_FILE lines, never inside a declaration.
  const files: Array<SourceInput> = []
  let current: Array<string> = []
  let currentLines = 0
  const flush = (): void => {
    if (current.length === 0) return
    files.push({ path: `bench/ws/file_${String(files.length).padStart(4, "0")}.ccat`, text: `${current.join("\n\n")}\n` })
    current = []
    currentLines = 0
  }
  for (const b of blocks) {
    if (currentLines + b.lines > LINES_PER_FILE) flush()
    current.push(b.text)
    currentLines += b.lines + 1
  }
  flush()
  return files
}

interface Random {
  readonly pick: <T>(xs: ReadonlyArray<T>) => T
  readonly int: (lo: number, hi: number) => number
  readonly random: () => number
}

const versionList = (r: Random): ReadonlyArray<string> => {
  const major = r.int(0, 3)
  const count = r.int(3, 6)
  return Array.from({ length: count }, (_, i) => `${major}.${i}.${r.int(0, 9)}`)
}

const generateFamily = (fam: Family, r: Random): ReadonlyArray<Block> => {
  const n = fam.index
  const out: Array<Block> = []
  const loc = `site${n}_cluster`
  const site = r.pick(sites)
  out.push(
    block(`// Processing site ${n}: scratch is shared with other groups, so purge early.
location ${loc} {
  description "HPC allocation ${n} at ${site}"
  site "${site}"
  backend slurm { partition "batch"  account "ccat-${n}"  qos "normal"  max_queued ${r.int(50, 2000)} }
  container apptainer
  base_dir "/data/pipelines/${n}"
  purge_above ${r.int(70, 95)}%
}`)
  )

  // Software: one per step role; each command uses config placeholders every step sets.
  const roles = fam.instrument === "CHAI" ? chaiRoles : primecamRoles
  const stepCount = r.int(3, 5)
  const software: Array<{ name: string; versions: ReadonlyArray<string>; role: Role }> = []
  for (let i = 0; i < stepCount; i++) {
    const role = roles[i]!
    const name = `${role.software}_${n}`
    const versions = versionList(r)
    software.push({ name, versions, role })
    const placeholders = role.keys.map((k) => `--${k.replace(/_/g, "-")} {config.${k}}`).join(" ")
    out.push(
      block(`software ${name} {
  description "${role.description}"
  image "docker://ghcr.io/ccatobs/${role.software.replace(/_/g, "-")}:{version}"
  versions ${versions.map((v) => `"${v}"`).join(", ")}
  // Older versions stay listed so archived products remain reproducible.
  command "${role.command} ${placeholders}"
}`)
    )
  }

  // Groupings: a broad one and a narrower one inheriting from it.
  const broad = `${fam.instrument === "CHAI" ? "chai" : "primecam"}_archived_${n}`
  const modules = fam.instrument === "CHAI" ? `("LFA", "HFA")` : `("280GHz", "350GHz", "850GHz")`
  out.push(
    block(`grouping ${broad} {
  description "Archived ${fam.instrument} data for allocation ${n}"
  // Only what the archive confirmed: TRANSFERRING packages may be incomplete.
  where Instrument.name == "${fam.instrument}"
    and InstrumentModule.name in ${modules}
    and RawDataPackage.state == "ARCHIVED"
  where ObservingProgram.short_name not in ("ENG")
  where RawDataPackage.metadata.observation.frequency_ghz >= ${fam.instrument === "CHAI" ? 400 : 200}
}`)
  )
  const narrow = `${broad}_sel`
  const picked = [...new Set([r.pick(sources), r.pick(sources), r.pick(sources)])]
  const month = r.int(1, 9)
  out.push(
    block(`grouping ${narrow} {
  description "A few sources from one campaign"
  from ${broad}
  where Source.name in (${picked.map((s) => `"${s}"`).join(", ")})
  where ObsUnit.line_id in ("${r.pick(lines)}", "${r.pick(lines)}") or ObservingProgram.short_name == "${r.pick(programs)}"
  /* Dry nights only: the high-frequency data are useless above this. */
  where ExecutedObsUnit.metadata.weather.pwv_mm < ${(r.random() * 1.5 + 0.5).toFixed(2)}
  where ExecutedObsUnit.start_time >= 2026-0${month}-01 and ExecutedObsUnit.start_time < 2026-${String(month + 2).padStart(2, "0")}-01
  where not (ExecutedObsUnit.status == "FAILED") and Source.kind != "SOLAR_SYSTEM"
}`)
  )

  // Two pipelines: a standing one over the broad grouping, an ad-hoc one over the narrow one.
  out.push(
    block(
      pipeline(
        `standing_${n}`,
        broad,
        loc,
        software,
        r,
        n % 2 === 0 ? "trigger continuous" : `trigger cron "${r.int(0, 59)} ${r.int(0, 23)} * * *" timezone "UTC"`
      )
    )
  )
  out.push(block(pipeline(`adhoc_${n}`, narrow, loc, software, r, "trigger manual")))
  return out
}

interface Role {
  readonly software: string
  readonly description: string
  readonly command: string
  readonly groupBy: string
  readonly cooldown: string
  readonly keys: ReadonlyArray<string>
  readonly config: (r: Random) => ReadonlyArray<string>
}

const chaiRoles: ReadonlyArray<Role> = [
  {
    software: "chai_calibration",
    description: "Chopper-wheel calibration",
    command: "chai-calibrate",
    groupBy: "executed_obs_unit, instrument_module",
    cooldown: "60s",
    keys: ["calibration_mode", "tsys_max_k"],
    config: (r) => [
      `calibration_mode = "${r.pick(["hot_cold", "sky_hot"])}"`,
      `tsys_max_k = ${r.int(2000, 6000)}`,
      `sideband_ratio = ${(r.random() * 0.2 + 0.9).toFixed(3)}`
    ]
  },
  {
    software: "chai_baseline",
    description: "Polynomial baseline subtraction",
    command: "chai-baseline",
    groupBy: "executed_obs_unit",
    cooldown: "60s",
    keys: ["order", "despike_sigma"],
    config: (r) => [`order = ${r.int(1, 5)}`, `despike_sigma = ${r.int(4, 7)}.0`, `window_kms = [-${r.int(20, 80)}, ${r.int(20, 80)}]`]
  },
  {
    software: "chai_gridding",
    description: "Gridding into PPV cubes",
    command: "chai-grid",
    groupBy: "source, line",
    cooldown: "1d",
    keys: ["pixel_arcsec", "kernel"],
    config: (r) => [
      `pixel_arcsec = ${(r.random() * 8 + 2).toFixed(1)}`,
      `kernel = "${r.pick(["gauss", "gauss_bessel", "sinc"])}"`,
      `weighting = { scheme = "tsys"  clip_sigma = ${r.int(3, 6)}.0 }`
    ]
  },
  {
    software: "chai_moments",
    description: "Moment maps of each cube",
    command: "chai-moments",
    groupBy: "source",
    cooldown: "1d",
    keys: ["velocity_range_kms"],
    config: (r) => [`velocity_range_kms = [-${r.int(50, 200)}, ${r.int(50, 600)}]`, `clip_sigma = 3.0`]
  },
  {
    software: "chai_qa_summary",
    description: "Campaign-wide QA summary",
    command: "chai-qa",
    groupBy: "all",
    cooldown: "1w",
    keys: ["report"],
    config: () => [`report = "html"`, `plots = ["tsys", "rms", "baseline_residual"]`]
  }
]

const primecamRoles: ReadonlyArray<Role> = [
  {
    software: "primecam_tod",
    description: "Timestream cleaning",
    command: "pcam-clean",
    groupBy: "executed_obs_unit, instrument_module",
    cooldown: "5m",
    keys: ["common_mode", "highpass_hz"],
    config: (r) => [`common_mode = "per_wafer"`, `highpass_hz = ${(r.random() * 0.2 + 0.05).toFixed(2)}`, `flag_turnarounds = true`]
  },
  {
    software: "primecam_mapmaker",
    description: "Nightly maximum-likelihood maps",
    command: "pcam-map",
    groupBy: "night, source, instrument_module",
    cooldown: "12h",
    keys: ["method", "pixel_arcsec"],
    config: (r) => [`method = "ml"`, `pixel_arcsec = ${(r.random() * 4 + 1).toFixed(1)}`, `iterations = ${r.int(50, 400)}`]
  },
  {
    software: "primecam_coadd",
    description: "Per-source coadds",
    command: "pcam-coadd",
    groupBy: "source, instrument_module",
    cooldown: "1d",
    keys: ["weighting"],
    config: (r) => [
      `weighting = "inverse_variance"`,
      `jackknife_splits = ${r.int(2, 8)}`,
      `reject = { max_white_noise_ratio = ${(r.random() + 2).toFixed(1)}  min_nights = 1 }`
    ]
  },
  {
    software: "primecam_spectra",
    description: "Per-module power spectra",
    command: "pcam-spectra",
    groupBy: "instrument_module",
    cooldown: "1d",
    keys: ["lmax"],
    config: (r) => [`lmax = ${r.int(4000, 20000)}`, `apodization_deg = 0.5`]
  },
  {
    software: "primecam_release",
    description: "Bundle a data release",
    command: "pcam-release",
    groupBy: "all",
    cooldown: "1w",
    keys: ["release_tag"],
    config: (r) => [`release_tag = "dr${r.int(1, 4)}"`]
  }
]

const pipeline = (
  name: string,
  data: string,
  location: string,
  software: ReadonlyArray<{ name: string; versions: ReadonlyArray<string>; role: Role }>,
  r: Random,
  trigger: string
): string => {
  const steps = software.map((s, i) => {
    const newest = s.versions[s.versions.length - 1]!
    const [major, minor] = newest.split(".")
    const range = i % 3 === 0 ? `^${major}.${minor}` : i % 3 === 1 ? `~${major}.${minor}` : `>=${s.versions[0]}`
    const after = i === 0 ? "" : `\n    after ${software[i - 1]!.role.software.replace(/^(chai|primecam)_/, "")}`
    const stepName = s.role.software.replace(/^(chai|primecam)_/, "")
    const config = s.role.config(r)
    return `  // ${s.role.description}; see the wiki for why these parameters.
  step ${stepName} {${after}
    run ${s.name} ${range}
    group_by ${s.role.groupBy}
    cooldown ${s.role.cooldown}
    config {
${config.map((c) => `      ${c}`).join("\n")}
    }
    resources { cpus ${2 ** r.int(0, 5)}  memory ${2 ** r.int(2, 8)}GiB  time ${r.int(1, 24)}h }
    retries ${r.int(0, 3)}${i === software.length - 1 ? "\n    version_policy exact" : ""}
  }`
  })
  return `pipeline ${name} {
  description "Generated pipeline ${name}"
  data ${data}
  location ${location}
  ${trigger}
  priority ${r.int(0, 20)}

${steps.join("\n\n")}
}`
}

// ---------------------------------------------------------------------------------------------
// Timing.
// ---------------------------------------------------------------------------------------------

const countLines = (files: ReadonlyArray<SourceInput>): number =>
  files.reduce((n, f) => n + f.text.split("\n").length - (f.text.endsWith("\n") ? 1 : 0), 0)

const time = (fn: () => void): number => {
  const start = performance.now()
  fn()
  return performance.now() - start
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

interface Row {
  readonly label: string
  readonly lines: number
  readonly files: number
  readonly full: ReadonlyArray<number>
  readonly parse: ReadonlyArray<number>
}

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

const printTable = (rows: ReadonlyArray<Row>): void => {
  const header = [
    "size",
    "lines",
    "files",
    "full median ms",
    "full min/max ms",
    "full lines/s",
    "parse median ms",
    "parse min/max ms",
    "parse lines/s",
    "full/parse"
  ]
  const body = rows.map((row) => {
    const fm = median(row.full)
    const pm = median(row.parse)
    return [
      row.label,
      fmt(row.lines),
      fmt(row.files),
      fmt(fm, 1),
      `${fmt(Math.min(...row.full), 1)} / ${fmt(Math.max(...row.full), 1)}`,
      fmt((row.lines / fm) * 1000),
      fmt(pm, 1),
      `${fmt(Math.min(...row.parse), 1)} / ${fmt(Math.max(...row.parse), 1)}`,
      fmt((row.lines / pm) * 1000),
      `${fmt(fm / pm, 2)}x`
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const r of body) console.log(line(r))
}

const main = (): void => {
  const rows: Array<Row> = []
  for (const size of SIZES) {
    const files = generateWorkspace(size, 0xccad + size)
    const lines = countLines(files)
    const label = `${Math.round(size / 1000)}k`

    // Warm-up, and the correctness gate: timing an error path is meaningless.
    const warm = compileSources(files)
    const errors = warm.diagnostics.filter((d) => d.severity === "error")
    const warnings = warm.diagnostics.filter((d) => d.severity === "warning")
    console.log(
      `${label}: ${fmt(lines)} lines in ${files.length} files; diagnostics: ${errors.length} errors, ${warnings.length} warnings; IR ${warm.ir === undefined ? "missing" : "produced"}`
    )
    if (errors.length > 0 || warm.ir === undefined) {
      for (const d of errors.slice(0, 10))
        console.error(`  ${d.span.file}:${d.span.startLine}:${d.span.startColumn}: ${d.code} ${d.message}`)
      console.error(
        `bench: the generated ${label} workspace does not compile cleanly (${errors.length} errors); fix the generator before timing`
      )
      process.exit(1)
    }
    for (const f of files) parseText(f.text)

    const full: Array<number> = []
    const parse: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      full.push(time(() => compileSources(files)))
      parse.push(
        time(() => {
          for (const f of files) parseText(f.text)
        })
      )
    }
    rows.push({ label, lines, files: files.length, full, parse })
  }
  console.log()
  console.log(`${RUNS} runs per size after one warm-up; node ${process.version}`)
  printTable(rows)
}

// Run when executed directly (tsx bench/compile.ts) or through bench/bundled.mjs.
if (process.argv[1]?.endsWith("compile.ts") || process.env.CCAT_BENCH === "1") main()
