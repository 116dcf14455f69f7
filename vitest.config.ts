import { defineConfig } from "vitest/config"

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
    minWorkers: 1
  }
})
