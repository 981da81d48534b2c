import { tierUpSooner } from './tier-up.js';

// Imported first by cli.ts, so the flag is set before the proxy's own modules are compiled.
tierUpSooner();
