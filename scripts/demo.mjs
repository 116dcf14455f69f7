// The Quick start demo on embedded defaults: check and compile pipelines/, seed the synthetic
// observatory into the embedded database under .ccat/, then plan and apply the pipelines.
// Running it again reuses what exists: the seed and the apply both report that nothing changed.
// Later issues grow it into the full run (ccat serve, products, lineage).
import { spawnSync } from "node:child_process"

const ccat = (...args) => {
  console.log(`\n$ ccat ${args.join(" ")}`)
  const result = spawnSync(process.execPath, ["bin/ccat.js", ...args], { stdio: "inherit" })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

ccat("check", "pipelines")
ccat("fmt", "--check", "pipelines")
ccat("compile", "pipelines", "--out", ".ccat/ir.json")
ccat("db", "seed", "--demo")
ccat("plan", "pipelines")
ccat("apply", "pipelines", "--yes")
ccat("db", "status")
console.log("\nThe demo observatory and the pipelines of pipelines/ are in the embedded database under .ccat/.")
