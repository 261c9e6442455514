// Flat config: typescript-eslint's type-aware recommended rules plus the layering of src/ (below).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, lowest first. A file may import its own layer and the layers before it, never one after it
 * (type imports included; `npm run lint` also runs dpdm for file cycles). Only src/aws imports `@aws-sdk/*` and
 * `@smithy/*`. Where the folders sit, and why:
 * - util, errors: the bottom; they import nothing of the project.
 * - shards: the shard model (`Shard`, `ChildShard`, `HashKeyRange`) and the pure shard graph. Pure types and
 *   functions, low enough that src/aws can map the SDK's shapes to them and processor types can name them.
 * - processor: the public processor contract, types only; every layer above may name it.
 * - aws: the SDK wrappers. They take plain parameters, never the options object.
 * - metrics: the `MetricsSink` interface (a leaf) and its backends (CloudWatch through src/aws, Prometheus, none):
 *   anyone from config up may emit; config names `MetricsSink` in the options.
 * - config: the options type names the SDK clients (src/aws) and the sink (src/metrics) that applications inject,
 *   so it sits above both; every layer above reads the resolved options.
 * - leases (incl. lease creation, shard end, cleanup and shard sync) → checkpoint → retrieval → processing (the
 *   record-level handler, its in-flight scheduler and failure pipeline: processors built on the processor contract)
 *   → lifecycle.
 * - observability: health endpoint, worker health and event-loop monitor, used by the coordinator only.
 * - coordinator: the Scheduler and its helpers.
 * - src/index.ts: the public surface.
 * - multilang: the MultiLangDaemon, built on the public API (src/index.ts) and the dependency-free helpers in util.
 * - cli: the `ts-kcl` commands, on src/index.ts, src/multilang and util only.
 * A rule of the layering broken by one file shows up here as an error that names the layer, not as a cycle later.
 */
const LAYERS = [
  { name: 'util', files: ['src/util/**/*.ts'], imports: ['**/util/**'] },
  { name: 'errors', files: ['src/errors.ts'], imports: ['**/errors.js'] },
  { name: 'shards', files: ['src/shards/**/*.ts'], imports: ['**/shards/**'] },
  { name: 'processor', files: ['src/processor/**/*.ts'], imports: ['**/processor/**'] },
  { name: 'aws', files: ['src/aws/**/*.ts'], imports: ['**/aws/**'] },
  { name: 'metrics', files: ['src/metrics/**/*.ts'], imports: ['**/metrics/**'] },
  { name: 'config', files: ['src/config/**/*.ts'], imports: ['**/config/**'] },
  { name: 'leases', files: ['src/leases/**/*.ts'], imports: ['**/leases/**'] },
  { name: 'checkpoint', files: ['src/checkpoint/**/*.ts'], imports: ['**/checkpoint/**'] },
  { name: 'retrieval', files: ['src/retrieval/**/*.ts'], imports: ['**/retrieval/**'] },
  { name: 'processing', files: ['src/processing/**/*.ts'], imports: ['**/processing/**'] },
  { name: 'lifecycle', files: ['src/lifecycle/**/*.ts'], imports: ['**/lifecycle/**'] },
  { name: 'observability', files: ['src/observability/**/*.ts'], imports: ['**/observability/**'] },
  { name: 'coordinator', files: ['src/coordinator/**/*.ts'], imports: ['**/coordinator/**'] },
  { name: 'index', files: ['src/index.ts'], imports: ['../index.js', '../../index.js'] },
  { name: 'multilang', files: ['src/multilang/**/*.ts'], imports: ['**/multilang/**'] },
  { name: 'cli', files: ['src/cli/**/*.ts'], imports: ['**/cli/**'] },
];

const SDK = { group: ['@aws-sdk/*', '@smithy/*'], message: 'Only src/aws may import the AWS SDK.' };

/** One `no-restricted-imports` block per layer: every later layer is off limits (and the SDK outside src/aws). */
function layeringRules() {
  return LAYERS.map((layer, i) => {
    const later = LAYERS.slice(i + 1);
    const patterns = later.map((above) => ({
      group: above.imports,
      message: `src layering: ${layer.name} sits below ${above.name} and must not import it (see LAYERS in eslint.config.js).`,
    }));
    if (layer.name !== 'aws') patterns.push(SDK);
    // multilang and cli see the library only through its public surface (plus util's dependency-free helpers).
    if (layer.name === 'multilang' || layer.name === 'cli') {
      patterns.push({
        group: LAYERS.slice(1, LAYERS.findIndex((l) => l.name === 'index')).flatMap((l) => l.imports),
        message: `src layering: ${layer.name} uses the public API (src/index.ts) and util only.`,
      });
    }
    return { files: layer.files, rules: { 'no-restricted-imports': ['error', { patterns }] } };
  });
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.emulators/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JS/MJS scripts are not in the TypeScript project: lint them without type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
  },
  ...layeringRules(),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // node:test's describe()/it() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
);
