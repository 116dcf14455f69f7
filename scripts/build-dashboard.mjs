// Bundles the web dashboard of `ccat serve` (src/dashboard/) into dist/dashboard/: index.html and
// assets/app.js + assets/app.css, minified, nothing loaded from elsewhere at run time (the server's
// Content-Security-Policy allows only its own origin). Run by scripts/build.mjs; also on its own.
import { build } from "esbuild"
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = new URL("../", import.meta.url)
const at = (path) => fileURLToPath(new URL(path, root))

// What the bundle holds besides src/dashboard (dagre carries graphlib inside).
const bundledPackages = ["preact", "@dagrejs/dagre", "@dagrejs/graphlib", "uplot"]

/** Builds the dashboard; returns the files written with their sizes. */
export const buildDashboard = async () => {
  const outdir = at("dist/dashboard")
  // Overwritten in place, not removed first: a running `ccat serve` keeps finding index.html.
  await mkdir(`${outdir}/assets`, { recursive: true })
  const result = await build({
    entryPoints: { app: at("src/dashboard/main.tsx") },
    outdir: `${outdir}/assets`,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["chrome111", "firefox113", "safari16.4"],
    jsx: "automatic",
    jsxImportSource: "preact",
    tsconfig: at("src/dashboard/tsconfig.json"),
    // The libraries' licences travel next to the bundle (LICENSES.txt) instead of inside it.
    legalComments: "none",
    metafile: true,
    logLevel: "warning"
  })
  await copyFile(at("src/dashboard/index.html"), `${outdir}/index.html`)
  const licences = await Promise.all(
    bundledPackages.map(async (name) => `${name}\n\n${await readFile(at(`node_modules/${name}/LICENSE`), "utf8")}`)
  )
  await writeFile(`${outdir}/assets/LICENSES.txt`, licences.join(`\n${"-".repeat(72)}\n\n`))
  return Object.entries(result.metafile.outputs).map(([path, output]) => ({ path, bytes: output.bytes }))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = await buildDashboard()
  for (const file of files) console.log(`${file.path} ${file.bytes} bytes`)
}
