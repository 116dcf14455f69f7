// Installs the locked dependencies when they are missing or older than package-lock.json, so
// that `npm run demo` and `npm test` work as the first commands on a fresh clone.
import { spawnSync } from "node:child_process"
import { statSync } from "node:fs"

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs
  } catch {
    return -1
  }
}

const installed = mtime("node_modules/.package-lock.json")
if (installed < 0 || installed < mtime("package-lock.json") || mtime("dist/ccat.mjs") < 0) {
  console.error("ccat: installing dependencies (npm ci)…")
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" })
  if (result.status !== 0) {
    console.error("ccat: `npm ci` failed; see the messages above")
    process.exit(result.status ?? 1)
  }
}
