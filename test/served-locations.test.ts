import { describe, expect, it } from "vitest"
import { compileSources } from "../src/compiler/compile.ts"
import { servedLines, servedLocations } from "../src/runtime/serve/served-locations.ts"

// Which locations one `ccat serve` serves, and on which backend: the definitions decide, the
// environment only names locations (or overrides the backend, saying so).

const { ir } = compileSources([
  {
    path: "locations.ccat",
    text: `
location ramses { backend slurm { partition "batch"  qos "normal" }  base_dir "/data/pipelines" }
location laptop { backend local { max_parallel 2 } }
location spare { backend local }
`
  }
])
const locations = ir!.locations

describe("served locations", () => {
  it("told none, serves the local locations and names the others, with how to serve them", () => {
    const served = servedLocations(locations, [], null)
    expect(served).toMatchObject({
      served: [
        { location: "laptop", kind: "local", options: { max_parallel: 2 }, overridden: false },
        { location: "spare", kind: "local", overridden: false }
      ],
      skipped: [{ location: "ramses", kind: "slurm" }]
    })
    expect(servedLines(served as Exclude<typeof served, Error>)).toEqual([
      "serving location laptop with the local backend",
      "serving location spare with the local backend",
      "not serving location ramses (backend slurm): serve it with `ccat serve --location ramses` where that backend can be reached"
    ])
  })

  it("told a location, serves it on the backend it declares, with its options", () => {
    expect(servedLocations(locations, ["ramses"], null)).toMatchObject({
      served: [{ location: "ramses", kind: "slurm", options: { partition: "batch", qos: "normal" }, overridden: false }],
      skipped: [{ location: "laptop" }, { location: "spare" }]
    })
  })

  it("an override runs every location served on that backend, and says so", () => {
    const served = servedLocations(locations, ["ramses"], "local")
    expect(served).toMatchObject({ served: [{ location: "ramses", kind: "local", overridden: true }] })
    expect(servedLines(served as Exclude<typeof served, Error>)[0]).toBe(
      "serving location ramses with the local backend (overridden by --backend: its definition declares another)"
    )
  })

  it("an unknown location is an error with a suggestion; only Slurm locations and none named is an error naming them", () => {
    const unknown = servedLocations(locations, ["ramsis"], null)
    expect(unknown).toMatchObject({ _tag: "UnknownLocation" })
    expect((unknown as Error).message).toBe('no applied location is named "ramsis" (did you mean "ramses"?); known: laptop, ramses, spare')
    const onlySlurm = servedLocations(
      locations.filter((l) => l.name === "ramses"),
      [],
      null
    )
    expect((onlySlurm as Error).message).toBe(
      "no location to serve: none declares backend local, and none was named. Serve one with `ccat serve --location <name>` (or CCAT_LOCATION) where its backend can be reached: ramses (backend slurm)"
    )
  })
})
