/** Variables that carry a password: read once by the CLI, never handed to a child process. */
const SECRET_ENV_VARS = ['SINKI_PASSWORD', 'SINKI_NEW_PASSWORD'] as const;

/** The environment for a child process (rclone, xz, the mount's background process): ours without the secrets, plus `extra`. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of SECRET_ENV_VARS) delete env[name];
  return env;
}
