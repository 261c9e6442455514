import { ConfigError } from '../errors.js';
/** Endpoint URLs per service (the `endpoints` option's shape). */
export interface EndpointUrls {
  kinesis?: string;
  dynamodb?: string;
  cloudwatch?: string;
}

/**
 * The AWS SDK's endpoint variables, per service, most specific first. `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`
 * turns them off, as in the SDK.
 */
export const ENDPOINT_ENV: Readonly<Record<keyof EndpointUrls, readonly string[]>> = {
  kinesis: ['AWS_ENDPOINT_URL_KINESIS', 'AWS_ENDPOINT_URL'],
  dynamodb: ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL'],
  cloudwatch: ['AWS_ENDPOINT_URL_CLOUDWATCH', 'AWS_ENDPOINT_URL'],
};

/**
 * Endpoints from the SDK's environment variables, so that they behave like `endpoints` (HTTP/1.1 for emulators,
 * and the same URL for ts-kcl's own clients and the application's). An invalid URL is a `ConfigError` naming the
 * variable.
 */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): EndpointUrls {
  const out: EndpointUrls = {};
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return out;
  for (const service of Object.keys(ENDPOINT_ENV) as (keyof EndpointUrls)[]) {
    for (const name of ENDPOINT_ENV[service]) {
      const value = env[name]?.trim();
      if (value === undefined || value === '') continue;
      if (!isHttpUrl(value)) throw new ConfigError(name, `expected an http(s) URL in the environment variable, got "${value.slice(0, 60)}"`);
      out[service] = value;
      break;
    }
  }
  return out;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
