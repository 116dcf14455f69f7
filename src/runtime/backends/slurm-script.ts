import { Either } from "effect"
import { isAbsolute } from "node:path"
import { JobRejected, type JobSpec } from "./execution-backend.ts"
import type { SlurmBackendOptions } from "./slurm-options.ts"

/*
 * The batch script of a Slurm job (docs/design/runtime.md §4.4, §4.5). The job arrives as an argv array and an
 * environment; this file is the only place that turns them into text a shell reads, so every
 * value is quoted here, or the job is refused:
 *
 * - in the bash part, every value is single-quoted (`'` written as `'\''`): nothing inside is
 *   expanded, not `$(...)`, not backticks, not `$VAR`, not newlines;
 * - in `#SBATCH` lines, which sbatch (not bash) parses, every value is single-quoted too, and
 *   sbatch's own escapes are neutralised: its parser treats `\` as an escape even inside
 *   quotes (so `\` is doubled), ends a line at a newline (refused), and treats any line containing
 *   "hetjob"/"packjob" as a heterogeneous-job separator (the word is broken with a `\`, which
 *   sbatch removes again); `%` in --output/--error is a filename pattern (written `%%`);
 * - NUL bytes anywhere, and environment names outside [A-Za-z_][A-Za-z0-9_]*, are refused.
 */

/** The backend options a batch script carries: a new `#SBATCH` option is a key added here and rendered below. */
export type SlurmScriptOptions = Pick<SlurmBackendOptions, "partition" | "account" | "qos" | "apptainer">

const reject = (reason: string) => new JobRejected({ backend: "slurm", reason })

/** Bash single quoting: the value comes out of bash exactly as given. */
export const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`

/** Quoting for a `#SBATCH` line, as sbatch's own parser reads it (see the header). */
export const sbatchQuote = (value: string): string =>
  `'${value
    .replace(/\\/g, "\\\\")
    .replace(/'/g, `'\\''`)
    .replace(/(het|pack)(job)/gi, "$1\\$2")}'`

/** `%` is a filename pattern in --output/--error (`%j` = job id); `%%` is a literal `%`. */
const escapeFilenamePattern = (path: string): string => path.replace(/%/g, "%%")

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/

const positiveInteger = (n: number): boolean => Number.isSafeInteger(n) && n > 0

/**
 * The batch script for a job, or JobRejected when a value cannot be written safely or a resource
 * is not a positive number. Memory is `--mem` in MiB rounded up; time is `--time` in minutes
 * rounded up (job.timeoutSeconds, else the step's timeSeconds); partition: the step's, else the
 * backend's default.
 */
export const renderBatchScript = (job: JobSpec, options: SlurmScriptOptions = {}): Either.Either<string, JobRejected> => {
  const problems: Array<string> = []
  const check = (
    what: string,
    value: string,
    extra?: { noNewline?: boolean; absolute?: boolean; noBindSeparators?: boolean; noBackslash?: boolean }
  ) => {
    if (value.includes("\0")) problems.push(`${what} contains a NUL byte`)
    if (extra?.noNewline && /[\n\r]/.test(value)) problems.push(`${what} contains a line break`)
    if (extra?.absolute && !isAbsolute(value)) problems.push(`${what} is not an absolute path: ${JSON.stringify(value)}`)
    if (extra?.noBindSeparators && /[:,]/.test(value))
      problems.push(`${what} contains ':' or ',' (Apptainer bind separators): ${JSON.stringify(value)}`)
    if (extra?.noBackslash && value.includes("\\"))
      problems.push(`${what} contains a backslash (Slurm would drop it): ${JSON.stringify(value)}`)
  }

  // Values that go into #SBATCH lines.
  check("the job name", job.jobName, { noNewline: true })
  check("the job comment", job.comment, { noNewline: true })
  if (/[,\s]/.test(job.jobName) || job.jobName === "")
    problems.push(`the job name must be non-empty without commas or spaces: ${JSON.stringify(job.jobName)}`)
  check("the run folder", job.runDir, { noNewline: true, absolute: true })
  check("the stdout path", job.stdoutPath, { noNewline: true, absolute: true, noBackslash: true })
  check("the stderr path", job.stderrPath, { noNewline: true, absolute: true, noBackslash: true })
  const partition = job.resources.partition ?? options.partition ?? null
  if (partition !== null) check("the partition", partition, { noNewline: true })
  if (options.account !== undefined) check("the account", options.account, { noNewline: true })
  if (options.qos !== undefined) check("the qos", options.qos, { noNewline: true })

  const { cpus, memoryBytes, gpus } = job.resources
  const timeSeconds = job.timeoutSeconds ?? job.resources.timeSeconds
  if (cpus !== null && !positiveInteger(cpus)) problems.push(`cpus must be a positive integer, not ${cpus}`)
  if (memoryBytes !== null && !(Number.isFinite(memoryBytes) && memoryBytes > 0))
    problems.push(`memory must be positive, not ${memoryBytes}`)
  if (timeSeconds !== null && !(Number.isFinite(timeSeconds) && timeSeconds > 0))
    problems.push(`the time limit must be positive, not ${timeSeconds}`)
  if (gpus !== null && !(Number.isSafeInteger(gpus) && gpus >= 0)) problems.push(`gpus must be a non-negative integer, not ${gpus}`)

  // Values that go into the bash part.
  if (job.argv.length === 0) problems.push("the program's argv is empty")
  job.argv.forEach((a, i) => check(`argv[${i}]`, a))
  for (const [name, value] of Object.entries(job.env)) {
    if (!envNamePattern.test(name)) problems.push(`environment name ${JSON.stringify(name)} is not a valid name`)
    check(`environment value ${name}`, value)
  }
  if (job.container.runtime === "apptainer") {
    check("the container image", job.container.image)
    if (job.container.image === "") problems.push("the container image is empty")
    for (const b of job.container.binds) {
      check("a bind's host path", b.host, { noBindSeparators: true, absolute: true })
      check("a bind's container path", b.container, { noBindSeparators: true, absolute: true })
    }
  }
  if (options.apptainer !== undefined) check("the apptainer program", options.apptainer)
  if (problems.length > 0) return Either.left(reject(problems.join("; ")))

  const directives: Array<string> = [
    `--job-name=${sbatchQuote(job.jobName)}`,
    `--comment=${sbatchQuote(job.comment)}`,
    `--output=${sbatchQuote(escapeFilenamePattern(job.stdoutPath))}`,
    `--error=${sbatchQuote(escapeFilenamePattern(job.stderrPath))}`,
    `--chdir=${sbatchQuote(job.runDir)}`,
    "--nodes=1",
    "--ntasks=1"
  ]
  if (cpus !== null) directives.push(`--cpus-per-task=${cpus}`)
  if (memoryBytes !== null) directives.push(`--mem=${Math.ceil(memoryBytes / (1024 * 1024))}`)
  if (timeSeconds !== null) directives.push(`--time=${Math.ceil(timeSeconds / 60)}`)
  if (partition !== null) directives.push(`--partition=${sbatchQuote(partition)}`)
  if (gpus !== null && gpus > 0) directives.push(`--gres=gpu:${gpus}`)
  if (options.account !== undefined) directives.push(`--account=${sbatchQuote(options.account)}`)
  if (options.qos !== undefined) directives.push(`--qos=${sbatchQuote(options.qos)}`)

  const program =
    job.container.runtime === "apptainer"
      ? [
          options.apptainer ?? "apptainer",
          "exec",
          ...job.container.binds.flatMap((b) => ["--bind", `${b.host}:${b.container}${b.readOnly ? ":ro" : ""}`]),
          job.container.image,
          ...job.argv
        ]
      : [...job.argv]

  return Either.right(
    [
      "#!/bin/bash",
      ...directives.map((d) => `#SBATCH ${d}`),
      "",
      `# ccat run ${job.runId}: written by the Slurm backend. Every value below is single-quoted;`,
      "# the program replaces this shell (exec) so that Slurm's signals reach it.",
      ...Object.entries(job.env).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
      `exec -- ${program.map(shellQuote).join(" ")}`,
      ""
    ].join("\n")
  )
}
