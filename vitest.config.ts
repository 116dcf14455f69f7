import { defineConfig } from "vitest/config"
import { BaseSequencer, type TestSpecification } from "vitest/node"

/*
 * The files that take minutes (measured in CI). A clean clone has no timings from an earlier
 * run, so vitest would order files by size and could leave the four-minute demo for last, with
 * the other worker idle; these start first. Only the order changes: no test depends on it.
 */
const longestFirst = [
  "test/demo.test.ts",
  "test/incremental-pass.test.ts",
  "test/slurm-backend.test.ts",
  "test/serve-cli.test.ts",
  "test/replicas.test.ts",
  "test/readme.test.ts",
  "test/execution-local.test.ts",
  "test/result-integrity.test.ts",
  "test/corrections-pass.test.ts"
]

const rank = (spec: TestSpecification): number => {
  const at = longestFirst.findIndex((file) => spec.moduleId.endsWith(file))
  return at === -1 ? longestFirst.length : at
}

class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const sorted = await super.sort(files)
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map((x) => x.spec)
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // PGlite's first start takes several seconds, more on a busy 2-core CI machine.
    hookTimeout: 60_000,
    // Two test files at a time on the 2-core CI machine (vitest's default there is one): most
    // files spend their time waiting on Slurm, child processes and the database, so the suite
    // takes about two thirds of the time. Tests never assume they own the queue or the machine.
    maxWorkers: 2,
    minWorkers: 1,
    sequence: { sequencer: LongestFirstSequencer }
  }
})
