import type { AdmittedIdentity, Authenticate } from '../contract/client-identity.js';
import { createAuthenticator } from '../gateway/authenticate.js';
import type { GatewayCredential } from '../gateway/credentials-file.js';
import type { Logger } from '../observe/logger.js';

export interface GatewayIdentities {
  /**
   * Hand to the transport: checks a Proxy-Authorization against the identities admitted now, and
   * (`admits`) whether an identity admitted before a reload still is one of them, with its token.
   */
  readonly authenticate: Authenticate;
  /**
   * A reloaded credentials file. An identity gone is refused at once, on new connections and on the
   * next request of a session opened before (its policy sync stops and what is held for it goes); a
   * changed token applies at once, alike; a new identity is admitted once its first
   * policy sync has ended, so, as at start, its synced policies are in force from its first request.
   */
  replace(credentials: readonly GatewayCredential[]): void;
}

export interface GatewayHooks {
  /** Makes the agents synced these ones; resolves once each has had its first sync. */
  readonly syncAgents: (agents: readonly string[]) => Promise<void>;
  /**
   * An identity removed, or admitted anew: the per-identity state held elsewhere (its client_rate
   * bucket) goes, so it cannot outlive the identity and one added back starts afresh.
   */
  readonly forget: (agent: string) => void;
}

/** Gateway mode's identities, reloadable: every agent admitted has its own policy sync. */
export function createGatewayIdentities(initial: readonly GatewayCredential[], hooks: GatewayHooks, logger: Logger): GatewayIdentities {
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
    authenticate: Object.assign((header: string | undefined) => check(header), { admits: (identity: AdmittedIdentity) => check.admits(identity) }),
    replace(credentials) {
      const current = ++generation;
      const known = new Set(admitted.map((credential) => credential.agent));
      const listed = new Set(credentials.map((credential) => credential.agent));
      const removed = admitted.filter((credential) => !listed.has(credential.agent)).map((credential) => credential.agent);
      admit(credentials.filter((credential) => known.has(credential.agent)));
      // Refused from now on: nothing of theirs is kept.
      for (const agent of removed) hooks.forget(agent);
      const waiting = credentials.filter((credential) => !known.has(credential.agent)).map((credential) => credential.agent);
      if (waiting.length > 0) log.info({ waiting: waiting.length }, 'gateway identities added: admitted once their first policy sync has ended');
      void hooks.syncAgents([...listed]).then(() => {
        if (current !== generation) return;
        // A request admitted just before its identity was removed may have left state behind since.
        for (const agent of waiting) hooks.forget(agent);
        admit(credentials);
        log.info({ agents: credentials.length }, 'gateway identities updated');
      });
    },
  };
}
