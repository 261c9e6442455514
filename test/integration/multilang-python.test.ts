import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MULTILANG_FIXTURES } from '../support/multilang-daemon.js';
import { describeProcessorScenario } from '../support/multilang-scenario.js';

// test/fixtures/multilang/processor.py speaks the protocol directly (standard library only, no amazon_kclpy).
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });

describeProcessorScenario(
  'ts-kcl multilang runs a Python processor written from the protocol (kinesalite + dynalite)',
  (eventsFile) => `python3 ${join(MULTILANG_FIXTURES, 'processor.py')} ${eventsFile}`,
  { skip: python.status === 0 ? false : 'python3 is not installed' },
);
