#!/usr/bin/env node
// `npx spamgate`: the operator's command line (services/decision-engine/src/cli.ts).
// kafkajs schedules timers with negative delays, which Node warns about on every run; the
// services start with --disable-warning=TimeoutNegativeWarning, a bin cannot pass flags.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { main } = await import('../src/cli.ts');
await main();
