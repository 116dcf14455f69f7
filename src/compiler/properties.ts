import type { PropertyKind } from "./ast.ts"
import { retryReasons, type GrowableResource, type RetryReason } from "./ir.ts"
import { defaultTriggerIntervalSeconds } from "./trigger-interval.ts"

/*
 * Which property belongs in which block, the value it takes and what it means. The checker
 * validates blocks against this table; the language server reads it for completion and hover.
 */

export type BlockKind = "location" | "software" | "grouping" | "pipeline" | "step"

/** The shape of a `value` property's value. */
export type ValueShape = "string" | "strings" | "name" | "names" | "integer" | "percent" | "duration" | "boolean" | "versions"

export interface PropertySpec {
  readonly keyword: string
  readonly form: PropertyKind
  readonly shape?: ValueShape
  readonly required?: boolean
  readonly repeatable?: boolean
  readonly doc: string
  /** Example text, for completion snippets and help messages. */
  readonly example: string
}

const p = (spec: PropertySpec): PropertySpec => spec

const description = p({
  keyword: "description",
  form: "value",
  shape: "string",
  doc: "Free text for people.",
  example: 'description "..."'
})

export const blockProperties: Readonly<Record<BlockKind, ReadonlyArray<PropertySpec>>> = {
  location: [
    description,
    p({
      keyword: "site",
      form: "value",
      shape: "string",
      doc: "The site that hosts this location: `ccat`, `cologne` or `us`.",
      example: 'site "cologne"'
    }),
    p({
      keyword: "backend",
      form: "backend",
      doc: "Where jobs run: `local` (subprocesses on this machine) or `slurm` (an HPC cluster), with options in braces.",
      example: 'backend slurm { partition "batch" }'
    }),
    p({
      keyword: "base_dir",
      form: "value",
      shape: "string",
      doc: "Folder under which each attempt of a run gets its own folder, `{base_dir}/{pipeline}/{step}/{sub_group_key}/run-{id}/attempt-{n}/`, holding `input/`, `workspace/`, `output/`, `config/` and `logs/`.",
      example: 'base_dir "/data/pipelines"'
    }),
    p({
      keyword: "purge_above",
      form: "value",
      shape: "percent",
      doc: "Disk use at which intermediate products start being purged, oldest first.",
      example: "purge_above 85%"
    }),
    p({
      keyword: "container",
      form: "value",
      shape: "name",
      doc: "Container runtime that wraps each job: `apptainer` or `none`.",
      example: "container apptainer"
    })
  ],
  software: [
    description,
    p({
      keyword: "image",
      form: "value",
      shape: "string",
      required: true,
      doc: "Container image; `{version}` is replaced by the resolved version.",
      example: 'image "docker://ghcr.io/ccatobs/tool:{version}"'
    }),
    p({
      keyword: "versions",
      form: "value",
      shape: "versions",
      required: true,
      doc: "The versions that exist, as semantic versions.",
      example: 'versions "1.0.0", "1.1.0"'
    }),
    p({
      keyword: "command",
      form: "value",
      shape: "string",
      required: true,
      doc: "The program to run; `{config.key}` and `{version}` are filled in per run.",
      example: 'command "tool --mode {config.mode}"'
    })
  ],
  grouping: [
    description,
    p({
      keyword: "from",
      form: "value",
      shape: "name",
      doc: "Inherit another grouping's rules (they are ANDed with this one's).",
      example: "from chai_archived"
    }),
    p({
      keyword: "where",
      form: "where",
      repeatable: true,
      doc: "A filter over raw data packages; several `where` are ANDed.",
      example: 'where Source.name == "NGC253"'
    })
  ],
  pipeline: [
    description,
    p({
      keyword: "data",
      form: "value",
      shape: "name",
      required: true,
      doc: "The grouping whose raw data packages this pipeline processes.",
      example: "data chai_archived"
    }),
    p({
      keyword: "location",
      form: "value",
      shape: "name",
      required: true,
      doc: "The processing location whose backend runs the jobs.",
      example: "location ramses"
    }),
    p({
      keyword: "trigger",
      form: "trigger",
      required: true,
      doc: 'When the pipeline is evaluated: `continuous` (every pass), `cron "..."` (at scheduled times) or `manual` (on `ccat run`).',
      example: "trigger continuous"
    }),
    p({
      keyword: "priority",
      form: "value",
      shape: "integer",
      doc: "Higher runs first when work competes (default 0).",
      example: "priority 10"
    }),
    p({
      keyword: "enabled",
      form: "value",
      shape: "boolean",
      doc: "`enabled false` parks the pipeline: nothing new runs.",
      example: "enabled false"
    }),
    p({ keyword: "step", form: "step", repeatable: true, doc: "A node of the pipeline's DAG.", example: "step calibrate { ... }" })
  ],
  step: [
    description,
    p({
      keyword: "after",
      form: "value",
      shape: "names",
      doc: "Upstream steps whose products this step takes; without `after` the step reads raw data.",
      example: "after calibrate"
    }),
    p({
      keyword: "run",
      form: "run",
      required: true,
      doc: "The software and a semver range of its versions (`^2.3`, `~0.9`, `=0.9.2`, `>=1.0`).",
      example: "run chai_calibration ^2.3"
    }),
    p({
      keyword: "group_by",
      form: "value",
      shape: "names",
      required: true,
      doc: "The execution granularity: one run per sub-group of these dimensions.",
      example: "group_by executed_obs_unit"
    }),
    p({
      keyword: "cooldown",
      form: "value",
      shape: "duration",
      doc: "At most one run per sub-group starts per cooldown period.",
      example: "cooldown 60s"
    }),
    p({
      keyword: "config",
      form: "config",
      doc: "Parameters of the software, as plain data; part of the step's fingerprint.",
      example: 'config { mode = "hot_cold" }'
    }),
    p({
      keyword: "resources",
      form: "resources",
      doc: "What a job asks of the backend: `cpus`, `memory`, `time`, `partition`, `gpus`.",
      example: "resources { cpus 4  memory 16GiB  time 2h }"
    }),
    p({
      keyword: "outputs",
      form: "outputs",
      doc: 'What a successful run must produce, by kind of file: `KIND ["PATTERN"] [min N]` per rule (min 1 by default). Without the block a run must produce at least one science file, or it fails with NO_OUTPUTS; `outputs { science min 0 }` lets it produce none. Not part of the fingerprint.',
      example: 'outputs { science "*.fits" min 1  qa "*.json" }'
    }),
    p({
      keyword: "retries",
      form: "retries",
      doc: "How often a failed run is retried before it stays failed (0..100, default 0). `retries N on REASON, …` retries only failures of those reasons; `{ on REASON RESOURCE xF }` multiplies `cpus`, `memory` or `time` by F after each failure of the reason. Not part of the fingerprint.",
      example: "retries 3 on TIMEOUT, OOM { on OOM memory x2 }"
    }),
    p({
      keyword: "timeout",
      form: "value",
      shape: "duration",
      doc: "The longest a run may take from submission to end, queueing included, before it is cancelled as TIMEOUT.",
      example: "timeout 12h"
    }),
    p({
      keyword: "version_policy",
      form: "value",
      shape: "name",
      doc: "`compatible` (default): only incompatible version changes reprocess; `exact`: any change does.",
      example: "version_policy exact"
    }),
    p({ keyword: "final", form: "flag", doc: "Its outputs are final products (default: the steps nothing depends on).", example: "final" }),
    p({
      keyword: "fan_out",
      form: "flag",
      doc: "Allow a `group_by` finer than an upstream step's: each sub-group takes every upstream product that overlaps it.",
      example: "fan_out"
    })
  ]
}

// The checker looks up every property of every block; a map per block kind, not a scan.
const propertiesByKeyword: Readonly<Record<BlockKind, ReadonlyMap<string, PropertySpec>>> = {
  location: new Map(blockProperties.location.map((s) => [s.keyword, s])),
  software: new Map(blockProperties.software.map((s) => [s.keyword, s])),
  grouping: new Map(blockProperties.grouping.map((s) => [s.keyword, s])),
  pipeline: new Map(blockProperties.pipeline.map((s) => [s.keyword, s])),
  step: new Map(blockProperties.step.map((s) => [s.keyword, s]))
}

export const findProperty = (block: BlockKind, keyword: string): PropertySpec | undefined => propertiesByKeyword[block].get(keyword)

/** Blocks in which a keyword is a property, for "it belongs in a ..." help. */
export const blocksWithProperty = (keyword: string): ReadonlyArray<BlockKind> =>
  (Object.keys(blockProperties) as Array<BlockKind>).filter((b) => findProperty(b, keyword) !== undefined)

export interface ResourceSpec {
  readonly key: string
  readonly shape: "integer" | "size" | "duration" | "string"
  readonly min?: number
  readonly max?: number
  readonly doc: string
}

/** Keys of `resources { }`, with the ranges a job may ask for. */
export const resourceKeys: ReadonlyArray<ResourceSpec> = [
  { key: "cpus", shape: "integer", min: 1, max: 1024, doc: "CPU cores per job (Slurm `--cpus-per-task`)." },
  { key: "memory", shape: "size", min: 1024 ** 2, max: 64 * 1024 ** 4, doc: "Memory per job (Slurm `--mem`)." },
  { key: "time", shape: "duration", min: 60, max: 365 * 86_400, doc: "Wall-time limit of the job (Slurm `--time`), at least 1m." },
  { key: "partition", shape: "string", doc: "Slurm partition; overrides the location's." },
  { key: "gpus", shape: "integer", min: 0, max: 64, doc: "GPUs per job (Slurm `--gpus`)." }
]

export interface BackendSpec {
  readonly name: string
  readonly doc: string
  readonly options: ReadonlyArray<ResourceSpec>
}

export const backends: ReadonlyArray<BackendSpec> = [
  {
    name: "local",
    doc: "Subprocesses on the machine that runs `ccat serve`.",
    options: [{ key: "max_parallel", shape: "integer", min: 1, max: 1024, doc: "How many jobs run at once." }]
  },
  {
    name: "slurm",
    doc: "Batch jobs on a Slurm cluster, submitted with `sbatch`.",
    options: [
      { key: "partition", shape: "string", doc: "Default partition (`--partition`)." },
      { key: "account", shape: "string", doc: "Account to charge (`--account`)." },
      { key: "qos", shape: "string", doc: "Quality of service (`--qos`)." },
      { key: "max_queued", shape: "integer", min: 1, max: 100_000, doc: "Cap on jobs pending or running at once." },
      { key: "submit_rate", shape: "integer", min: 1, max: 10_000, doc: "Most submissions per minute (a token bucket)." }
    ]
  }
]

export interface OutputKindSpec {
  readonly name: "science" | "qa" | "plots" | "statistics" | "logs"
  /** Where a run's files of this kind are, below its output folder. */
  readonly folder: string
  readonly doc: string
}

/**
 * The kinds of files a run produces, in the order the IR lists a step's `outputs` rules. The
 * runtime sorts a finished job's files into them by folder.
 */
export const outputKinds: ReadonlyArray<OutputKindSpec> = [
  {
    name: "science",
    folder: "`science/` or the top level",
    doc: "The products: a final step's SCIENCE products, an intermediate step's INTERMEDIATE ones (what the steps after it take)."
  },
  { name: "qa", folder: "`qa/`", doc: "Quality-assessment files." },
  { name: "plots", folder: "`plots/`", doc: "Plots for people." },
  { name: "statistics", folder: "`statistics/`", doc: "Statistics of the run's data." },
  { name: "logs", folder: "`logs/`", doc: "Log files the program writes into its output folder (not the job's own stdout and stderr)." }
]

export const containerRuntimes = ["apptainer", "none"] as const
export const versionPolicies = ["compatible", "exact"] as const
export const triggerModes = ["continuous", "cron", "manual"] as const

/**
 * The runtime's trigger loop interval assumed by the short-cooldown warning (W001), in seconds:
 * the loop's own default (`CCAT_TRIGGER_INTERVAL` unset), from the module both read.
 */
export const defaultLoopIntervalSeconds = defaultTriggerIntervalSeconds

export interface FailureReasonSpec {
  readonly name: RetryReason
  readonly doc: string
}

const failureReasonDocs: Readonly<Record<RetryReason, string>> = {
  EXIT_CODE: "The program ended with a non-zero exit code (`EXIT_CODE 3`), or the job failed without one.",
  TIMEOUT: "The job ran past its wall-time limit (`resources { time }`) or past the step's `timeout`.",
  OOM: "The job ran out of memory (the backend's OUT_OF_MEMORY).",
  NODE_FAIL: "The node the job ran on failed.",
  LOST: "The backend no longer knew the job for `CCAT_LOST_GRACE`.",
  CANCELLED_BY_BACKEND:
    "The backend cancelled the job (an administrator, a reservation that ended); `ccat cancel` is no failure and is never retried.",
  STAGING_FAILED:
    "Staging the run's inputs failed before submission (a full disk is no failure: the run waits for room). A name in the database that would leave its folder (`STAGING_FAILED: UNSAFE_PATH: …`) is never retried.",
  SUBMIT_REJECTED: "The backend refused the job (`sbatch` rejected it: an unknown partition, a limit).",
  COLLECT_FAILED:
    "Collecting the job's files failed (a symbolic link out of the run's folder, a hard link, a file on another file system, a product changed after it was checksummed, an unreadable file).",
  INPUT_MODIFIED: "The program changed one of its staged inputs.",
  NO_OUTPUTS: "The job ended well but did not produce what the step's `outputs` asks for."
}

/**
 * The reasons a run attempt fails with, as `retries N on …` names them, in IR order (see
 * `retryReasons` in ir.ts): the first word of the run's `failure_reason`.
 */
export const failureReasons: ReadonlyArray<FailureReasonSpec> = retryReasons.map((name) => ({ name, doc: failureReasonDocs[name] }))

export interface GrowableResourceSpec {
  readonly name: GrowableResource
  readonly doc: string
}

/** What `on REASON RESOURCE xF` may grow, and how the grown value is rounded. */
export const growableResourceSpecs: ReadonlyArray<GrowableResourceSpec> = [
  { name: "cpus", doc: "CPU cores per job, rounded up to a whole number." },
  { name: "memory", doc: "Memory per job, rounded up to a whole MiB." },
  { name: "time", doc: "The job's wall-time limit, rounded up to a whole second." }
]

/** The largest factor a retry may multiply a resource by, per failure. */
export const maxRetryFactor = 16
