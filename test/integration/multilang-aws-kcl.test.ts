import { join } from 'node:path';
import { MULTILANG_FIXTURES } from '../support/multilang-daemon.js';
import { describeProcessorScenario } from '../support/multilang-scenario.js';

// test/fixtures/multilang/aws-kcl-processor.mjs is written against the npm aws-kcl API, as its basic sample.
describeProcessorScenario(
  'ts-kcl multilang runs an unmodified aws-kcl processor (kinesalite + dynalite)',
  (eventsFile) => `node ${join(MULTILANG_FIXTURES, 'aws-kcl-processor.mjs')} ${eventsFile}`,
);

// The VERSION1 style (shutdown with a reason) runs unmodified too: aws-kcl maps the v2 messages itself.
describeProcessorScenario(
  'ts-kcl multilang runs an unmodified VERSION1-style aws-kcl processor (kinesalite + dynalite)',
  (eventsFile) => `node ${join(MULTILANG_FIXTURES, 'aws-kcl-v1-processor.mjs')} ${eventsFile}`,
);
