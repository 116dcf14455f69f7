import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { jobEnvironment, jobSpec, type AttemptToStage } from "../src/runtime/execution/job-spec.ts"
import { Manifest } from "../src/runtime/execution/manifest.ts"
import { containerFolders, runFolders } from "../src/runtime/execution/run-folders.ts"
import { runManifest, type ManifestRun } from "../src/runtime/execution/run-manifest.ts"
import {
  attemptFolders,
  belowOutput,
  planStaging,
  processingCopies,
  stagingNeeds,
  unstageableInput,
  type ProductRow,
  type RawFileRow
} from "../src/runtime/execution/staging-plan.ts"

/*
 * What staging decides before it touches a file or the database (src/runtime/execution/
 * staging-plan.ts, run-manifest.ts, job-spec.ts): where each input goes, what manifest.json
 * says, and what job the backend gets. stage-run.ts does the copying and the SQL; the tests that
 * run it are execution-local, execution-slurm, path-confinement and result-integrity.
 */

const base = "/srv/runs"
const root = "/srv/runs/survey/calibrate/obs_1/run-7/attempt-2"

const rawFile = (over: Partial<RawFileRow> = {}): RawFileRow => ({
  package_id: "pkg-a",
  package_name: "obs_1_chai",
  package_checksum: "c0ffee",
  file_id: "file-1",
  file_name: "scan_001.fits",
  size_bytes: "1000",
  checksum: "aa",
  root_path: "/archive",
  copy_path: "2026/obs_1/scan_001.fits",
  ...over
})

const product = (over: Partial<ProductRow> = {}): ProductRow => ({
  id: "41",
  relative_path: "output/science/cube.fits",
  size_bytes: "5000000000",
  checksum: "bb",
  product_type: "SCIENCE",
  run_id: "5",
  sub_group_key: "obs_1",
  run_dir: "/srv/runs/survey/reduce/obs_1/run-5/attempt-1",
  step: "reduce",
  ...over
})

const plan = (raw: ReadonlyArray<RawFileRow>, products: ReadonlyArray<ProductRow>, final = true) => {
  const folders = runFolders(root, "calibrate", final)
  return planStaging(folders.input, folders.workspace, raw, products)
}

const escapeMessage = (raw: ReadonlyArray<RawFileRow>, products: ReadonlyArray<ProductRow>): string =>
  Either.match(plan(raw, products), { onLeft: (e) => e.message, onRight: () => "staged" })

describe("staging plan", () => {
  it("copies raw files from their archive copy to input/{package}/{file}, and upstream products to workspace/{step}/{sub-group}/{path below its output}", () => {
    const intermediate = product({ id: "42", relative_path: "workspace/reduce/maps/map.fits", step: "reduce" })
    const result = Either.getOrThrow(plan([rawFile()], [product(), intermediate]))
    expect(result.raw.map(({ source, target }) => [source, target])).toEqual([
      ["/archive/2026/obs_1/scan_001.fits", `${root}/input/obs_1_chai/scan_001.fits`]
    ])
    expect(result.products.map(({ source, target }) => [source, target])).toEqual([
      ["/srv/runs/survey/reduce/obs_1/run-5/attempt-1/output/science/cube.fits", `${root}/workspace/reduce/obs_1/science/cube.fits`],
      ["/srv/runs/survey/reduce/obs_1/run-5/attempt-1/workspace/reduce/maps/map.fits", `${root}/workspace/reduce/obs_1/maps/map.fits`]
    ])
  })

  it("a product's path below its run's output folder drops output/ or workspace/{step}/", () => {
    expect(belowOutput("output/science/a.fits")).toBe("science/a.fits")
    expect(belowOutput("workspace/reduce/maps/a.fits")).toBe("maps/a.fits")
  })

  it("refuses the first name read from the database that would leave its folder, and says which it is", () => {
    expect(escapeMessage([rawFile({ package_name: "../../../../../../etc" })], [])).toBe(
      `UNSAFE_PATH: the name of raw data package pkg-a "../../../../../../etc" would leave the folder ${root}/input`
    )
    expect(escapeMessage([rawFile({ file_name: "../other/x.fits" })], [])).toBe(
      `UNSAFE_PATH: the name of raw data file file-1 (package "obs_1_chai") "../other/x.fits" would leave the folder ${root}/input/obs_1_chai`
    )
    expect(escapeMessage([rawFile({ copy_path: "/etc/passwd" })], [])).toBe(
      'UNSAFE_PATH: the archive path of raw data file file-1 "/etc/passwd" is absolute, outside the folder /archive'
    )
    expect(escapeMessage([], [product({ step: ".." })])).toBe(
      `UNSAFE_PATH: the name of upstream step ".." ".." would leave the folder ${root}/workspace`
    )
    expect(escapeMessage([], [product({ sub_group_key: "../../x" })])).toBe(
      `UNSAFE_PATH: the sub-group key of upstream run 5 "../../x" would leave the folder ${root}/workspace/reduce`
    )
    expect(escapeMessage([], [product({ relative_path: "output/../../../run-6/output/science/a.fits" })])).toBe(
      'UNSAFE_PATH: the path of upstream product 41 (run 5) "output/../../../run-6/output/science/a.fits" would leave the folder /srv/runs/survey/reduce/obs_1/run-5/attempt-1'
    )
    // Raw files are checked before products: the first escape is the one reported.
    expect(escapeMessage([rawFile({ file_name: "../x" })], [product({ step: ".." })])).toContain("the name of raw data file file-1")
  })

  it("turns away a raw file with no archive copy, then a product with no run folder, before anything is planned", () => {
    expect(unstageableInput([rawFile()], [product()])).toBeNull()
    expect(unstageableInput([rawFile(), rawFile({ file_name: "scan_002.fits", copy_path: null })], [product({ run_dir: null })])).toBe(
      "no present copy of obs_1_chai/scan_002.fits at any archive location"
    )
    expect(unstageableInput([rawFile({ root_path: null })], [])).toBe("no present copy of obs_1_chai/scan_001.fits at any archive location")
    expect(unstageableInput([rawFile()], [product({ id: "43", run_dir: null })])).toBe("upstream product 43 has no run folder")
  })

  it("makes a final step's output folders per product kind, and an intermediate step's output in workspace/{step}", () => {
    expect(attemptFolders(runFolders(root, "calibrate", true), true)).toEqual(
      [
        "input",
        "workspace",
        "output",
        "config",
        "logs",
        "output/science",
        "output/qa",
        "output/plots",
        "output/statistics",
        "output/logs"
      ].map((p) => `${root}/${p}`)
    )
    expect(attemptFolders(runFolders(root, "calibrate", false), false)).toEqual(
      ["input", "workspace", "workspace/calibrate", "config", "logs"].map((p) => `${root}/${p}`)
    )
  })

  it("records staged raw files as copies at the processing location, by their path below its base folder", () => {
    const result = Either.getOrThrow(plan([rawFile(), rawFile({ file_id: "file-2", file_name: "scan_002.fits" })], [product()]))
    expect(processingCopies(base, result)).toEqual([
      { file: "file-1", path: "survey/calibrate/obs_1/run-7/attempt-2/input/obs_1_chai/scan_001.fits" },
      { file: "file-2", path: "survey/calibrate/obs_1/run-7/attempt-2/input/obs_1_chai/scan_002.fits" }
    ])
  })

  it("says what the inputs take on disk when they do not fit: their bytes (past 2^32), and inodes with room for folders", () => {
    expect(stagingNeeds([rawFile(), rawFile({ size_bytes: "24" })], [product()])).toEqual({ neededBytes: 5_000_001_024, neededInodes: 35 })
    expect(stagingNeeds([], [])).toEqual({ neededBytes: 0, neededInodes: 32 })
  })
})

const run: ManifestRun = {
  runId: 7,
  pipeline: "survey",
  step: "calibrate",
  subGroupKey: "obs_1",
  reason: "NEW_DATA",
  softwareVersion: "2.1.0",
  image: "docker://ghcr.io/ccat/chai:2.1.0",
  config: { mode: "fast", thresholds: [1, 2] },
  definition: { final: true, software: { name: "chai" } }
}

describe("run manifest", () => {
  const rows = [
    rawFile(),
    rawFile({ file_id: "file-2", file_name: "scan_002.fits", size_bytes: "2000", checksum: "cc" }),
    rawFile({
      package_id: "pkg-b",
      package_name: "obs_1_hk",
      package_checksum: null,
      file_id: "file-3",
      file_name: "hk.csv",
      size_bytes: "10",
      checksum: "dd"
    })
  ]

  it("tells the program its run, software, config and inputs by package, at the paths it sees inside the container", () => {
    const manifest = runManifest(run, 2, ["chai", "--mode", "fast"], containerFolders("calibrate", true), rows, [product()])
    expect(Schema.decodeUnknownSync(Manifest)(manifest)).toEqual(manifest)
    expect(manifest).toEqual({
      manifestVersion: 1,
      run: { id: 7, pipeline: "survey", step: "calibrate", subGroupKey: "obs_1", reason: "NEW_DATA", attempt: 2, final: true },
      software: { name: "chai", version: "2.1.0", image: "docker://ghcr.io/ccat/chai:2.1.0", argv: ["chai", "--mode", "fast"] },
      config: { mode: "fast", thresholds: [1, 2] },
      inputs: {
        packages: [
          {
            id: "pkg-a",
            name: "obs_1_chai",
            checksum: "c0ffee",
            path: "/workflow/input/obs_1_chai",
            files: [
              { name: "scan_001.fits", path: "/workflow/input/obs_1_chai/scan_001.fits", sizeBytes: 1000, checksum: "aa" },
              { name: "scan_002.fits", path: "/workflow/input/obs_1_chai/scan_002.fits", sizeBytes: 2000, checksum: "cc" }
            ]
          },
          {
            id: "pkg-b",
            name: "obs_1_hk",
            checksum: null,
            path: "/workflow/input/obs_1_hk",
            files: [{ name: "hk.csv", path: "/workflow/input/obs_1_hk/hk.csv", sizeBytes: 10, checksum: "dd" }]
          }
        ],
        products: [
          {
            id: 41,
            step: "reduce",
            runId: 5,
            subGroupKey: "obs_1",
            type: "SCIENCE",
            path: "/workflow/workspace/reduce/obs_1/science/cube.fits",
            sizeBytes: 5_000_000_000,
            checksum: "bb"
          }
        ]
      },
      paths: {
        input: "/workflow/input",
        workspace: "/workflow/workspace",
        output: "/workflow/output",
        logs: "/workflow/logs",
        manifest: "/workflow/config/manifest.json"
      }
    })
  })

  it("gives host paths when the program runs directly, and an intermediate step's output in workspace/{step}", () => {
    const intermediate = { ...run, definition: { final: false, software: { name: "chai" } } }
    const manifest = runManifest(intermediate, 1, ["chai"], runFolders(root, "calibrate", false), rows.slice(0, 1), [product()])
    expect(manifest.run.final).toBe(false)
    expect(manifest.paths).toEqual({
      input: `${root}/input`,
      workspace: `${root}/workspace`,
      output: `${root}/workspace/calibrate`,
      logs: `${root}/logs`,
      manifest: `${root}/config/manifest.json`
    })
    expect(manifest.inputs.packages[0]!.files[0]!.path).toBe(`${root}/input/obs_1_chai/scan_001.fits`)
    expect(manifest.inputs.products[0]!.path).toBe(`${root}/workspace/reduce/obs_1/science/cube.fits`)
  })
})

describe("job spec", () => {
  const attempt: AttemptToStage = {
    attempt: 2,
    identity: { name: "ccat-3f2a9c1e-7-2", comment: "ccat installation=3f2a9c1e run=7 attempt=2" },
    limits: { resources: { cpus: 4, memoryBytes: 8 * 1024 ** 3, timeSeconds: 3600, partition: "batch", gpus: null }, timeoutSeconds: 7200 }
  }

  it("in Apptainer: the container's paths in the environment, the image's PATH, inputs and config bound read-only", () => {
    const folders = runFolders(root, "calibrate", false)
    const job = jobSpec(
      run,
      { container: "apptainer", softwarePath: ["/opt/sw/bin"] },
      attempt,
      ["chai"],
      folders,
      containerFolders("calibrate", false),
      "/usr/bin"
    )
    expect(job).toEqual({
      runId: 7,
      attempt: 2,
      jobName: "ccat-3f2a9c1e-7-2",
      comment: "ccat installation=3f2a9c1e run=7 attempt=2",
      argv: ["chai"],
      env: {
        WORKFLOW_OUTPUT_DIR: "/workflow/workspace/calibrate",
        WORKFLOW_MANIFEST: "/workflow/config/manifest.json",
        WORKFLOW_INPUT_DIR: "/workflow/input",
        WORKFLOW_WORKSPACE_DIR: "/workflow/workspace",
        WORKFLOW_LOGS_DIR: "/workflow/logs",
        CCAT_RUN_ID: "7",
        CCAT_ATTEMPT: "2",
        CCAT_JOB_NAME: "ccat-3f2a9c1e-7-2"
      },
      runDir: root,
      stdoutPath: `${root}/logs/stdout.txt`,
      stderrPath: `${root}/logs/stderr.txt`,
      resources: attempt.limits.resources,
      timeoutSeconds: 7200,
      container: {
        runtime: "apptainer",
        image: "docker://ghcr.io/ccat/chai:2.1.0",
        binds: [
          { host: `${root}/input`, container: "/workflow/input", readOnly: true },
          { host: `${root}/workspace`, container: "/workflow/workspace", readOnly: false },
          // Bound even for an intermediate step: /workflow/output is part of the contract.
          { host: `${root}/output`, container: "/workflow/output", readOnly: false },
          { host: `${root}/config`, container: "/workflow/config", readOnly: true },
          { host: `${root}/logs`, container: "/workflow/logs", readOnly: false }
        ]
      }
    })
  })

  it("run directly: host paths, and the location's software folders first on PATH", () => {
    const folders = runFolders(root, "calibrate", true)
    const runtime = { container: "none", softwarePath: ["/opt/sw/bin", "/opt/more/bin"] } as const
    const job = jobSpec(run, runtime, attempt, ["chai"], folders, folders, "/usr/local/bin:/usr/bin")
    expect(job.container).toEqual({ runtime: "none" })
    expect(job.env).toMatchObject({
      WORKFLOW_OUTPUT_DIR: `${root}/output`,
      WORKFLOW_INPUT_DIR: `${root}/input`,
      PATH: "/opt/sw/bin:/opt/more/bin:/usr/local/bin:/usr/bin"
    })
    // Without an inherited PATH the usual system folders follow the software's.
    expect(jobEnvironment(7, runtime, attempt, folders, undefined)["PATH"]).toBe("/opt/sw/bin:/opt/more/bin:/usr/local/bin:/usr/bin:/bin")
  })
})
