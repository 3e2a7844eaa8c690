// Reads a shared fixture written by Python (tests/mirror): inputs and the outputs the Python rule gives.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function loadFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', `${name}.json`), 'utf8')) as T;
}

/** A number written by tests/mirror's `number()`: non-finite values come as "NaN", "Infinity", "-Infinity". */
export function num(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}
