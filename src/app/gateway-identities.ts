import type { Authenticate } from '../contract/client-identity.js';
import { createAuthenticator } from '../gateway/authenticate.js';
import type { GatewayCredential } from '../gateway/credentials-file.js';
import type { Logger } from '../observe/logger.js';

export interface GatewayIdentities {
  /** Hand to the transport: checks a Proxy-Authorization against the identities admitted now. */
  readonly authenticate: Authenticate;
  /**
   * A reloaded credentials file. An identity gone is refused at once (and its policy sync stops); a
   * changed token applies at once; a new identity is admitted once its first policy sync has ended,
   * so, as at start, its synced policies are in force from its first request.
   */
  replace(credentials: readonly GatewayCredential[]): void;
}

/**
 * Gateway mode's identities, reloadable: every agent admitted has its own policy sync.
 * `syncAgents` makes the agents synced these ones and resolves once each has had its first sync.
 */
export function createGatewayIdentities(initial: readonly GatewayCredential[], syncAgents: (agents: readonly string[]) => Promise<void>, logger: Logger): GatewayIdentities {
  const log = logger.child({ component: 'gateway' });
  let admitted = initial;
  let check = createAuthenticator(initial);
  /** Only the latest reload admits its new identities: an older one finishing late must not undo it. */
  let generation = 0;

  function admit(credentials: readonly GatewayCredential[]): void {
    admitted = credentials;
    check = createAuthenticator(credentials);
  }

  return {
    authenticate: (header) => check(header),
    replace(credentials) {
      const current = ++generation;
      const known = new Set(admitted.map((credential) => credential.agent));
      admit(credentials.filter((credential) => known.has(credential.agent)));
      const waiting = credentials.filter((credential) => !known.has(credential.agent)).map((credential) => credential.agent);
      if (waiting.length > 0) log.info({ waiting: waiting.length }, 'gateway identities added: admitted once their first policy sync has ended');
      void syncAgents(credentials.map((credential) => credential.agent)).then(() => {
        if (current !== generation) return;
        admit(credentials);
        log.info({ agents: credentials.length }, 'gateway identities updated');
      });
    },
  };
}
