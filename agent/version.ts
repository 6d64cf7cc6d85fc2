/** The agent's version, reported by `--version`, in heartbeats and the User-Agent. */
export const AGENT_VERSION = '0.1.0';
