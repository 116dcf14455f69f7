/**
 * The environment of every Slurm command ccat runs: no secrets of the daemon reach a job, no
 * SQUEUE_/SBATCH_/SINFO_ settings change the output, and times are printed in UTC (submission
 * times are compared with the moment a run was marked).
 */
export const slurmCommandEnvironment = (): NodeJS.ProcessEnv => {
  const keep = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "TMPDIR", "SLURM_CONF", "SSH_AUTH_SOCK"]
  const env: NodeJS.ProcessEnv = {}
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]
  if (env.PATH === undefined) env.PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
  env.TZ = "UTC"
  return env
}
