// Verifies a Souk audit trail file with the public keys in it alone (docs/trade.md, "Audit trail export").
//   npm run verify-trail -- <file.json> [--expect <vault id>]...
// Prints the verdict, every event checked (time, shop, device, type) and every problem; exits 0 when valid, 1 when not, 2 on usage.
import { readFileSync, statSync } from 'node:fs';
import { MAX_TRAIL_EXPORT_BYTES, verifyTrailExport } from '../src/core/trade/auditTrail';

const args = process.argv.slice(2);
const expected: string[] = [];
let file: string | undefined;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--expect' && args[i + 1]) expected.push(args[++i]!);
  else if (!file && !args[i]!.startsWith('--')) file = args[i];
  else {
    console.error(`unknown argument ${args[i]}`);
    process.exit(2);
  }
}
if (!file) {
  console.error('usage: npm run verify-trail -- <trail.json> [--expect <vault id>]...');
  process.exit(2);
}
let text: string;
try {
  if (statSync(file).size > MAX_TRAIL_EXPORT_BYTES * 4) throw new Error('the file is far over 64 MiB');
  text = readFileSync(file, 'utf8');
} catch (error) {
  console.error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
const verdict = verifyTrailExport(text, expected.length ? expected : undefined);
const when = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
if (verdict.period) console.log(`period ${when(verdict.period.from)} to ${when(Math.min(verdict.period.to, 253402300799))}`);
for (const vault of verdict.vaults) console.log(`vault ${vault.vaultId} "${vault.shop}"${vault.vaultId === verdict.shop ? ' (exporting shop)' : ''}: signatures, coverage and content verified`);
for (const event of verdict.events) {
  console.log(`${when(event.time)}  ${event.name}  ${event.id}  by "${event.shop}" device ${event.device} "${event.deviceName}"${event.inPeriod ? '' : '  (origin, outside the period)'}`);
}
for (const problem of verdict.problems) console.log(`PROBLEM: ${problem}`);
console.log(verdict.valid ? `VALID: ${verdict.events.length} events verified` : `INVALID: ${verdict.problems.length} problem(s)`);
process.exit(verdict.valid ? 0 : 1);
