import { ConfigError } from '../index.js';

/**
 * The `AwsCredentialsProvider` keys of a MultiLangDaemon file (also `AWSCredentialsProvider`, any case, and the
 * `…DynamoDB` / `…CloudWatch` variants). Java reads the value as a comma-separated chain of provider class names,
 * each optionally followed by `|arg|arg…`; ts-kcl cannot load Java classes, so it maps each name onto what the
 * AWS SDK for JavaScript does:
 *
 * | provider (short or fully-qualified name)                         | ts-kcl                                             |
 * |------------------------------------------------------------------|----------------------------------------------------|
 * | `DefaultCredentialsProvider`, `DefaultAWSCredentialsProviderChain`| the SDK default chain (below)                      |
 * | `EnvironmentVariableCredentialsProvider`                         | the chain (its first step: `AWS_ACCESS_KEY_ID`, …) |
 * | `SystemPropertyCredentialsProvider`                              | the chain (Java system properties do not exist in Node; use the env vars) |
 * | `ProfileCredentialsProvider[|profile]` / `[|file|profile]`       | the chain with `AWS_PROFILE` (and `AWS_SHARED_CREDENTIALS_FILE`) set |
 * | `ContainerCredentialsProvider`, `EC2ContainerCredentialsProviderWrapper` | the chain (ECS/EKS container endpoint step) |
 * | `InstanceProfileCredentialsProvider`                             | the chain (EC2 instance metadata step)             |
 * | `WebIdentityTokenFileCredentialsProvider`                        | the chain (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`) |
 * | `KclStaticCredentialsProvider|accessKeyId|secretAccessKey[|sessionToken]` | those static credentials          |
 * | STS assume-role providers, `ProcessCredentialsProvider`, `AnonymousCredentialsProvider`, custom classes | rejected at startup with a `ConfigError` naming the key |
 *
 * The SDK default chain (`@aws-sdk/credential-provider-node`) tries, in order: environment variables, SSO,
 * the shared `~/.aws/credentials` / `~/.aws/config` profile (including `role_arn` + `source_profile` assume-role
 * and `credential_process`), the web identity token file, the ECS/EKS container endpoint, and EC2 instance
 * metadata. An assume-role setup therefore moves into a profile: `ProfileCredentialsProvider|my-role-profile`.
 * ts-kcl uses one set of credentials for every client, so the DynamoDB/CloudWatch keys must agree with the
 * Kinesis one; a missing key means the default chain (Java requires the key; ts-kcl does not).
 */
export interface CredentialsSetting {
  /** Static credentials from `KclStaticCredentialsProvider`. */
  static?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Profile for the shared-config step of the chain (exported as `AWS_PROFILE` by the daemon). */
  profile?: string;
  /** Shared credentials file (exported as `AWS_SHARED_CREDENTIALS_FILE`). */
  credentialsFile?: string;
  /** Some key named a provider of the default chain (which cannot be combined with static credentials). */
  usesChain?: boolean;
  /** Notes for the startup log, e.g. which providers were read. */
  notes: string[];
}

type Kind = 'chain' | 'profile' | 'static';

const CHAIN_PROVIDERS: Record<string, string> = {
  defaultcredentialsprovider: 'the SDK default chain',
  defaultawscredentialsproviderchain: 'the SDK default chain',
  environmentvariablecredentialsprovider: 'the SDK default chain (environment variables come first)',
  systempropertycredentialsprovider: 'the SDK default chain (no Java system properties in Node; set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)',
  systempropertiescredentialsprovider: 'the SDK default chain (no Java system properties in Node; set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)',
  containercredentialsprovider: 'the SDK default chain (container credentials step)',
  ec2containercredentialsproviderwrapper: 'the SDK default chain (container / instance metadata steps)',
  instanceprofilecredentialsprovider: 'the SDK default chain (instance metadata step)',
  webidentitytokenfilecredentialsprovider: 'the SDK default chain (web identity token file step)',
  webidentitytokencredentialsprovider: 'the SDK default chain (web identity token file step)',
};

const ASSUME_ROLE = new Set([
  'stsassumerolecredentialsprovider',
  'kclstsassumerolecredentialsprovider',
  'kclstsassumerolesessioncredentialsprovider',
  'stsassumerolesessioncredentialsprovider',
]);

/** Reads one `AwsCredentialsProvider*` value into `into` (merging with the other keys). */
export function readCredentialsProvider(key: string, value: string, into: CredentialsSetting): void {
  const entries = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0) throw new ConfigError(key, 'expected a credentials provider name such as DefaultCredentialsProvider');
  const kinds = new Set<Kind>();
  for (const entry of entries) {
    const [rawName = '', ...rawArgs] = entry.split('|').map((s) => s.trim());
    // Nested `name=value` settings (endpointRegion=…, externalId=…) only matter to STS providers.
    const args = rawArgs.filter((a) => !a.includes('='));
    const name = rawName.slice(rawName.lastIndexOf('.') + 1);
    const lower = name.toLowerCase();
    const chain = CHAIN_PROVIDERS[lower];
    if (chain !== undefined) {
      kinds.add('chain');
      into.notes.push(`${key}: ${name} → ${chain}`);
    } else if (lower === 'profilecredentialsprovider') {
      kinds.add('profile');
      const [first, second] = args;
      const profile = second ?? first;
      if (second !== undefined && first !== undefined) setOnce(key, into, 'credentialsFile', first);
      if (profile !== undefined) setOnce(key, into, 'profile', profile);
      into.notes.push(`${key}: ${name} → the SDK default chain${profile ? ` with profile "${profile}"` : ''}`);
    } else if (lower === 'kclstaticcredentialsprovider' || lower === 'staticcredentialsprovider') {
      kinds.add('static');
      readStatic(key, name, args, into);
    } else if (ASSUME_ROLE.has(lower)) {
      throw new ConfigError(
        key,
        `${name} is not supported by ts-kcl: put the role in a profile (role_arn + source_profile in ~/.aws/config) ` +
          'and use ProfileCredentialsProvider|<profile>, or use web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)',
      );
    } else if (lower === 'processcredentialsprovider') {
      throw new ConfigError(key, 'ProcessCredentialsProvider is not supported: put credential_process in a profile and use ProfileCredentialsProvider|<profile>');
    } else if (lower === 'anonymouscredentialsprovider') {
      throw new ConfigError(key, 'AnonymousCredentialsProvider is not supported: Kinesis and DynamoDB need signed requests');
    } else {
      throw new ConfigError(
        key,
        `unknown credentials provider "${rawName}": ts-kcl cannot load Java classes; use DefaultCredentialsProvider, ` +
          'ProfileCredentialsProvider|<profile> or KclStaticCredentialsProvider|<accessKeyId>|<secretAccessKey>',
      );
    }
  }
  if (kinds.has('chain') || kinds.has('profile')) into.usesChain = true;
  if (into.static && into.usesChain) {
    throw new ConfigError(key, 'ts-kcl uses one set of credentials for every client: KclStaticCredentialsProvider cannot be combined with chain providers');
  }
}

function readStatic(key: string, name: string, args: string[], into: CredentialsSetting): void {
  const [accessKeyId, secretAccessKey, sessionToken] = args;
  if (!accessKeyId || !secretAccessKey || args.length > 3) {
    throw new ConfigError(key, `${name} takes |accessKeyId|secretAccessKey[|sessionToken]`);
  }
  const creds = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  if (into.static && JSON.stringify(into.static) !== JSON.stringify(creds)) {
    throw new ConfigError(key, 'ts-kcl uses one set of credentials for Kinesis, DynamoDB and CloudWatch; these differ from another AwsCredentialsProvider key');
  }
  into.static = creds;
  into.notes.push(`${key}: ${name} → static credentials (access key ${accessKeyId.slice(0, 4)}…)`);
}

function setOnce(key: string, into: CredentialsSetting, field: 'profile' | 'credentialsFile', value: string): void {
  const previous = into[field];
  if (previous !== undefined && previous !== value) {
    throw new ConfigError(key, `ts-kcl uses one ${field === 'profile' ? 'profile' : 'credentials file'} for every client; "${value}" differs from "${previous}"`);
  }
  into[field] = value;
}

/** True for `AwsCredentialsProvider`, `AWSCredentialsProviderDynamoDB`, … (Java matches the prefix in any case). */
export function isCredentialsProviderKey(key: string): boolean {
  return key.toLowerCase().startsWith('awscredentialsprovider');
}
