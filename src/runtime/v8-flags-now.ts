import { stopPretenuring } from './pretenuring.js';
import { tierUpSooner } from './tier-up.js';

// Imported first by cli.ts, so the flags are set before the proxy's own modules are compiled.
tierUpSooner();
stopPretenuring();
