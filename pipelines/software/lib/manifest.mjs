/*
 * The run's manifest.json (src/runtime/execution/manifest.ts is the schema): where it is, the
 * inputs it names, and where outputs go. A missing or malformed manifest is a usage error
 * (exit 2): the program was started wrongly. Input files the manifest names but that cannot be
 * read are bad input data (exit 1).
 */

import { readFileSync } from "node:fs"
import { basename, isAbsolute, join, resolve } from "node:path"
import { DataError, UsageError, shown } from "./common.mjs"

export const defaultManifestPath = "/workflow/config/manifest.json"

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v)

const need = (cond, path, what) => {
  if (!cond) throw new UsageError(`manifest ${path}: ${what}`)
}

/** Reads and checks the parts of the manifest the demo programs use. */
export const loadManifest = () => {
  const env = process.env.WORKFLOW_MANIFEST
  const path = env !== undefined && env !== "" ? resolve(env) : defaultManifestPath
  let text
  try {
    text = readFileSync(path, "utf8")
  } catch (e) {
    throw new UsageError(`cannot read the manifest ${shown(path)} (${e.code ?? e.message}); set WORKFLOW_MANIFEST`)
  }
  let m
  try {
    m = JSON.parse(text)
  } catch (e) {
    throw new UsageError(`manifest ${path} is not JSON: ${e.message}`)
  }
  need(isObject(m), path, "not an object")
  need(m.manifestVersion === 1, path, `unsupported manifestVersion ${shown(m.manifestVersion)} (this program reads version 1)`)
  need(isObject(m.inputs), path, "no inputs object")
  need(Array.isArray(m.inputs.packages), path, "inputs.packages is not an array")
  need(Array.isArray(m.inputs.products), path, "inputs.products is not an array")
  need(isObject(m.paths), path, "no paths object")
  need(m.config === undefined || isObject(m.config), path, "config is not an object")
  for (const [i, p] of m.inputs.packages.entries()) {
    need(isObject(p) && typeof p.name === "string" && Array.isArray(p.files), path, `inputs.packages[${i}] needs a name and files`)
    for (const [j, f] of p.files.entries())
      need(isObject(f) && typeof f.path === "string", path, `inputs.packages[${i}].files[${j}] needs a path`)
  }
  for (const [i, p] of m.inputs.products.entries())
    need(isObject(p) && typeof p.path === "string", path, `inputs.products[${i}] needs a path`)
  return { ...m, config: m.config ?? {}, manifestPath: path }
}

/** `WORKFLOW_OUTPUT_DIR`, else the manifest's `paths.output`. */
export const outputDir = (manifest) => {
  const env = process.env.WORKFLOW_OUTPUT_DIR
  if (env !== undefined && env !== "") return resolve(env)
  const out = manifest.paths.output
  if (typeof out !== "string" || out === "")
    throw new UsageError(`no output folder: set WORKFLOW_OUTPUT_DIR or the manifest's paths.output`)
  return resolve(out)
}

/** A package file's path as the program sees it (relative paths are taken under the package, then `paths.input`). */
export const packageFilePath = (manifest, pkg, file) => {
  if (isAbsolute(file.path)) return file.path
  const input = typeof manifest.paths.input === "string" ? manifest.paths.input : "."
  const folder = typeof pkg.path === "string" && pkg.path !== "" ? (isAbsolute(pkg.path) ? pkg.path : join(input, pkg.path)) : input
  return resolve(folder, file.path)
}

/** An upstream product's path (relative paths are taken under `paths.workspace`). */
export const productPath = (manifest, product) => {
  if (isAbsolute(product.path)) return product.path
  const ws = typeof manifest.paths.workspace === "string" ? manifest.paths.workspace : "."
  return resolve(ws, product.path)
}

/** The file of a package by its name (`loads.json`), by the entry's `name` or the path's last part. */
export const findPackageFile = (manifest, pkg, name) => {
  const file = pkg.files.find((f) => f.name === name) ?? pkg.files.find((f) => basename(f.path) === name)
  return file === undefined ? undefined : packageFilePath(manifest, pkg, file)
}

/** Reads a JSON input file; unreadable or malformed is bad input data. */
export const readJsonInput = (path) => {
  let text
  try {
    text = readFileSync(path, "utf8")
  } catch (e) {
    throw new DataError(`cannot read ${path} (${e.code ?? e.message})`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new DataError(`${path} is not JSON: ${e.message}`)
  }
}
