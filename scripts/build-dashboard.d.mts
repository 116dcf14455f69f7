/** Builds the dashboard into dist/dashboard/; the files written with their sizes. */
export declare const buildDashboard: () => Promise<ReadonlyArray<{ readonly path: string; readonly bytes: number }>>
