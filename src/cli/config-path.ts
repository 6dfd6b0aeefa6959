// Which config file a command reads: --config, else $TOKEN_BROKER_CONFIG, else the default.
import path from 'node:path';
import { DEFAULT_CONFIG_PATH } from '../config/index.js';

export function configPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(explicit ?? env.TOKEN_BROKER_CONFIG ?? DEFAULT_CONFIG_PATH);
}
