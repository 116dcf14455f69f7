import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // PGlite's first start takes several seconds, more on a busy 2-core CI machine.
    hookTimeout: 60_000
  }
})
