#!/usr/bin/env node
// Starts the CLI from the bundle that `npm ci` builds (fast), or from the TypeScript sources
// through tsx when the sources changed after the bundle was built (a developer's edit).
import { readdirSync, statSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const bundle = `${root}dist/ccat.mjs`

// The dashboard's sources are not the CLI's: they are bundled apart (dist/dashboard/).
const newestSource = (dir) => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = `${dir}/${entry.name}`
    if (full === `${root}src/dashboard`) continue
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs)
  }
  return newest
}

const bundleTime = (() => {
  try {
    return statSync(bundle).mtimeMs
  } catch {
    return -1
  }
})()

if (bundleTime >= newestSource(`${root}src`)) {
  await import(bundle)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import("../src/cli/main.ts")
}
