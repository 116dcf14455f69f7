// The Quick start demo: check and compile the example pipelines under pipelines/ on embedded
// defaults. Later issues grow it into the full run (database, serve, products).
import { spawnSync } from "node:child_process"

const ccat = (...args) => {
  console.log(`\n$ ccat ${args.join(" ")}`)
  const result = spawnSync(process.execPath, ["bin/ccat.js", ...args], { stdio: "inherit" })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

ccat("check", "pipelines")
ccat("fmt", "--check", "pipelines")
ccat("compile", "pipelines", "--out", ".ccat/ir.json")
console.log("\nThe IR of pipelines/ is in .ccat/ir.json: the input of `ccat plan` and `ccat apply`.")
