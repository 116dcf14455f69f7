import { Either } from "effect"
import { execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { JobSpec } from "../src/runtime/backends/execution-backend.ts"
import {
  compareJobIds,
  isAccountingDisabledMessage,
  isAlreadyFinishedMessage,
  isInvalidJobIdMessage,
  isUnavailableMessage,
  mapSlurmState,
  parseExitCode,
  parseNamedJobs,
  parseSacctStatuses,
  parseSbatchJobId,
  parseScontrolJobs,
  parseSlurmDuration,
  parseSlurmMemory,
  parseSqueueStates,
  fieldSeparator,
  parseFoundJobs
} from "../src/runtime/backends/slurm-parse.ts"
import { renderBatchScript, sbatchQuote, shellQuote } from "../src/runtime/backends/slurm-script.ts"

/*
 * The Slurm batch script and the parsers of Slurm's output, without a cluster. The quoting is
 * checked by running rendered scripts with bash and comparing what the program received.
 */

const scratch = mkdtempSync(join(tmpdir(), "ccat-slurm-script-"))
const marker = join(scratch, "pwned")
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const hostile: ReadonlyArray<string> = [
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `'; touch ${marker}; echo '`,
  `"; touch ${marker}; echo "`,
  `'\\''`,
  `it's`,
  `a\nb\n`,
  `line1\r\nline2`,
  `\\`,
  `\\'`,
  `$HOME \${HOME} $((1+1)) $'x'`,
  `!! !$ ~root *`,
  `%s %j %%`,
  `-n`,
  `--help`,
  `# not a comment`,
  `> ${marker}`,
  `| touch ${marker}`,
  `&& touch ${marker}`,
  `;touch ${marker}`,
  `\ttab`,
  `hetjob packjob`,
  ``,
  ` `,
  `é ü 中文 🚀`
]

const baseJob = (over: Partial<JobSpec> = {}): JobSpec => ({
  runId: 42,
  attempt: 1,
  jobName: "ccat-42",
  comment: "ccat installation=00000000-0000-0000-0000-000000000042 run=42 attempt=1",
  argv: ["printf", "%s\\n", "hello"],
  env: {},
  runDir: "/data/runs/42",
  stdoutPath: "/data/runs/42/logs/stdout.txt",
  stderrPath: "/data/runs/42/logs/stderr.txt",
  resources: { cpus: 1, memoryBytes: 64 * 1024 * 1024, timeSeconds: null, partition: null, gpus: null },
  timeoutSeconds: null,
  container: { runtime: "none" },
  ...over
})

const render = (job: JobSpec, options = {}): string => Either.getOrThrowWith(renderBatchScript(job, options), (e) => new Error(e.reason))
const rejection = (job: JobSpec, options = {}): string => {
  const r = renderBatchScript(job, options)
  if (Either.isRight(r)) throw new Error("expected the job to be rejected")
  expect(r.left._tag).toBe("JobRejected")
  return r.left.reason
}
const directives = (script: string): Array<string> =>
  script
    .split("\n")
    .filter((l) => l.startsWith("#SBATCH "))
    .map((l) => l.slice("#SBATCH ".length))

/** Run a rendered script with bash (the #SBATCH lines are comments to it). */
const runScript = (script: string): string => {
  const path = join(scratch, `script-${Math.random().toString(36).slice(2)}.sh`)
  writeFileSync(path, script)
  return execFileSync("bash", [path], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } })
}

/** sbatch's #SBATCH argument parser (src/sbatch/opt.c, _get_argument), to check sbatchQuote against. */
const sbatchParse = (line: string): Array<string> => {
  let text = line.replace(/(packjob|hetjob)/gi, (m) => " ".repeat(m.length))
  const args: Array<string> = []
  for (;;) {
    text = text.replace(/^\s+/, "")
    if (text === "") return args
    let arg = ""
    let i = 0
    let quote: string | null = null
    let escape = false
    while (i < text.length && (quote !== null || !/\s/.test(text[i]!))) {
      const c = text[i]!
      if (escape) escape = false
      else if (c === "\\") {
        escape = true
        i++
        continue
      } else if (quote !== null) {
        if (c === quote) {
          quote = null
          i++
          continue
        }
      } else if (c === '"' || c === "'") {
        quote = c
        i++
        continue
      } else if (c === "#") {
        return arg === "" ? args : [...args, arg]
      }
      arg += c
      i++
    }
    if (quote !== null) throw new Error(`unmatched ${quote}`)
    args.push(arg)
    text = text.slice(i)
  }
}

describe("renderBatchScript", () => {
  it("writes the job's resources, name, files and folder as #SBATCH lines", () => {
    const script = render(
      baseJob({
        resources: { cpus: 4, memoryBytes: 100_000_000, timeSeconds: 3601, partition: "batch", gpus: 2 },
        env: { WORKFLOW_OUTPUT_DIR: "/workflow/output" }
      }),
      { partition: "debug", account: "ccat" }
    )
    expect(script.startsWith("#!/bin/bash\n")).toBe(true)
    expect(directives(script)).toEqual([
      "--job-name='ccat-42'",
      "--comment='ccat installation=00000000-0000-0000-0000-000000000042 run=42 attempt=1'",
      "--output='/data/runs/42/logs/stdout.txt'",
      "--error='/data/runs/42/logs/stderr.txt'",
      "--chdir='/data/runs/42'",
      "--nodes=1",
      "--ntasks=1",
      "--cpus-per-task=4",
      "--mem=96", // 100 000 000 bytes = 95.4 MiB, rounded up
      "--time=61", // 3601 s, rounded up to minutes
      "--partition='batch'", // the step's partition wins over the backend's default
      "--gres=gpu:2",
      "--account='ccat'"
    ])
    expect(script).toContain("export WORKFLOW_OUTPUT_DIR='/workflow/output'\n")
    expect(script).toContain("exec -- 'printf' '%s\\n' 'hello'\n")
    // All #SBATCH lines come before the first command, or sbatch would ignore them.
    const lines = script.split("\n")
    const firstCommand = lines.findIndex((l) => l.trim() !== "" && !l.startsWith("#"))
    expect(lines.slice(firstCommand).some((l) => l.startsWith("#SBATCH"))).toBe(false)
  })

  it("takes the time limit from timeoutSeconds before the step's timeSeconds, and leaves out what is not set", () => {
    const script = render(
      baseJob({ resources: { cpus: null, memoryBytes: null, timeSeconds: 7200, partition: null, gpus: 0 }, timeoutSeconds: 60 })
    )
    const d = directives(script)
    expect(d).toContain("--time=1")
    expect(
      d.some(
        (x) =>
          x.startsWith("--cpus-per-task") ||
          x.startsWith("--mem") ||
          x.startsWith("--partition") ||
          x.startsWith("--gres") ||
          x.startsWith("--account")
      )
    ).toBe(false)
    expect(directives(render(baseJob(), { partition: "debug" }))).toContain("--partition='debug'")
    expect(directives(render(baseJob({ timeoutSeconds: 1 })))).toContain("--time=1")
    expect(directives(render(baseJob({ resources: { ...baseJob().resources, memoryBytes: 1 } })))).toContain("--mem=1")
  })

  it("wraps the program in apptainer exec with its binds", () => {
    const fake = join(scratch, "fake-apptainer")
    writeFileSync(fake, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n")
    chmodSync(fake, 0o755)
    const job = baseJob({
      argv: ["reduce", "--in", "/workflow/input", "$(touch x)"],
      container: {
        runtime: "apptainer",
        image: "/images/chai 1.2.sif",
        binds: [
          { host: "/data/raw/pkg 1", container: "/workflow/input", readOnly: true },
          { host: "/data/runs/42/output", container: "/workflow/output", readOnly: false }
        ]
      }
    })
    const script = render(job, { apptainer: fake })
    expect(script).toContain(
      `exec -- '${fake}' 'exec' '--bind' '/data/raw/pkg 1:/workflow/input:ro' '--bind' '/data/runs/42/output:/workflow/output' '/images/chai 1.2.sif' 'reduce'`
    )
    expect(runScript(script)).toBe(
      [
        "exec",
        "--bind",
        "/data/raw/pkg 1:/workflow/input:ro",
        "--bind",
        "/data/runs/42/output:/workflow/output",
        "/images/chai 1.2.sif",
        "reduce",
        "--in",
        "/workflow/input",
        "$(touch x)"
      ]
        .map((a) => `${a}\n`)
        .join("")
    )
    expect(render({ ...job }).includes("exec -- 'apptainer' 'exec'")).toBe(true)
  })

  it("hands hostile argv values to the program literally, with no side effect", () => {
    const out = runScript(render(baseJob({ argv: ["printf", "%s\\n", ...hostile] })))
    expect(out).toBe(hostile.map((v) => `${v}\n`).join(""))
    expect(existsSync(marker)).toBe(false)
  })

  it("hands hostile environment values to the program literally, with no side effect", () => {
    const env = Object.fromEntries(hostile.map((v, i) => [`HOSTILE_${i}`, v]))
    const script = render(
      baseJob({
        env,
        argv: ["bash", "-c", 'for i in "$@"; do v="HOSTILE_$i"; printf "%s\\n" "${!v}"; done', "x", ...hostile.map((_, i) => String(i))]
      })
    )
    expect(runScript(script)).toBe(hostile.map((v) => `${v}\n`).join(""))
    expect(existsSync(marker)).toBe(false)
  })

  it("runs an argv whose program name starts with a dash as a program, not as an option of exec", () => {
    const dash = join(scratch, "-l")
    writeFileSync(dash, "#!/bin/sh\necho dash-program\n")
    chmodSync(dash, 0o755)
    const script = render(baseJob({ argv: ["-l"], env: { PATH: scratch } }))
    expect(runScript(script)).toBe("dash-program\n")
  })

  it("quotes hostile paths so that sbatch's own parser reads them back literally", () => {
    const paths = ["/data/a b/c", "/d/it's", "/d/x#y", '/d/"q"', "/d/hetjob/packJob", "/d/back\\slash", "/d/tab\there", "/d/$(x)`y`"]
    for (const p of paths) {
      const line = `--chdir=${sbatchQuote(p)}`
      expect(sbatchParse(line)).toEqual([`--chdir=${p}`])
    }
    const script = render(
      baseJob({ runDir: "/d/r'#%j hetjob", stdoutPath: "/d/r'#%j hetjob/logs/out%x.txt", stderrPath: "/d/e.txt", jobName: "ccat-hetjob" })
    )
    const parsed = directives(script).flatMap(sbatchParse)
    expect(parsed).toContain("--chdir=/d/r'#%j hetjob")
    expect(parsed).toContain("--output=/d/r'#%%j hetjob/logs/out%%x.txt") // % is a filename pattern there
    expect(parsed).toContain("--job-name=ccat-hetjob")
  })

  it("rejects what cannot be written safely", () => {
    expect(rejection(baseJob({ argv: ["echo", "a\0b"] }))).toContain("argv[1] contains a NUL byte")
    expect(rejection(baseJob({ env: { "BAD-NAME": "x" } }))).toContain('environment name "BAD-NAME"')
    expect(rejection(baseJob({ env: { "A=B": "x" } }))).toContain("is not a valid name")
    expect(rejection(baseJob({ env: { "1X": "x" } }))).toContain("is not a valid name")
    expect(rejection(baseJob({ env: { "X; touch y": "x" } }))).toContain("is not a valid name")
    expect(rejection(baseJob({ env: { X: "a\0" } }))).toContain("environment value X contains a NUL byte")
    expect(rejection(baseJob({ runDir: "/data/a\nb" }))).toContain("the run folder contains a line break")
    expect(rejection(baseJob({ stdoutPath: "relative/out.txt" }))).toContain("not an absolute path")
    expect(rejection(baseJob({ stderrPath: "/d/a\\b" }))).toContain("backslash")
    expect(rejection(baseJob({ jobName: "ccat-1,ccat-2" }))).toContain("without commas")
    expect(rejection(baseJob({ argv: [] }))).toContain("argv is empty")
    expect(rejection(baseJob({ resources: { ...baseJob().resources, cpus: 0 } }))).toContain("cpus must be a positive integer")
    expect(rejection(baseJob({ resources: { ...baseJob().resources, memoryBytes: -1 } }))).toContain("memory must be positive")
    expect(rejection(baseJob({ timeoutSeconds: Number.NaN }))).toContain("time limit must be positive")
    expect(rejection(baseJob({}), { partition: "de\nbug" })).toContain("the partition contains a line break")
    expect(
      rejection(
        baseJob({ container: { runtime: "apptainer", image: "/i.sif", binds: [{ host: "/a:b", container: "/c", readOnly: true }] } })
      )
    ).toContain("bind separators")
    expect(rejection(baseJob({ container: { runtime: "apptainer", image: "/i\0.sif", binds: [] } }))).toContain(
      "the container image contains a NUL byte"
    )
  })

  it("shellQuote round-trips every hostile value through bash", () => {
    const out = execFileSync("bash", ["-c", `printf '%s\\n' ${hostile.map(shellQuote).join(" ")}`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }
    })
    expect(out).toBe(hostile.map((v) => `${v}\n`).join(""))
    expect(existsSync(marker)).toBe(false)
    expect(readdirSync(scratch).includes("pwned")).toBe(false)
  })
})

describe("Slurm output parsers", () => {
  it("maps Slurm states", () => {
    const cases: Record<string, string> = {
      PENDING: "QUEUED",
      CONFIGURING: "QUEUED",
      RUNNING: "RUNNING",
      COMPLETING: "RUNNING",
      COMPLETED: "COMPLETED",
      FAILED: "FAILED",
      TIMEOUT: "TIMEOUT",
      OUT_OF_MEMORY: "OUT_OF_MEMORY",
      NODE_FAIL: "NODE_FAIL",
      CANCELLED: "CANCELLED",
      "CANCELLED by 0": "CANCELLED",
      "CANCELLED+": "CANCELLED",
      PREEMPTED: "PREEMPTED",
      REQUEUED: "REQUEUED",
      REQUEUE_HOLD: "REQUEUED",
      REQUEUE_FED: "REQUEUED",
      BOOT_FAIL: "FAILED",
      DEADLINE: "FAILED",
      SUSPENDED: "UNKNOWN",
      "": "UNKNOWN",
      whatever: "UNKNOWN"
    }
    for (const [raw, state] of Object.entries(cases)) expect([raw, mapSlurmState(raw)]).toEqual([raw, state])
  })

  it("reads exit codes, durations and memory sizes", () => {
    expect(parseExitCode("2:0")).toBe(2)
    expect(parseExitCode("0:0")).toBe(0)
    expect(parseExitCode("0:9")).toBe(137)
    expect(parseExitCode("3")).toBe(3)
    expect(parseExitCode("")).toBeNull()

    expect(parseSlurmDuration("00:00:03")).toBe(3)
    expect(parseSlurmDuration("01:02:03")).toBe(3723)
    expect(parseSlurmDuration("1-00:00:01")).toBe(86401)
    expect(parseSlurmDuration("00:00.132")).toBeCloseTo(0.132)
    expect(parseSlurmDuration("02:05.500")).toBeCloseTo(125.5)
    expect(parseSlurmDuration("01:00:00.250")).toBeCloseTo(3600.25)
    expect(parseSlurmDuration("2-03:04:05")).toBe(2 * 86400 + 3 * 3600 + 4 * 60 + 5)
    expect(parseSlurmDuration("")).toBeNull()
    expect(parseSlurmDuration("INVALID")).toBeNull()
    expect(parseSlurmDuration("UNLIMITED")).toBeNull()

    expect(parseSlurmMemory("64360K")).toBe(64360 * 1024)
    expect(parseSlurmMemory("1.5M")).toBe(1.5 * 1024 * 1024)
    expect(parseSlurmMemory("2G")).toBe(2 * 1024 ** 3)
    expect(parseSlurmMemory("512")).toBe(512)
    expect(parseSlurmMemory("")).toBeNull()
  })

  it("reads sbatch --parsable", () => {
    expect(parseSbatchJobId("123\n")).toBe("123")
    expect(parseSbatchJobId("123;cluster\n")).toBe("123")
    expect(parseSbatchJobId("")).toBeNull()
    expect(parseSbatchJobId("sbatch: error\n")).toBeNull()
  })

  it("reads squeue states and names", () => {
    expect(parseSqueueStates("1|FAILED|NonZeroExitCode\n12|PENDING|ReqNodeNotAvail, UnavailableNodes:n1\n")).toEqual([
      { jobId: "1", rawState: "FAILED", state: "FAILED", reason: "NonZeroExitCode" },
      { jobId: "12", rawState: "PENDING", state: "QUEUED", reason: "ReqNodeNotAvail, UnavailableNodes:n1" }
    ])
    expect(parseNamedJobs("8|c.sh|COMPLETED\n10|odd|name|RUNNING\n10.batch|batch|COMPLETED\n\n")).toEqual([
      { jobId: "8", jobName: "c.sh", state: "COMPLETED" },
      { jobId: "10", jobName: "odd|name", state: "RUNNING" }
    ])
  })

  it("reads the jobs findJobs lists: user, submission time in UTC, a comment with any characters; (null) is no comment", () => {
    const u = fieldSeparator
    const out = [
      ["5", "COMPLETED", "alice", "2026-12-07T13:15:39", "ccat-1", "ccat installation=x run=1 attempt=1"],
      ["7", "RUNNING", "bob", "Unknown", "odd|name", "a | comment"],
      ["8", "PENDING", "carol", "2026-12-07T13:15:40", "ccat-2", "(null)"],
      ["8.batch", "COMPLETED", "", "2026-12-07T13:15:40", "batch", ""]
    ]
      .map((f) => f.join(u))
      .join("\n")
    expect(parseFoundJobs(`${out}\n\n`)).toEqual([
      {
        jobId: "5",
        jobName: "ccat-1",
        state: "COMPLETED",
        user: "alice",
        comment: "ccat installation=x run=1 attempt=1",
        submittedAt: new Date("2026-12-07T13:15:39Z")
      },
      { jobId: "7", jobName: "odd|name", state: "RUNNING", user: "bob", comment: "a | comment", submittedAt: null },
      { jobId: "8", jobName: "ccat-2", state: "QUEUED", user: "carol", comment: null, submittedAt: new Date("2026-12-07T13:15:40Z") }
    ])
    expect(compareJobIds("10", "9")).toBeGreaterThan(0)
    expect(compareJobIds("10_2", "10_10")).toBeLessThan(0)
  })

  it("writes the job's comment into the batch script, quoted like every other value", () => {
    const script = render(baseJob({ comment: "ccat installation=abc run=42 attempt=3" }))
    expect(script).toContain("#SBATCH --comment='ccat installation=abc run=42 attempt=3'")
    expect(rejection(baseJob({ comment: "two\nlines" }))).toContain("the job comment contains a line break")
  })

  it("reads sacct with step rows: state and times from the job, MaxRSS from its steps", () => {
    const out = [
      "9|COMPLETED|0:0|00:00:36|00:00.142|",
      "9.batch|COMPLETED|0:0|00:00:36|00:00.142|64600K",
      "9.extern|COMPLETED|0:0|00:00:36|00:00:00|1200K",
      "4|FAILED|2:0|00:00:02|00:00.152|",
      "4.batch|FAILED|2:0|00:00:02|00:00.152|",
      "13|TIMEOUT|0:0|00:01:06|00:00.010|",
      "13.batch|CANCELLED|0:15|00:01:07|00:00.010|900K",
      "14|CANCELLED by 0|0:0|00:00:05|00:00:00|",
      "15|PENDING|0:0|00:00:00|00:00:00|",
      ""
    ].join("\n")
    const s = parseSacctStatuses(out)
    expect(s.get("9")).toEqual({
      jobId: "9",
      state: "COMPLETED",
      exitCode: 0,
      wallSeconds: 36,
      cpuSeconds: 0.142,
      maxRssBytes: 64600 * 1024
    })
    expect(s.get("4")).toEqual({ jobId: "4", state: "FAILED", exitCode: 2, wallSeconds: 2, cpuSeconds: 0.152, maxRssBytes: null })
    expect(s.get("13")).toMatchObject({ state: "TIMEOUT", exitCode: 0, wallSeconds: 66, maxRssBytes: 900 * 1024 })
    expect(s.get("14")).toMatchObject({ state: "CANCELLED" })
    expect(s.get("15")).toMatchObject({ state: "QUEUED" })
    expect(s.size).toBe(5)
  })

  it("reads a job whose completion accounting has not received yet as still running, never as exit 0", () => {
    // On a busy machine slurmdbd writes a short job's start record after the job ended: the
    // final state is there, the exit code and end time are not yet (seen in CI as FAILED, exit 0).
    const out = [
      "21|FAILED|0:0|00:00:00|00:00:00||Unknown",
      "22|FAILED|0:0|00:00:01|00:00:00||2026-12-07T16:44:49",
      "23|COMPLETED|0:0|00:00:01|00:00:00||Unknown",
      "24|FAILED|2:0|00:00:01|00:00.007||2026-12-07T16:44:49",
      "25|FAILED|0:53|00:00:00|00:00:00||2026-12-07T16:45:41",
      "26|TIMEOUT|0:0|00:01:06|00:00.010||2026-12-07T16:46:41",
      ""
    ].join("\n")
    const s = parseSacctStatuses(out)
    expect(s.get("21")).toMatchObject({ state: "RUNNING", exitCode: null })
    expect(s.get("22")).toMatchObject({ state: "RUNNING", exitCode: null })
    expect(s.get("23")).toMatchObject({ state: "RUNNING", exitCode: null })
    expect(s.get("24")).toMatchObject({ state: "FAILED", exitCode: 2 })
    expect(s.get("25")).toMatchObject({ state: "FAILED", exitCode: 128 + 53 })
    expect(s.get("26")).toMatchObject({ state: "TIMEOUT", exitCode: 0 })
  })

  it("reads scontrol show job -o", () => {
    const out =
      "JobId=9 JobName=ccat-9 UserId=root(0) JobState=COMPLETED Reason=None Dependency=(null) ExitCode=0:0 RunTime=00:00:36 TimeLimit=UNLIMITED\n" +
      "JobId=10 ArrayJobId=10 ArrayTaskId=3 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 RunTime=00:01:02\n"
    const s = parseScontrolJobs(out)
    expect(s.get("9")).toEqual({ jobId: "9", state: "COMPLETED", exitCode: 0, wallSeconds: 36, cpuSeconds: null, maxRssBytes: null })
    expect(s.get("10_3")).toMatchObject({ state: "FAILED", exitCode: 3, wallSeconds: 62 })
  })

  it("tells an unreachable Slurm from a refusal", () => {
    expect(isUnavailableMessage("slurm_load_jobs error: Unable to contact slurm controller (connect failure)")).toBe(true)
    expect(isUnavailableMessage("sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)")).toBe(
      true
    )
    expect(isUnavailableMessage("sacct: error: Problem talking to the database: Connection refused")).toBe(true)
    expect(isUnavailableMessage("sbatch: error: Batch job submission failed: Socket timed out on send/recv operation")).toBe(true)
    expect(
      isUnavailableMessage(
        "sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified"
      )
    ).toBe(false)
    expect(isUnavailableMessage("sbatch: error: Memory specification can not be satisfied")).toBe(false)
    expect(isUnavailableMessage("sbatch: error: Invalid generic resource (gres) specification")).toBe(false)
    expect(isAccountingDisabledMessage("sacct: error: Slurm accounting storage is disabled")).toBe(true)
    expect(isInvalidJobIdMessage("slurm_load_jobs error: Invalid job id specified")).toBe(true)
    expect(isAlreadyFinishedMessage("scancel: error: Kill job error on job id 10: Job/step already completing or completed")).toBe(true)
  })
})
