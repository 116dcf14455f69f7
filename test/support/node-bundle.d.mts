import type { BuildOptions } from "esbuild"

/** esbuild's options for one ES module file that node runs (node-bundle.mjs says why it is JS). */
export declare const nodeBundleOptions: (entry: string, outfile: string) => BuildOptions
