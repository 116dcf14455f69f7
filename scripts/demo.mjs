// The Quick start demo on embedded defaults (README): check the example pipelines, then
// `ccat demo`: seed the synthetic observatory into the embedded database under .ccat/, apply
// pipelines/, run ccat serve with the local backend until the standing CHAI pipeline has made
// its maps, show a map's lineage, process a new night of scans, plan a config change.
// Running it again reuses what exists and is fast.
import { spawnSync } from "node:child_process"

const ccat = (...args) => {
  console.log(`\n$ ccat ${args.join(" ")}`)
  const result = spawnSync(process.execPath, ["bin/ccat.js", ...args], { stdio: "inherit" })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

ccat("check", "pipelines")
ccat("demo")
