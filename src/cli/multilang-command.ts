import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { KclError, type Logger } from '../index.js';
import { MultiLangDaemon, runDaemon } from '../multilang/daemon.js';
import { toMultiLangConfig, type MultiLangConfig } from '../multilang/multilang-config.js';
import { parseProperties } from '../multilang/properties-parser.js';
import { createStderrLogger, LOG_LEVELS, type LogLevel } from './stderr-logger.js';

interface MultilangOptions {
  propertiesFile?: string;
  logConfiguration?: string;
  logLevel: LogLevel;
}

/** `ts-kcl multilang --properties-file <file>`: the Java MultiLangDaemon's command line, without Java. */
export function multilangCommand(): Command {
  return new Command('multilang')
    .summary('run record processors written for the Java MultiLangDaemon (aws-kcl, amazon_kclpy, …)')
    .description(
      'Reads a MultiLangDaemon .properties file, consumes the stream with ts-kcl and runs `executableName` once per ' +
        'shard, speaking the MultiLangDaemon JSON protocol on its stdin/stdout. SIGTERM or SIGINT shut down gracefully ' +
        'within shutdownGraceMillis (a second signal stops at once). Logs go to stderr.',
    )
    .argument('[properties-file]', 'the properties file (as the Java daemon, also accepted without -p)')
    .option('-p, --properties-file <file>', 'the MultiLangDaemon .properties file')
    .option('-l, --log-configuration <file>', 'accepted for compatibility with the Java daemon and ignored (use --log-level)')
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS).default('info'))
    .action(async (positional: string | undefined, options: MultilangOptions, command: Command) => {
      const file = options.propertiesFile ?? positional;
      if (file === undefined) command.error('error: a properties file is required (--properties-file <file>)');
      const logger = createStderrLogger(options.logLevel);
      if (options.logConfiguration !== undefined) logger.warn({ file: options.logConfiguration }, '--log-configuration (logback) is ignored by ts-kcl; use --log-level');
      process.exit(await runMultilang(file, logger));
    });
}

/** Reads the file, starts the daemon and runs it until a signal stops it. Resolves the exit code. */
export async function runMultilang(file: string, logger: Logger): Promise<number> {
  let config: MultiLangConfig;
  let daemon: MultiLangDaemon;
  try {
    config = toMultiLangConfig(parseProperties(readFileSync(file, 'utf8')), process.env);
    report(config, file, logger);
    // The SDK's credential chain reads these from the environment; the children inherit them too.
    if (config.credentials.profile !== undefined) process.env.AWS_PROFILE = config.credentials.profile;
    if (config.credentials.credentialsFile !== undefined) process.env.AWS_SHARED_CREDENTIALS_FILE = config.credentials.credentialsFile;
    daemon = new MultiLangDaemon({ config, logger });
  } catch (error) {
    logger.error({}, `${file}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  try {
    return await runDaemon(daemon, logger);
  } catch (error) {
    logger.error({ err: error }, error instanceof KclError ? `could not start: ${error.message}` : 'multilang daemon failed');
    return 1;
  }
}

function report(config: MultiLangConfig, file: string, logger: Logger): void {
  const d = config.daemon;
  logger.info(
    { executableName: d.executableName, timeoutInSeconds: d.timeoutInSeconds, shutdownGraceMillis: d.shutdownGraceMillis, processingLanguage: d.processingLanguage },
    `multilang daemon: ${config.scheduler.applicationName} on ${config.scheduler.streamArn ?? config.scheduler.streamName} (${file})`,
  );
  for (const note of config.notes) logger.info({}, note);
  for (const w of config.warnings) {
    if (w.kind === 'unknown') logger.warn({ key: w.key }, w.message);
    else logger.info({ key: w.key }, w.message);
  }
}
