/**
 * Kaizen's manifest: what an agent declares it does (`POST /v1/agents/{agent}/manifest`; it
 * replaces the previous declaration). Destinations are canonical "host:port" (or a registrable
 * domain with its port, when collapsed); both lists sorted and without repeats.
 */
export interface Manifest {
  readonly tools: readonly string[];
  readonly destinations: readonly string[];
}
